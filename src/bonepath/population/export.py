"""Worklists for nurses as files: CSV (UTF-8 with a byte-order mark) and Excel (.xlsx).

One row per worklist item, headed in the chosen language (Chinese by default) like the page it
was exported from: severity, kind, department, title and the reason in words, the days overdue
as a number, values labelled with their units (:mod:`bonepath.population.readable`); the
patient's name and phone (record ``identity``) masked unless asked for (issue 15 item 9). The functions return bytes, so the
command line (``bonepath worklist --format csv|xlsx``) and the web app (a download response)
serve the same file.

Every cell goes through :mod:`bonepath.spreadsheet`: ids and names come from import files, and
a text that starts with ``=`` must never become a live formula in the nurse's spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bonepath.population import readable
from bonepath.population.readable import PatientContact
from bonepath.population.worklist import WorklistItem
from bonepath.spreadsheet import csv_row, xlsx_value

COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("评估日期", "As of"),
    ("紧急程度", "Severity"),
    ("截止日期", "Due"),
    ("逾期天数", "Days overdue"),
    ("患者编号", "Patient ID"),
    ("姓名", "Name"),
    ("电话", "Phone"),
    ("来源", "Source"),
    ("医院", "Hospital"),
    ("科室", "Department"),
    ("规则", "Rule"),
    ("类型", "Kind"),
    ("内容", "What"),
    ("原因", "Why"),
    ("数值", "Values"),
)
"""The columns of both files, headed in the file's language (Chinese or English)."""

SEVERITY_LABELS: Final = {
    lang: {k: readable.text(v, lang) for k, v in readable.SEVERITIES.items()}
    for lang in ("zh", "en")
}
KIND_LABELS: Final = {
    lang: {k: readable.text(v, lang) for k, v in readable.KINDS.items()} for lang in ("zh", "en")
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
_WIDTHS: Final = (12, 8, 12, 8, 14, 10, 14, 10, 18, 12, 10, 8, 40, 30, 60)
OVERDUE_COLUMN: Final = 3
"""Index of the days-overdue column (a number in Excel, empty when not overdue)."""


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
    """``key=value`` pairs of the item's values, in rules.md order (the JSON's words)."""
    values = item.to_json()["values"]
    return separator.join(f"{key}={format_value(value)}" for key, value in values.items())


def mask_name(name: str) -> str:
    """``李秀英`` -> ``李**``: enough for a nurse to match a call list, not to identify."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    """``138-0013-8000`` -> ``138****8000`` (the first three and last four digits)."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(digits)
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def headers(lang: str = "zh") -> list[str]:
    index = 1 if lang == "en" else 0
    return [pair[index] for pair in COLUMNS]


def worklist_rows(
    items: Sequence[WorklistItem],
    lang: str,
    *,
    contacts: Mapping[tuple[str, str], PatientContact] | None = None,
    with_identity: bool = False,
    hospital_names: Mapping[str, str] | None = None,
) -> list[list[Any]]:
    """One row per item, in the order of :data:`COLUMNS`: labels in ``lang``, the days
    overdue as a number (``None`` when not overdue), the name and phone (follow-up rows only)
    masked unless ``with_identity``, values labelled with their units."""
    language = "en" if lang == "en" else "zh"
    found = contacts or {}
    names = hospital_names or {}
    rows: list[list[Any]] = []
    for item in items:
        contact = found.get((item.source, item.patient))
        name = (contact.name or "") if contact else ""
        phone = (contact.phone or "") if contact and item.kind in readable.FOLLOW_UP_KINDS else ""
        if not with_identity:
            name, phone = mask_name(name), mask_phone(phone) if phone else ""
        hospital = item.hospital or ""
        if hospital in names and names[hospital] != hospital:
            hospital = (
                f"{names[hospital]}（{hospital}）"
                if language == "zh"
                else f"{names[hospital]} ({hospital})"
            )
        what = item.finding.title(language)
        where = readable.item_label(item.finding.item, language)
        rows.append(
            [
                item.as_of.isoformat(),
                SEVERITY_LABELS[language][item.severity.value],
                item.due.isoformat() if item.due else "",
                item.days_overdue or None,
                item.patient,
                name,
                phone,
                item.source,
                hospital,
                readable.department_label(item.department, language),
                item.rule,
                KIND_LABELS[language][item.kind.value],
                f"{what} · {where}" if where else what,
                readable.reason(item, contact, language),
                readable.values_text(item.to_json()["values"], language),
            ]
        )
    return rows


def worklist_csv_text(items: Sequence[WorklistItem], lang: str, **people: Any) -> str:
    """The CSV document (without the byte-order mark); ``people``: the keyword arguments of
    :func:`worklist_rows` (contacts, with_identity, hospital_names)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_row(headers(lang)))
    writer.writerows(
        csv_row(["" if v is None else str(v) for v in row])
        for row in worklist_rows(items, lang, **people)
    )
    return out.getvalue()


def worklist_csv(items: Sequence[WorklistItem], lang: str = "zh", **people: Any) -> bytes:
    """The CSV file: UTF-8 with a byte-order mark, so that Excel reads the Chinese."""
    return worklist_csv_text(items, lang, **people).encode("utf-8-sig")


def worklist_xlsx(
    items: Sequence[WorklistItem],
    as_of: dt.date,
    rules_version: str,
    lang: str = "zh",
    **people: Any,
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
    sheet.append([cell(header, **header_style) for header in headers(language)])
    fills = {
        severity: PatternFill("solid", fgColor=rgb) for severity, rgb in _SEVERITY_FILL.items()
    }
    wrap = Alignment(wrap_text=True)
    date_format = "yyyy-mm-dd"
    for item, row in zip(items, worklist_rows(items, language, **people), strict=True):
        severity_fill = fills.get(item.severity.value)
        sheet.append(
            [
                cell(item.as_of, number_format=date_format),
                cell(row[1], fill=severity_fill) if severity_fill else cell(row[1]),
                cell(item.due, number_format=date_format) if item.due else None,
                cell(row[3], number_format="0") if row[3] is not None else None,
                *(cell(text) if text else None for text in row[4:12]),
                *(cell(text, alignment=wrap) for text in row[12:15]),
            ]
        )
    created = dt.datetime.combine(as_of, dt.time())
    book.properties.created = created
    book.properties.modified = created
    book.properties.title = text["sheet"]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
