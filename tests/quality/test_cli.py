"""`bonepath quality` as outside tools call it: the JSON of interfaces.md, CSV, table, the
printable report (HTML with SVG charts; PDF printed by a real headless Chromium), refusals."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.record.parse import parse_record
from bonepath.store.repository import open_store
from quality.support import TODAY, confirmed, ct, record, zol

runner = CliRunner()
PERIOD = ("--from", "2026-01-01", "--to", "2026-10-31")
INTERFACE_KEYS = ["id", "numerator", "denominator", "rate", "baseline", "strata"]
STRATUM_KEYS = ["by", "value", "numerator", "denominator", "rate"]


def registry() -> list[dict[str, Any]]:
    """H01 (tier 1–2, general): 3 chest CTs, 2 reviewed; H02 (tier 3–4, cancer): 1 of 2.
    One patient confirmed on 2026-03-01 and dosed on day 10 (QC-03 1/1)."""
    return [
        record("A", hospital="H01", imaging=[ct("2026-02-01", True), ct("2026-05-01", False)]),
        record(
            "B",
            hospital="H01",
            title="attending",
            imaging=[ct("2026-03-01", True)],
            bone=confirmed("2026-03-01"),
            bta=[zol("2026-03-11")],
        ),
        record("C", hospital="H02", imaging=[ct("2026-04-01", False), ct("2026-06-01", True)]),
    ]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('qc') / 'store.sqlite3'}"
    store = open_store(url)
    store.upsert_records([parse_record(r, today=TODAY) for r in registry()], import_source="test")
    store.close()
    return url


def _run(url: str, *args: str) -> Any:
    return runner.invoke(app, ["quality", *args], env={"BONEPATH_DATABASE_URL": url})


def _json(url: str, *args: str) -> dict[str, Any]:
    result = _run(url, *PERIOD, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_json_has_the_interface_keys_and_the_counts(url: str) -> None:
    out = _json(url)
    assert (out["from"], out["to"]) == ("2026-01-01", "2026-10-31")
    assert [m["id"] for m in out["measures"]] == [
        "QC-01", "QC-02", "QC-03", "QC-03b", "QC-04", "QC-05",
        "QC-06", "QC-07", "QC-08", "QC-09", "QC-10", "QC-11", "QC-12",
    ]
    for m in out["measures"]:
        assert list(m)[:6] == INTERFACE_KEYS
        assert all(list(s)[:5] == STRATUM_KEYS for s in m["strata"])
    qc01 = out["measures"][0]
    assert (qc01["numerator"], qc01["denominator"], qc01["rate"], qc01["baseline"]) == (3, 5, 0.6, 0.59)
    tiers = {s["value"]: s for s in qc01["strata"] if s["by"] == "city_tier"}
    assert (tiers["tier1-2"]["numerator"], tiers["tier1-2"]["denominator"]) == (2, 3)
    assert (tiers["tier3-4"]["numerator"], tiers["tier3-4"]["denominator"]) == (1, 2)
    # the whitepaper's stratum baselines travel with the stratum; every stratum here is small
    assert (tiers["tier1-2"]["baseline"], tiers["tier3-4"]["baseline"]) == (0.65, 0.51)
    assert all(s["small"] for s in qc01["strata"])
    months = {s["value"]: s["denominator"] for s in qc01["strata"] if s["by"] == "month"}
    assert months == {"2026-02": 1, "2026-03": 1, "2026-04": 1, "2026-05": 1, "2026-06": 1}
    titles = {s["value"]: s["rate"] for s in qc01["strata"] if s["by"] == "physician_title"}
    assert titles == {"attending": 1.0, "chief": 0.5}
    qc03 = out["measures"][2]
    assert (qc03["numerator"], qc03["denominator"], qc03["rate"]) == (1, 1, 1.0)


def test_rate_is_null_when_the_denominator_is_0_and_qc08_says_why(url: str) -> None:
    measures = {m["id"]: m for m in _json(url)["measures"]}
    assert measures["QC-05"]["denominator"] == 0 and measures["QC-05"]["rate"] is None
    assert measures["QC-05"]["strata"] == []
    qc08 = measures["QC-08"]
    assert qc08["numerator"] is None and qc08["rate"] is None
    assert "ADH-03" in qc08["note"]["zh"] and "not available" in qc08["note"]["en"]


def test_hospital_option_restricts_the_registry(url: str) -> None:
    out = _json(url, "--hospital", "H02")
    qc01 = out["measures"][0]
    assert (qc01["numerator"], qc01["denominator"]) == (1, 2)
    assert out["hospitals"] == ["H02"]
    assert {s["value"] for s in qc01["strata"] if s["by"] == "hospital"} == {"H02"}


def test_csv_for_excel_has_bilingual_headers_and_one_row_per_stratum(url: str) -> None:
    result = _run(url, *PERIOD, "--format", "csv", "--lang", "en")
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["起始 / from", "截止 / to", "指标 / measure"]
    overall = [r[:11] for r in rows[1:] if r[2] == "QC-01" and r[4] == ""]  # then QC-13..15's columns
    assert overall == [["2026-01-01", "2026-10-31", "QC-01", "CT bone-window review", "", "", "3", "5", "0.6000", "", "0.5900"]]
    h02 = [r[:11] for r in rows[1:] if r[2] == "QC-01" and r[4] == "hospital" and r[5] == "H02"]
    assert h02 == [["2026-01-01", "2026-10-31", "QC-01", "CT bone-window review", "hospital", "H02", "1", "2", "0.5000", "1", ""]]


def test_table_in_both_languages(url: str) -> None:
    zh = _run(url, *PERIOD, "--format", "table", "--by", "city_tier")
    en = _run(url, *PERIOD, "--format", "table", "--by", "city_tier", "--lang", "en")
    assert zh.exit_code == en.exit_code == 0
    assert "CT骨窗查看率" in zh.stdout and "一二线城市" in zh.stdout
    assert "CT bone-window review" in en.stdout and "Tier 1–2 city" in en.stdout
    assert "60.0%" in en.stdout


def test_html_report_is_self_contained_with_svg_text(url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = _run(url, *PERIOD, "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
    assert "<svg" in html and ">QC-01 · 城市级别</text>" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    # the outcomes section with its caveat and a numbers-at-risk table
    assert "观察性比较" in html and "风险人数" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")
def test_pdf_is_printed_offline_by_chromium(url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = _run(url, *PERIOD, "--format", "pdf", "--lang", "en", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000
    # text stays text: embedded fonts with a Unicode map (selectable, searchable), no page images
    assert b"/Type /Font" in data and b"/ToUnicode" in data
    assert b"/Subtype /Image" not in data


@pytest.mark.parametrize(
    ("args", "path", "code"),
    [
        (("--from", "2026-05-01", "--to", "2026-04-01"), "--from", "INVALID_PERIOD"),
        (("--to", "2026-02-30"), "--to", "INVALID_DATE"),
        (("--format", "pdf"), "--out", "MISSING_OPTION"),
        (("--by", "ward"), "--by", "UNKNOWN_STRATUM"),
    ],
)
def test_refused_options_exit_2_with_errors(url: str, args: tuple[str, ...], path: str, code: str) -> None:
    result = _run(url, *args)
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    assert [(e["path"], e["code"]) for e in errors] == [(path, code)]


def test_postgres_backend_on_sqlite_is_refused(url: str) -> None:
    result = _run(url, *PERIOD, "--backend", "postgres")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "BACKEND_UNAVAILABLE"
