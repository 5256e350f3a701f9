"""QC-13..QC-15 in the quality outputs (issue 16 item 5; docs/quality.md).

The three MDT indicators are distributions and counts, not proportions: they are read from the
MDT module's tables (:func:`bonepath.population.mdt_quality.mdt_indicators`), carried on the
report as their JSON (:attr:`bonepath.quality.results.QualityReport.mdt`, key ``mdt`` of
``bonepath quality --format json`` and ``/api/quality``) and rendered here for the CSV, the
printable report and the FHIR MeasureReport export. Pure: data in, rows and text out.

The JSON (``mdt``)::

    {"QC-13": {"unit": "days", "n", "median", "p25", "p75"},
     "QC-14": {"unit": "days", "n", "median", "p25", "p75"},
     "QC-15": [{"city_tier", "referred", "answered", "accepted", "revoked",
                "days_to_answer": {"n", "median", "p25", "p75"}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bonepath.quality.measures import Text, value_label

DISTRIBUTIONS: Final = ("QC-13", "QC-14")
NAMES: Final[Mapping[str, Text]] = {
    "QC-13": Text("MDT-01触发至决定的天数", "Days from the MDT-01 trigger to the decision"),
    "QC-14": Text("决定至落实的天数", "Days from the decision to its implementation"),
    "QC-15": Text("按城市级别的区域中心转诊", "Referrals to a regional centre by city tier"),
}
UNITS: Final[Mapping[str, Text]] = {
    "QC-13": Text("病例（已决定，源自MDT-01）", "cases (decided, from MDT-01)"),
    "QC-14": Text("病例（已决定且全部任务完成）", "cases (decided, every task done)"),
    "QC-15": Text("转诊（报告期内发出）", "referrals (sent in the period)"),
}
TEXT: Final[Mapping[str, Text]] = {
    "section": Text("MDT及时性与区域协作网络", "MDT timeliness and the regional network"),
    "cases": Text("病例数", "Cases"),
    "median": Text("中位天数", "Median days"),
    "quartiles": Text("四分位（天）", "Quartiles (days)"),
    "tier": Text("城市级别", "City tier"),
    "referred": Text("转诊", "Referrals"),
    "answered": Text("中心已答复", "Answered by the centre"),
    "accepted": Text("已采纳入病历", "Accepted into the record"),
    "revoked": Text("已撤销访问", "Access revoked"),
    "to_answer": Text("至答复中位天数", "Median days to the answer"),
    "none": Text("报告期内无转诊。", "No referrals in the period."),
}
CSV_EXTRA: Final[tuple[tuple[str, str], ...]] = (
    ("单位", "unit"),
    ("例数", "n"),
    ("中位数", "median"),
    ("下四分位", "p25"),
    ("上四分位", "p75"),
    ("已采纳", "accepted"),
    ("已撤销", "revoked"),
)
"""Columns after the proportions' columns (empty on their rows): QC-13/14 fill unit..p75;
QC-15 per city tier: numerator = answered, denominator = referred, rate = answered share,
the days to the answer, accepted, revoked."""


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def csv_rows(mdt: Mapping[str, Any], start: str, end: str, lang: str) -> list[list[object]]:
    """The CSV rows of QC-13..15 (columns of the quality CSV, then :data:`CSV_EXTRA`)."""
    rows: list[list[object]] = []
    for qc in DISTRIBUTIONS:
        d = mdt[qc]
        name = NAMES[qc](lang)
        rows.append(
            [start, end, qc, name, "", "", "", "", "", "", ""]
            + ["days", d["n"], _days(d["median"]), _days(d["p25"]), _days(d["p75"]), "", ""]
        )
    name = NAMES["QC-15"](lang)
    for row in mdt["QC-15"]:
        d = row["days_to_answer"]
        share = f"{row['answered'] / row['referred']:.4f}" if row["referred"] else ""
        rows.append(
            [start, end, "QC-15", name, "city_tier", row["city_tier"] or ""]
            + [row["answered"], row["referred"], share, "", ""]
            + ["days to answer", d["n"], _days(d["median"]), _days(d["p25"]), _days(d["p75"])]
            + [row["accepted"], row["revoked"]]
        )
    return rows


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def html_section(mdt: Mapping[str, Any], lang: str) -> str:
    """The printable report's section (tables, escaped text)."""
    from html import escape

    t = TEXT
    head = "".join(f"<th>{escape(t[k](lang))}</th>" for k in ("cases", "median", "quartiles"))
    parts = [
        f'<h2 id="mdt-indicators">{escape(t["section"](lang))}</h2>',
        f"<table><tr><th></th>{head}</tr>",
    ]
    for qc in DISTRIBUTIONS:
        d = mdt[qc]
        quartiles = "—" if d["p25"] is None else f"{d['p25']:.1f}–{d['p75']:.1f}"
        parts.append(
            f'<tr data-measure="{qc}"><td>{qc} {escape(NAMES[qc](lang))}</td>'
            f'<td class="n">{d["n"]}</td><td class="n">{_cell(d["median"])}</td>'
            f'<td class="n">{quartiles}</td></tr>'
        )
    parts.append("</table>")
    parts.append(f"<h3>QC-15 {escape(NAMES['QC-15'](lang))}</h3>")
    if not mdt["QC-15"]:
        parts.append(f'<p class="muted">{escape(t["none"](lang))}</p>')
        return "".join(parts)
    keys = ("tier", "referred", "answered", "accepted", "revoked", "to_answer")
    parts.append("<table><tr>" + "".join(f"<th>{escape(t[k](lang))}</th>" for k in keys) + "</tr>")
    for row in mdt["QC-15"]:
        tier = value_label("city_tier", row["city_tier"], lang)
        parts.append(
            f'<tr data-tier="{escape(row["city_tier"] or "")}"><td>{escape(tier)}</td>'
            + "".join(
                f'<td class="n">{row[k]}</td>'
                for k in ("referred", "answered", "accepted", "revoked")
            )
            + f'<td class="n">{_cell(row["days_to_answer"]["median"])}</td></tr>'
        )
    parts.append("</table>")
    return "".join(parts)


def text_lines(mdt: Mapping[str, Any], lang: str) -> list[str]:
    """One line per indicator (and per city tier) for the terminal table."""
    t = TEXT
    lines = []
    for qc in DISTRIBUTIONS:
        d = mdt[qc]
        quartiles = "—" if d["p25"] is None else f"{d['p25']:.1f}–{d['p75']:.1f}"
        lines.append(
            f"{qc} {NAMES[qc](lang)}: {t['cases'](lang)} {d['n']} · {t['median'](lang)} "
            f"{_cell(d['median'])} · {t['quartiles'](lang)} {quartiles}"
        )
    if not mdt["QC-15"]:
        lines.append(f"QC-15 {NAMES['QC-15'](lang)}: {t['none'](lang)}")
    for row in mdt["QC-15"]:
        counts = " · ".join(
            f"{t[k](lang)} {row[k]}" for k in ("referred", "answered", "accepted", "revoked")
        )
        lines.append(
            f"QC-15 {value_label('city_tier', row['city_tier'], lang)}: {counts} · "
            f"{t['to_answer'](lang)} {_cell(row['days_to_answer']['median'])}"
        )
    return lines
