"""SQLite bulk writes store exactly what SQLAlchemy's own insert stores (issue 19).

:func:`bonepath.store.bulk.insert_rows` hands dates, flags and doubles to ``executemany``
without SQLAlchemy's bind processors (sqlite3 binds them itself); the stored values and their
storage classes must be the ones an ``INSERT`` through SQLAlchemy writes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bonepath.record.columns import TABLES
from bonepath.store import bulk
from bonepath.store.db import write_transaction
from bonepath.store.repository import open_store

DAYS = [dt.date(1, 1, 1), dt.date(999, 12, 31), dt.date(1952, 2, 29), dt.date(2026, 11, 1)]
NUMBERS = [0.1, 1.0, 2.0, 1e-300, 1e300, 123456789.123, 5]  # 5: an int in a DOUBLE column


def _rows(pk: int) -> list[tuple[Any, ...]]:
    # symptoms: pk, seq, date, bone_pain, neuro_deficit, mechanical_pain, frankel
    flags = [True, False, None]
    return [
        (pk, seq, day, seq, flags[seq % 3], flags[(seq + 1) % 3], "E" if seq % 2 else None)
        for seq, day in enumerate(DAYS)
    ]


def _lab_rows(pk: int) -> list[tuple[Any, ...]]:
    # labs: pk, seq, date, test, value, unit, lln, uln, value_std
    return [
        (pk, seq, DAYS[-1], "calcium", number, "mmol/L", None, number, None)
        for seq, number in enumerate(NUMBERS)
    ]


def _stored(conn: Any, table: str, pk: int) -> list[tuple[Any, ...]]:
    columns = [c for c in TABLES[table].column_names if c != "pk"]
    shown = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
    query = text(f'SELECT {shown} FROM "{table}" WHERE pk = :pk ORDER BY seq')
    return [tuple(row) for row in conn.execute(query, {"pk": pk})]


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        with write_transaction(store.engine) as conn:
            patients = store.tables["patients"]
            for pk in (1, 2):
                conn.execute(
                    patients.insert().values(
                        pk=pk,
                        source="s",
                        id=str(pk),
                        sex="male",
                        birth_date=DAYS[0],
                        diagnosis_date=DAYS[-1],
                        record={},
                        content_hash="x",
                        imported_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        import_source="test",
                    )
                )
            for name, rows in (("symptoms", _rows), ("labs", _lab_rows)):
                table = store.tables[name]
                columns = TABLES[name].column_names
                bulk.insert_rows(conn, table, columns, rows(1))
                conn.execute(
                    table.insert(), [dict(zip(columns, row, strict=True)) for row in rows(2)]
                )
        with store.engine.connect() as conn:
            for name in ("symptoms", "labs"):
                assert _stored(conn, name, 1) == _stored(conn, name, 2)
            days = [row[3] for row in _stored(conn, "symptoms", 1)]  # the date
            assert days == ["0001-01-01", "0999-12-31", "1952-02-29", "2026-11-01"]
            kinds = {row[6] for row in _stored(conn, "labs", 1)}  # typeof(value)
            assert kinds == {"real"}
