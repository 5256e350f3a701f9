"""The CT report checker on every registry backend (clarifications C-28): the patients of
``tests/imaging/report_scenarios.py`` stored in SQLite and PostgreSQL and evaluated by the
DuckDB, PostgreSQL push-down and Spark backends give exactly what ``evaluate_many`` gives —
the derived bone-window flag (SCR-05) and the report's suspicious site (DX-04/05, never
DX-07) included — and a store migrated in place from 0006 holds what a fresh import holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from sqlalchemy import text

from bonepath.engine.evaluate import evaluate_many
from bonepath.population.registry import RegistryEvaluation, evaluate_registry
from bonepath.population.tables import read_tables
from bonepath.record.model import Record
from bonepath.store import migrate
from bonepath.store.db import write_transaction
from imaging.report_scenarios import scenarios
from population.support import stored, stored_in_pg_schema

if TYPE_CHECKING:
    from bonepath.engine.spark_runner import SparkRunner
    from bonepath.store.repository import Store

Key = tuple[str, dt.date]
PAIRS = [(record, day) for _, record, day in scenarios()]
DAYS = tuple(sorted({day for _, day in PAIRS}))


@pytest.fixture(scope="module")
def reference() -> dict[Key, dict[str, Any]]:
    return {(e.patient, e.as_of): e.to_json() for e in evaluate_many(PAIRS)}


def _check(result: RegistryEvaluation, reference: dict[Key, dict[str, Any]]) -> None:
    got = {(e.patient, e.as_of): e.to_json() for e in result.evaluations}
    for key, expected in reference.items():
        assert got[key] == expected, key
    fired = {f["rule"] for e in reference.values() for f in e["findings"]}
    assert {"SCR-05", "DX-04", "DX-05", "DX-07"} <= fired


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return [record for record, _ in PAIRS]


@pytest.fixture(scope="module")
def sqlite_store(
    records: list[Record], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("reports") / "reports.sqlite3"
    with stored(f"sqlite:///{path}", records) as store:
        yield store


@pytest.fixture(scope="module")
def pg_store(records: list[Record], pg_admin: Any) -> Iterator[Store]:
    with stored_in_pg_schema(pg_admin, "reports", records) as store:
        yield store


def test_duckdb_on_sqlite_equals_evaluate_many(
    sqlite_store: Store, reference: dict[Key, dict[str, Any]]
) -> None:
    _check(evaluate_registry(sqlite_store, DAYS, backend="duckdb"), reference)


def test_duckdb_on_postgres_equals_evaluate_many(
    pg_store: Store, reference: dict[Key, dict[str, Any]]
) -> None:
    _check(evaluate_registry(pg_store, DAYS, backend="duckdb"), reference)


def test_postgres_push_down_equals_evaluate_many(
    pg_store: Store, reference: dict[Key, dict[str, Any]]
) -> None:
    _check(evaluate_registry(pg_store, DAYS, backend="postgres"), reference)


def test_spark_equals_evaluate_many(
    sqlite_store: Store, spark_runner: SparkRunner, reference: dict[Key, dict[str, Any]]
) -> None:
    _check(
        evaluate_registry(sqlite_store, DAYS, backend="spark", spark_runner=spark_runner), reference
    )


def _imaging_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    tables = read_tables(store.engine)
    out = {}
    for name in ("imaging", "imaging_sites"):
        t = tables[name]
        out[name] = sorted(
            (tuple(row.values()) for row in t.to_pylist()), key=lambda r: tuple(map(repr, r))
        )
    return out


def test_a_store_upgraded_from_0006_holds_what_a_fresh_import_holds(
    db_url: str, records: list[Record]
) -> None:
    with stored(db_url, records) as store:
        fresh = _imaging_rows(store)
        assert any(
            row[-3:] == ("thoracic_spine", "suspicious", "report") for row in fresh["imaging_sites"]
        )
        with write_transaction(store.engine) as conn:
            command.downgrade(migrate.alembic_config(conn), "0006")
        with store.engine.connect() as conn:
            # back at 0006: the typed flag only, no report site rows
            assert (
                conn.execute(
                    text(
                        "SELECT count(*) FROM imaging WHERE modality = 'ct' AND bone_window_reviewed IS NULL"
                    )
                ).scalar()
                == 4
            )
            assert conn.execute(text("SELECT count(*) FROM imaging_sites")).scalar() == 3
        assert migrate.upgrade(store.engine) == "0006"  # the revision it found
        assert _imaging_rows(store) == fresh
