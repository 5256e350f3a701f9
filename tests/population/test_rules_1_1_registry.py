"""Rules version 1.1 on every registry backend: the worked scenarios of
``tests/rules/test_rules_1_1.py`` and the RT-05 / MDT scenarios (each a patient on its own day)
stored in SQLite and PostgreSQL and evaluated by the DuckDB, PostgreSQL push-down and Spark
backends give exactly what ``evaluate_many`` gives — every changed rule included (dialysis,
SAFE-17, SAFE-08 with disease found, the BTA dose forms, RT-01 at an unstable lesion, RT-05
until answered, MDT-01 due from its trigger, the deceased flag).

The synthetic registry of ``test_registry.py`` reaches most of these rules too, but not all
(no dialysis patient on zoledronic acid, no pamidronate in renal failure, no SINS >= 13).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bonepath.engine.evaluate import evaluate_many
from bonepath.population.registry import RegistryEvaluation, evaluate_registry
from bonepath.record.model import Record
from population.support import stored, stored_in_pg_schema

if TYPE_CHECKING:
    from bonepath.engine.spark_runner import SparkRunner
    from bonepath.store.repository import Store

MODULES = ("rules.test_rules_1_1", "rules.test_radiotherapy", "rules.test_mdt")
PREFIXES = ("v11.", "rt05.", "mdt01.")

Key = tuple[str, dt.date]


def _scenarios() -> list[tuple[Record, dt.date]]:
    for module in MODULES:
        importlib.import_module(module)  # registers its scenarios
    from rules.builders import SCENARIOS

    chosen = sorted(name for name in SCENARIOS if name.startswith(PREFIXES))
    out = []
    for n, name in enumerate(chosen):
        record, day = SCENARIOS[name]
        # every scenario is patient "T1": give each its own id so one store holds them all
        out.append((record.model_copy(update={"id": f"V{n:03d}"}), day))
    return out


SCENARIO_PAIRS = _scenarios()
DAYS = tuple(sorted({day for _, day in SCENARIO_PAIRS}))


@pytest.fixture(scope="module")
def reference() -> dict[Key, dict[str, Any]]:
    return {(e.patient, e.as_of): e.to_json() for e in evaluate_many(SCENARIO_PAIRS)}


def _check(result: RegistryEvaluation, reference: dict[Key, dict[str, Any]]) -> None:
    got = {(e.patient, e.as_of): e.to_json() for e in result.evaluations}
    for key, expected in reference.items():
        assert got[key] == expected, key
    fired = {(f["rule"], f["kind"]) for e in reference.values() for f in e["findings"]}
    assert {
        ("SAFE-04", "alert"),
        ("SAFE-17", "alert"),
        ("SAFE-08", "action"),
        ("BTA-03", "info"),
        ("BTA-03", "action"),
        ("BTA-04", "action"),
        ("BTA-05", "info"),
        ("RT-01", "action"),
        ("RT-05", "alert"),
        ("SURG-02", "action"),
        ("MDT-01", "action"),
    } <= fired
    assert any(e.get("deceased") for e in reference.values())


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return [record for record, _ in SCENARIO_PAIRS]


@pytest.fixture(scope="module")
def sqlite_store(records: list[Record], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("rules11") / "rules11.sqlite3"
    with stored(f"sqlite:///{path}", records) as store:
        yield store


@pytest.fixture(scope="module")
def pg_store(records: list[Record], pg_admin: Any) -> Iterator[Store]:
    with stored_in_pg_schema(pg_admin, "rules11", records) as store:
        yield store


def test_duckdb_on_sqlite_equals_evaluate_many(sqlite_store: Store, reference: dict[Key, dict[str, Any]]) -> None:
    _check(evaluate_registry(sqlite_store, DAYS, backend="duckdb"), reference)


def test_postgres_push_down_equals_evaluate_many(pg_store: Store, reference: dict[Key, dict[str, Any]]) -> None:
    _check(evaluate_registry(pg_store, DAYS, backend="postgres"), reference)


def test_spark_equals_evaluate_many(
    sqlite_store: Store, spark_runner: SparkRunner, reference: dict[Key, dict[str, Any]]
) -> None:
    _check(evaluate_registry(sqlite_store, DAYS, backend="spark", spark_runner=spark_runner), reference)
