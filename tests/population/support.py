"""A hand-built registry of five patients whose findings on :data:`AS_OF` are known, and a
helper that stores records in a fresh store."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store, open_store

TODAY = dt.date(2026, 11, 23)
AS_OF = dt.date(2026, 9, 30)


def _hospital(hospital_id: str) -> dict[str, Any]:
    return {
        "id": hospital_id,
        "name": f"医院{hospital_id}",
        "city_tier": "tier1-2",
        "type": "general",
    }


def _denosumab_patient(source: str, hospital_id: str, department: str) -> dict[str, Any]:
    """Denosumab every 28 days, last dose 2026-07-27: due 2026-08-24, 37 days overdue on
    AS_OF (ADH-02 alert, ADH-03 action; the shared example adherence_overdue)."""
    dose = {"drug": "denosumab", "dose_mg": 120, "route": "sc"}
    return {
        "format": "bonepath-record/1",
        "id": "P0001",
        "source": source,
        "hospital": _hospital(hospital_id),
        "department": department,
        "sex": "male",
        "birth_date": "1960-12-03",
        "cancer": {
            "diagnosis_date": "2026-05-10",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "setting": "advanced",
            "drivers": {"ALK": "positive"},
        },
        "bone_metastasis": {
            "status": "confirmed",
            "confirmed_date": "2026-05-20",
            "lesions": [{"site": "rib", "kind": "lytic"}],
        },
        "events": {
            "bta": [{"date": day, **dose} for day in ("2026-06-01", "2026-06-29", "2026-07-27")],
            "supplements": [
                {"date": "2026-06-01", "calcium_mg_daily": 500, "vitamin_d_iu_daily": 400}
            ],
            "dental": [{"date": "2026-05-25", "result": "ok"}],
        },
    }


def _hypocalcaemia_patient() -> dict[str, Any]:
    """Corrected calcium 1.96 mmol/L on 2026-09-28 under denosumab: SAFE-05 hold and SAFE-14
    grade 2 (the shared example hypocalcaemia_hold, two days after the lab)."""
    dose = {"drug": "denosumab", "dose_mg": 120, "route": "sc"}
    return {
        "format": "bonepath-record/1",
        "id": "P0002",
        "source": "his-a",
        "hospital": _hospital("H02"),
        "department": "respiratory",
        "sex": "male",
        "birth_date": "1957-12-30",
        "cancer": {
            "diagnosis_date": "2026-06-15",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "setting": "advanced",
            "drivers": {"EGFR": "negative", "ALK": "negative"},
        },
        "bone_metastasis": {
            "status": "confirmed",
            "confirmed_date": "2026-06-25",
            "lesions": [{"site": "thoracic_spine", "kind": "mixed", "level": "T7"}],
        },
        "events": {
            "bta": [{"date": day, **dose} for day in ("2026-08-13", "2026-09-10")],
            "supplements": [
                {"date": "2026-08-13", "calcium_mg_daily": 500, "vitamin_d_iu_daily": 400}
            ],
            "labs": [
                {"date": "2026-09-28", "test": "calcium", "value": 1.88, "unit": "mmol/L"},
                {"date": "2026-09-28", "test": "albumin", "value": 36, "unit": "g/L"},
            ],
        },
    }


def _screening_patient() -> dict[str, Any]:
    """Stage IV diagnosed 2026-09-20, no bone scan yet (SCR-01, the shared example
    baseline_screening)."""
    return {
        "format": "bonepath-record/1",
        "id": "P0003",
        "source": "his-a",
        "hospital": _hospital("H01"),
        "department": "thoracic_surgery",
        "sex": "female",
        "birth_date": "1962-12-11",
        "smoking": "former",
        "cancer": {
            "diagnosis_date": "2026-09-20",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "setting": "advanced",
            "drivers": {"EGFR": "positive", "ALK": "negative"},
        },
        "bone_metastasis": {"status": "none"},
        "events": {
            "imaging": [
                {
                    "date": "2026-09-12",
                    "modality": "ct",
                    "region": "chest",
                    "result": "negative",
                    "bone_window_reviewed": True,
                }
            ]
        },
    }


def _deceased_patient() -> dict[str, Any]:
    """The denosumab patient of his-b, deceased on 2026-08-01: nothing is due any more."""
    record = _denosumab_patient("his-b", "H02", "oncology")
    record["id"] = "P0004"
    record["death_date"] = "2026-08-01"
    return record


def small_registry_data() -> list[dict[str, Any]]:
    """Five patients: the same id P0001 in two sources and hospitals (H01 oncology, H02
    oncology), P0002 (H02), P0003 (H01), and the deceased P0004 (H02)."""
    return [
        _denosumab_patient("his-a", "H01", "oncology"),
        _denosumab_patient("his-b", "H02", "oncology"),
        _hypocalcaemia_patient(),
        _screening_patient(),
        _deceased_patient(),
    ]


def small_registry_records() -> list[Record]:
    return [parse_record(copy.deepcopy(d), today=TODAY) for d in small_registry_data()]


def stored(url: str, records: Iterable[Record]) -> Store:
    """A store at ``url`` holding ``records``."""
    store = open_store(url)
    store.upsert_records(records, import_source="test")
    return store


@contextmanager
def stored_in_pg_schema(pg_admin: Any, prefix: str, records: Iterable[Record]) -> Iterator[Store]:
    """``records`` stored in a PostgreSQL schema of their own (``bpt_<prefix>_…``), dropped after."""
    from conftest import pg_url_in_schema  # the server and naming of the shared fixtures

    schema = f"bpt_{prefix}_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with stored(pg_url_in_schema(schema), records) as store:
            yield store
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
