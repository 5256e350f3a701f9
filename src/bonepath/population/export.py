"""Worklists for nurses as files: CSV (UTF-8 with a byte-order mark) and Excel (.xlsx).

One row per worklist item, headed ``中文 / english`` like the import templates; severity, kind
and title in the chosen language (Chinese by default). The functions return bytes, so the
command line (``bonepath worklist --format csv|xlsx``) and the web app (a download response)
serve the same file.

Every cell goes through :mod:`bonepath.spreadsheet`: ids and names come from import files, and
a text that starts with ``=`` must never become a live formula in the nurse's spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any, Final

from bonepath.population.worklist import WorklistItem
from bonepath.spreadsheet import csv_row, xlsx_value

COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("评估日期", "as_of"),
    ("紧急程度", "severity"),
    ("截止", "due"),
    ("患者编号", "patient"),
    ("来源", "source"),
    ("医院", "hospital"),
    ("科室", "department"),
    ("规则", "rule"),
    ("类型", "kind"),
    ("内容", "what"),
    ("数值", "values"),
)
"""The columns of both files, headed ``中文 / english``."""

SEVERITY_LABELS: Final = {
    "zh": {"critical": "危急", "high": "高", "medium": "中", "low": "低"},
    "en": {"critical": "critical", "high": "high", "medium": "medium", "low": "low"},
}
KIND_LABELS: Final = {
    "zh": {
        "action": "待办",
        "reminder": "提醒",
        "alert": "警示",
        "data_needed": "需补录",
        "info": "信息",
    },
    "en": {
        "action": "action",
        "reminder": "reminder",
        "alert": "alert",
        "data_needed": "data needed",
        "info": "info",
    },
}
_SHEET_TEXT: Final = {
    "zh": {
        "sheet": "工作清单",
        "title": "工作清单 · 评估日期 {as_of} · 规则版本 {version} · {count} 项",
    },
    "en": {
        "sheet": "Worklist",
        "title": "Worklist · as of {as_of} · rules {version} · {count} items",
    },
}
_SEVERITY_FILL: Final = {"critical": "FFC7CE", "high": "FFEB9C"}
_WIDTHS: Final = (12, 10, 12, 14, 10, 10, 18, 10, 10, 44, 60)


def format_value(value: Any) -> str:
    """A finding value as nurses read it (lists joined, whole floats without ``.0``)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def values_text(item: WorklistItem, separator: str = "; ") -> str:
    """``key=value`` pairs of the item's values, in rules.md order."""
    values = item.to_json()["values"]
    return separator.join(f"{key}={format_value(value)}" for key, value in values.items())


def headers() -> list[str]:
    return [f"{zh} / {en}" for zh, en in COLUMNS]


def worklist_rows(items: Sequence[WorklistItem], lang: str) -> list[list[str]]:
    """One row of text per item, in the order of :data:`COLUMNS`."""
    language = "en" if lang == "en" else "zh"
    return [
        [
            item.as_of.isoformat(),
            SEVERITY_LABELS[language][item.severity.value],
            item.due.isoformat() if item.due else "",
            item.patient,
            item.source,
            item.hospital or "",
            item.department or "",
            item.rule,
            KIND_LABELS[language][item.kind.value],
            item.finding.title(language),
            values_text(item),
        ]
        for item in items
    ]


def worklist_csv_text(items: Sequence[WorklistItem], lang: str) -> str:
    """The CSV document (without the byte-order mark)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_row(headers()))
    writer.writerows(csv_row(row) for row in worklist_rows(items, lang))
    return out.getvalue()


def worklist_csv(items: Sequence[WorklistItem], lang: str = "zh") -> bytes:
    """The CSV file: UTF-8 with a byte-order mark, so that Excel reads the Chinese."""
    return worklist_csv_text(items, lang).encode("utf-8-sig")


def worklist_xlsx(
    items: Sequence[WorklistItem], as_of: dt.date, rules_version: str, lang: str = "zh"
) -> bytes:
    """The Excel workbook: a title row, bilingual headers (frozen, with filters), one row per
    item; dates as Excel dates, critical rows red and high rows amber.

    Written in openpyxl's write-only (streaming) mode with one style object per kind of cell:
    a registry's whole list is tens of thousands of rows, and the ordinary worksheet built
    every cell as an object and styled it one by one (0.7 ms a row; bench/web_bench.py)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange

    language = "en" if lang == "en" else "zh"
    text = _SHEET_TEXT[language]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(text["sheet"])
    last_column = get_column_letter(len(COLUMNS))
    # sheet-level settings go before the first row in write-only mode
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{last_column}{len(items) + 2}"
    sheet.merged_cells.add(CellRange(f"A1:{last_column}1"))

    def cell(value: Any, **style: Any) -> WriteOnlyCell:
        # every cell, text included, goes through xlsx_value: a bare string appended in
        # write-only mode would be typed by openpyxl, "=..." as a formula
        written = WriteOnlyCell(sheet)
        xlsx_value(written, value)
        for name, setting in style.items():
            setattr(written, name, setting)
        return written

    title = text["title"].format(as_of=as_of.isoformat(), version=rules_version, count=len(items))
    sheet.append([cell(title, font=Font(bold=True, size=13))])
    header_style = {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor="DDEBF7"),
        "alignment": Alignment(wrap_text=True, vertical="top"),
    }
    sheet.append([cell(header, **header_style) for header in headers()])
    fills = {
        severity: PatternFill("solid", fgColor=rgb) for severity, rgb in _SEVERITY_FILL.items()
    }
    wrap = Alignment(wrap_text=True)
    date_format = "yyyy-mm-dd"
    for item, row in zip(items, worklist_rows(items, language), strict=True):
        severity_fill = fills.get(item.severity.value)
        sheet.append(
            [
                cell(item.as_of, number_format=date_format),
                cell(row[1], fill=severity_fill) if severity_fill else cell(row[1]),
                cell(item.due, number_format=date_format) if item.due else None,
                *(cell(text) for text in row[3:9]),
                cell(row[9], alignment=wrap),
                cell(row[10], alignment=wrap),
            ]
        )
    created = dt.datetime.combine(as_of, dt.time())
    book.properties.created = created
    book.properties.modified = created
    book.properties.title = text["sheet"]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
