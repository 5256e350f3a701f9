"""Hand-built records and the Arrow tables the quality stages read."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from bonepath.engine.duckdb_runner import to_arrow
from bonepath.record.columns import to_columns
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)
"""The real-today stand-in for parsing (no record date may lie after it)."""

START = dt.date(2026, 1, 1)
END = dt.date(2026, 10, 31)

HOSPITALS: dict[str, dict[str, str]] = {
    "H01": {"id": "H01", "name": "一号医院", "city_tier": "tier1-2", "type": "general"},
    "H02": {"id": "H02", "name": "二号医院", "city_tier": "tier3-4", "type": "cancer"},
}


def record(
    pid: str,
    *,
    hospital: str = "H01",
    title: str = "chief",
    department: str = "oncology",
    diagnosis: str = "2025-06-01",
    setting: str = "advanced",
    death: str | None = None,
    bone: dict[str, Any] | None = None,
    recurrence: str | None = None,
    plan: dict[str, Any] | None = None,
    **events: list[dict[str, Any]],
) -> dict[str, Any]:
    """A valid record-format v1 record with the given events."""
    data: dict[str, Any] = {
        "format": "bonepath-record/1",
        "id": pid,
        "source": "test",
        "hospital": copy.deepcopy(HOSPITALS[hospital]),
        "department": department,
        "physician": {"id": f"{hospital}-D1", "title": title},
        "sex": "male",
        "birth_date": "1958-03-02",
        "cancer": {
            "diagnosis_date": diagnosis,
            "histology": "adenocarcinoma",
            "stage": "IV" if setting == "advanced" else "II",
            "setting": setting,
        },
        "events": dict(events),
    }
    if setting == "resected":
        data["cancer"]["surgery_date"] = diagnosis
    if recurrence:
        data["cancer"]["recurrence_date"] = recurrence
    if death:
        data["death_date"] = death
    if bone:
        data["bone_metastasis"] = bone
    if plan:
        data["bta_plan"] = plan
    return data


def confirmed(day: str, site: str = "pelvis") -> dict[str, Any]:
    return {
        "status": "confirmed",
        "confirmed_date": day,
        "lesions": [{"site": site, "kind": "lytic"}],
    }


def ct(day: str, reviewed: bool | None, region: str = "chest") -> dict[str, Any]:
    item: dict[str, Any] = {"date": day, "modality": "ct", "region": region, "result": "negative"}
    if reviewed is not None:
        item["bone_window_reviewed"] = reviewed
    return item


def scan(day: str, modality: str = "bone_scan") -> dict[str, Any]:
    return {"date": day, "modality": modality, "region": "whole_body", "result": "negative"}


def zol(day: str, interval: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"date": day, "drug": "zoledronic_acid", "dose_mg": 4, "route": "iv"}
    if interval is not None:
        item["interval_days"] = interval
    return item


def deno(day: str, dose_mg: float = 120) -> dict[str, Any]:
    return {"date": day, "drug": "denosumab", "dose_mg": dose_mg, "route": "sc"}


def tables(records: Sequence[dict[str, Any]]) -> dict[str, pa.Table]:
    """The Arrow tables of ``records`` (pk = position + 1)."""
    parsed = [(i + 1, parse_record(r, today=TODAY)) for i, r in enumerate(records)]
    return to_arrow(to_columns(parsed))


def units(
    records: Sequence[dict[str, Any]], measure_id: str, start: dt.date = START, end: dt.date = END
) -> dict[str, bool | None]:
    """Patient id -> numerator flag of each unit of ``measure_id`` (one unit per patient)."""
    from bonepath.quality.run import units_table

    ids = {i + 1: r["id"] for i, r in enumerate(records)}
    rows = units_table(tables(records), start, end).to_pylist()
    out: dict[str, bool | None] = {}
    for row in rows:
        if row["measure"] == measure_id:
            key = ids[row["pk"]]
            assert key not in out, f"{key} has two {measure_id} units"
            out[key] = row["num"]
    return out


def unit_rows(
    records: Sequence[dict[str, Any]], measure_id: str, start: dt.date = START, end: dt.date = END
) -> list[tuple[str, dt.date, bool | None]]:
    """(patient id, anchor, num) of every unit of ``measure_id``, sorted."""
    from bonepath.quality.run import units_table

    ids = {i + 1: r["id"] for i, r in enumerate(records)}
    rows = units_table(tables(records), start, end).to_pylist()
    return sorted(
        (ids[r["pk"]], r["anchor"], r["num"]) for r in rows if r["measure"] == measure_id
    )


def ids(items: Iterable[tuple[str, Any, Any]]) -> list[str]:
    return [i for i, _, _ in items]
