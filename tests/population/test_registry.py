"""Registry evaluation runs the one compiled plan: on a 1,000-patient synthetic registry over
three days, both backends (DuckDB over Arrow read from SQLite or PostgreSQL; the plan pushed
down into PostgreSQL) equal ``evaluate_many`` finding by finding, and per-patient ``evaluate``
on a sample."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bonepath.engine.evaluate import evaluate, evaluate_many
from bonepath.engine.plan import compiled_stages
from bonepath.errors import ConfigError
from bonepath.population.registry import RegistryEvaluation, evaluate_registry
from bonepath.record.columns import TABLE_NAMES
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store
from bonepath.synth import generate_record
from population.support import TODAY, stored

PATIENTS = 1000
SEED = 2026
DAYS = (dt.date(2024, 3, 1), dt.date(2025, 6, 1), dt.date(2026, 11, 1))
Key = tuple[str, str, dt.date]


@pytest.fixture(scope="module")
def cohort() -> list[Record]:
    return [parse_record(generate_record(i, SEED), today=TODAY) for i in range(PATIENTS)]


@pytest.fixture(scope="module")
def reference(cohort: list[Record]) -> dict[Key, dict[str, Any]]:
    """``evaluate_many`` of every (patient, day): the batch path over in-memory records."""
    pairs = [(record, day) for day in DAYS for record in cohort]
    return {(e.source, e.patient, e.as_of): e.to_json() for e in evaluate_many(pairs)}


@pytest.fixture(scope="module")
def sqlite_store(cohort: list[Record], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("registry") / "registry.sqlite3"
    with stored(f"sqlite:///{path}", cohort) as store:
        yield store


@pytest.fixture(scope="module")
def pg_store(cohort: list[Record], pg_admin: Any) -> Iterator[Store]:
    from conftest import pg_url_in_schema  # the server and naming of the shared fixtures

    schema = f"bpt_registry_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with stored(pg_url_in_schema(schema), cohort) as store:
            yield store
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def on_sqlite(sqlite_store: Store) -> RegistryEvaluation:
    return evaluate_registry(sqlite_store, DAYS, backend="duckdb")


@pytest.fixture(scope="module")
def on_postgres(pg_store: Store) -> dict[str, RegistryEvaluation]:
    return {
        "postgres": evaluate_registry(pg_store, DAYS, backend="postgres"),
        "duckdb": evaluate_registry(pg_store, DAYS, backend="duckdb"),
    }


def _differences(result: RegistryEvaluation, reference: dict[Key, dict[str, Any]]) -> list[Key]:
    got = {(e.source, e.patient, e.as_of): e.to_json() for e in result.evaluations}
    assert got.keys() == reference.keys()
    return [key for key, expected in reference.items() if got[key] != expected]


def _check(result: RegistryEvaluation, reference: dict[Key, dict[str, Any]]) -> None:
    assert result.days == DAYS
    assert len(result.patients) == PATIENTS
    assert len(result.evaluations) == PATIENTS * len(DAYS)
    assert _differences(result, reference) == []
    expected_findings = sum(len(e["findings"]) for e in reference.values())
    assert result.finding_count == expected_findings
    # the cohort reaches screening, dosing, safety, adherence and surgery rules on these days
    fired = {f.rule for e in result.evaluations for f in e.findings}
    assert {"SCR-01", "SCR-05", "BTA-03", "SAFE-05", "ADH-03", "SURG-04", "SCORE-CG"} <= fired


def test_reference_cohort_is_not_trivial(reference: dict[Key, dict[str, Any]]) -> None:
    per_day = {
        day: sum(len(e["findings"]) for (_, _, d), e in reference.items() if d == day)
        for day in DAYS
    }
    # every day has findings for hundreds of patients, and the days differ
    assert all(count > 500 for count in per_day.values()), per_day
    assert len(set(per_day.values())) == len(DAYS)


def test_duckdb_on_sqlite_equals_evaluate_many(
    on_sqlite: RegistryEvaluation, reference: dict[Key, dict[str, Any]]
) -> None:
    assert on_sqlite.backend == "duckdb"
    _check(on_sqlite, reference)


@pytest.mark.postgres
def test_postgres_push_down_equals_evaluate_many(
    on_postgres: dict[str, RegistryEvaluation], reference: dict[Key, dict[str, Any]]
) -> None:
    assert on_postgres["postgres"].backend == "postgres"
    _check(on_postgres["postgres"], reference)


@pytest.mark.postgres
def test_duckdb_on_postgres_equals_evaluate_many(
    on_postgres: dict[str, RegistryEvaluation], reference: dict[Key, dict[str, Any]]
) -> None:
    _check(on_postgres["duckdb"], reference)


def _sample(result: RegistryEvaluation) -> list[tuple[str, str]]:
    """Ten patients: the five with the most findings on the last day, then every 200th."""
    last = [e for e in result.evaluations if e.as_of == DAYS[-1]]
    busiest = sorted(last, key=lambda e: (-len(e.findings), e.patient))[:5]
    spread = last[::200][:5]
    keys = [(e.source, e.patient) for e in busiest + spread]
    return list(dict.fromkeys(keys))


def _per_patient_check(store: Store, result: RegistryEvaluation) -> None:
    sample = _sample(result)
    assert len(sample) >= 9
    for source, patient in sample:
        record = store.get_record(source, patient)
        assert record is not None
        for day in DAYS:
            alone = evaluate(record, day).to_json()
            assert result.evaluation(source, patient, day).to_json() == alone, (patient, day)


def test_sample_equals_per_patient_evaluate_sqlite(
    sqlite_store: Store, on_sqlite: RegistryEvaluation
) -> None:
    _per_patient_check(sqlite_store, on_sqlite)


@pytest.mark.postgres
def test_sample_equals_per_patient_evaluate_postgres(
    pg_store: Store, on_postgres: dict[str, RegistryEvaluation]
) -> None:
    _per_patient_check(pg_store, on_postgres["postgres"])


@pytest.mark.postgres
def test_push_down_leaves_nothing_behind(pg_store: Store, on_postgres: Any) -> None:
    """The push-down ran in a rolled-back transaction: no stage table, context or view of
    the run survives (in any session), and the store's own tables are untouched."""
    names = ["context", *(name for name, _ in compiled_stages("postgres"))]
    with pg_store.engine.connect() as conn:
        temp = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname LIKE 'pg_temp%' AND c.relname = ANY(:names)"
            ),
            {"names": names + list(TABLE_NAMES)},
        ).scalar_one()
        patients = conn.execute(text("SELECT count(*) FROM patients")).scalar_one()
    assert (temp, patients) == (0, PATIENTS)


def test_postgres_backend_refuses_a_sqlite_store(sqlite_store: Store) -> None:
    with pytest.raises(ConfigError, match="use the duckdb backend"):
        evaluate_registry(sqlite_store, DAYS[0], backend="postgres")


def test_unknown_backend_is_refused(sqlite_store: Store) -> None:
    with pytest.raises(ConfigError, match="accepted: duckdb, postgres"):
        evaluate_registry(sqlite_store, DAYS[0], backend="spark")  # type: ignore[arg-type]
