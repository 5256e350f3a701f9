"""The printable report's "QC-11 by reading radiologist" table (issue 17 item 1; the rows come
from :func:`bonepath.population.qc11_readers.qc11_by_reader`, JSON-shaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from bonepath.quality.measures import Text

TEXT: Final = {
    "section": Text("QC-11 按阅片医师", "QC-11 by reading radiologist"),
    "reader": Text("阅片医师", "Reading radiologist"),
    "reports": Text("报告数", "Reports"),
    "described": Text("描述骨骼的报告", "Reports describing the bones"),
    "share": Text("比例", "Share"),
    "unlinked": Text("未关联影像（无阅片医师）", "No linked study (no reader)"),
    "note": Text(
        "阅片医师取自已关联DICOM检查的头信息 NameOfPhysiciansReadingStudy (0008,1060)；"
        "未关联检查或头信息未写阅片医师的CT计入“未关联影像（无阅片医师）”。",
        "The reader is the linked DICOM study's NameOfPhysiciansReadingStudy (0008,1060); "
        "CTs without a linked study, or whose study names no reader, are counted as "
        "'No linked study (no reader)'.",
    ),
}


def html_section(rows: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The printable report's "QC-11 by reading radiologist" table (JSON rows, escaped)."""
    from html import escape

    t = TEXT
    keys = ("reader", "reports", "described", "share")
    parts = [
        f'<h3 id="qc11-readers">{escape(t["section"](lang))}</h3>',
        "<table><tr>" + "".join(f"<th>{escape(t[k](lang))}</th>" for k in keys) + "</tr>",
    ]
    for row in rows:
        name = row["reader"] if row["reader"] is not None else t["unlinked"](lang)
        share = "—" if row["share"] is None else f"{row['share'] * 100:.1f}%"
        parts.append(
            f'<tr data-reader="{escape(row["reader"] or "")}"><td>{escape(name)}</td>'
            f'<td class="n">{row["reports"]}</td><td class="n">{row["described"]}</td>'
            f'<td class="n">{share}</td></tr>'
        )
    parts.append("</table>")
    parts.append(f'<p class="muted">{escape(t["note"](lang))}</p>')
    return "".join(parts)
