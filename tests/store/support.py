"""Helpers of the store, import and CLI tests: row counts per table and per patient, expected
and stored, and records spoiled in one known way."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text

from bonepath.record.columns import TABLE_NAMES, to_columns
from bonepath.record.model import Record


def expected_table_counts(records: Iterable[Record]) -> dict[str, int]:
    """Rows per table that storing ``records`` must produce (the columnar layout's)."""
    buffer = to_columns(enumerate(records))
    return {name: len(columns["pk"]) for name, columns in buffer.items()}


def stored_table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in TABLE_NAMES
        }


def expected_rows_by_patient(records: Iterable[Record]) -> dict[tuple[str, str], Counter[str]]:
    """``(source, id) -> rows per event table`` for each record."""
    out: dict[tuple[str, str], Counter[str]] = {}
    for record in records:
        buffer = to_columns([(0, record)])
        out[record.key] = Counter(
            {name: len(cols["pk"]) for name, cols in buffer.items() if name != "patients"}
        )
    return out


def stored_rows_by_patient(engine: Engine) -> dict[tuple[str, str], Counter[str]]:
    """``(source, id) -> rows per event table`` as stored (patients without events included)."""
    out: dict[tuple[str, str], Counter[str]] = {}
    with engine.connect() as conn:
        by_pk = {
            pk: (source, id_)
            for pk, source, id_ in conn.execute(text("SELECT pk, source, id FROM patients"))
        }
        for key in by_pk.values():
            out[key] = Counter()
        for name in TABLE_NAMES:
            if name == "patients":
                continue
            rows = conn.execute(text(f'SELECT pk, count(*) FROM "{name}" GROUP BY pk'))
            for pk, count in rows:
                out[by_pk[pk]][name] = int(count)
    return out


def with_bad_unit(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a creatinine in mmol/L first among its labs: refused at /events/labs/0/unit."""
    spoiled = copy.deepcopy(data)
    bad = {
        "date": data["cancer"]["diagnosis_date"],
        "test": "creatinine",
        "value": 1.1,
        "unit": "mmol/L",
    }
    spoiled.setdefault("events", {}).setdefault("labs", []).insert(0, bad)
    return spoiled


def with_future_weight(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a weight dated 2099 first among its vitals: /events/vitals/0/date."""
    spoiled = copy.deepcopy(data)
    spoiled.setdefault("events", {}).setdefault("vitals", []).insert(
        0, {"date": "2099-01-01", "weight_kg": 60}
    )
    return spoiled
