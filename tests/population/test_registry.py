"""Registry evaluation runs the one compiled plan: the differential test of issue 4.

On a seeded 5,000-patient synthetic registry over three as-of days (15,000 patient-days),
every backend — DuckDB over Arrow read from SQLite or PostgreSQL, the plan pushed down into
PostgreSQL, Spark SQL in a local Spark session — equals ``evaluate_many`` finding by finding on
every patient-day, and ``evaluate_many`` equals true per-patient ``evaluate`` (the SQLite
point-of-care executor, on the record read back from the store) on a seeded sample of 300
patient-days plus the five busiest patients of each day.

Why a sample for one-by-one: ``evaluate`` costs about 30 ms a call, so all 15,000 patient-days
would add about 8 minutes to CI. Equality is transitive: each backend is held to
``evaluate_many`` on all 15,000, and ``evaluate_many`` to ``evaluate`` on the sample, which is
drawn afresh from every patient-day with a fixed seed (so it covers all three days and the
common and rare rules alike; the busiest patients add the records where most rules fire).
``evaluate_many`` and ``evaluate`` share the plan and differ only in the executor (DuckDB vs
SQLite), which tests/engine holds equal on the specification's examples too."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bonepath.engine.evaluate import evaluate, evaluate_many
from bonepath.engine.plan import compiled_stages
from bonepath.engine.spark_runner import SparkRunner
from bonepath.errors import ConfigError
from bonepath.population.registry import (
    RegistryEvaluation,
    evaluate_registry,
    evaluate_snapshot,
)
from bonepath.population.snapshot import write_snapshot
from bonepath.record.columns import TABLE_NAMES
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store
from bonepath.synth import generate_record
from population.support import TODAY, stored, stored_in_pg_schema

PATIENTS = 5000
SEED = 2026
SAMPLE = 300
"""Patient-days evaluated one by one (plus the busiest patients of each day)."""
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
    with stored_in_pg_schema(pg_admin, "registry", cohort) as store:
        yield store


@pytest.fixture(scope="module")
def on_sqlite(sqlite_store: Store) -> RegistryEvaluation:
    # the store read and evaluated in three parts of at most 1,700 patients, one transaction
    return evaluate_registry(sqlite_store, DAYS, backend="duckdb", chunk_patients=1700)


@pytest.fixture(scope="module")
def on_postgres(pg_store: Store) -> dict[str, RegistryEvaluation]:
    return {
        # in three parts of at most 1,700 patients (pk ranges) on two connections sharing one
        # exported snapshot: the parts' findings are the whole's (a million runs in parts of
        # 100,000)
        "postgres": evaluate_registry(
            pg_store, DAYS, backend="postgres", chunk_patients=1700, workers=2
        ),
        "duckdb": evaluate_registry(pg_store, DAYS, backend="duckdb"),
    }


@pytest.fixture(scope="module")
def on_spark(sqlite_store: Store, spark_runner: SparkRunner) -> RegistryEvaluation:
    return evaluate_registry(sqlite_store, DAYS, backend="spark", spark_runner=spark_runner)


@pytest.fixture(scope="module")
def snapshot_on_spark(
    sqlite_store: Store, cohort: list[Record], spark_runner: SparkRunner, tmp_path_factory: Any
) -> tuple[str, RegistryEvaluation]:
    """The store's snapshot evaluated by Spark from its Parquet files, one hospital's patients."""
    directory = tmp_path_factory.mktemp("snapshot") / "registry"
    write_snapshot(sqlite_store, directory)
    assert cohort[0].hospital is not None
    hospital = cohort[0].hospital.id
    assert hospital is not None
    result = evaluate_snapshot(
        directory, DAYS, backend="spark", hospitals={hospital}, spark_runner=spark_runner
    )
    return hospital, result


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


def test_spark_equals_evaluate_many(
    on_spark: RegistryEvaluation, reference: dict[Key, dict[str, Any]]
) -> None:
    assert on_spark.backend == "spark"
    _check(on_spark, reference)


def test_spark_on_a_snapshot_equals_evaluate_many_for_one_hospital(
    snapshot_on_spark: tuple[str, RegistryEvaluation],
    cohort: list[Record],
    reference: dict[Key, dict[str, Any]],
) -> None:
    """Spark reading the snapshot's files (every day in one pass, the hospital selected in
    Spark) gives exactly that hospital's patient-days of the reference."""
    hospital, result = snapshot_on_spark
    theirs = {(r.source, r.id) for r in cohort if r.hospital and r.hospital.id == hospital}
    assert 0 < len(theirs) < PATIENTS
    assert result.backend == "spark"
    assert {(p.source, p.id) for p in result.patients} == theirs
    assert {p.hospital for p in result.patients} == {hospital}
    expected = {k: e for k, e in reference.items() if (k[0], k[1]) in theirs}
    assert _differences(result, expected) == []
    assert result.finding_count == sum(len(e["findings"]) for e in expected.values()) > 0


def test_sample_equals_per_patient_evaluate_spark(
    on_spark: RegistryEvaluation, one_by_one: dict[Key, dict[str, Any]]
) -> None:
    _per_patient_check(on_spark, one_by_one)


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


@pytest.fixture(scope="module")
def one_by_one(
    sqlite_store: Store, reference: dict[Key, dict[str, Any]]
) -> dict[Key, dict[str, Any]]:
    """Per-patient ``evaluate`` of the sampled patient-days, on the records as stored."""
    keys = sorted(reference, key=lambda k: (k[2], k[0], k[1]))
    sample = set(random.Random(SEED).sample(keys, SAMPLE))
    for day in DAYS:
        on_day = [k for k in keys if k[2] == day]
        sample.update(sorted(on_day, key=lambda k: -len(reference[k]["findings"]))[:5])
    out: dict[Key, dict[str, Any]] = {}
    for source, patient, day in sorted(sample, key=lambda k: (k[0], k[1], k[2])):
        record = sqlite_store.get_record(source, patient)
        assert record is not None
        out[(source, patient, day)] = evaluate(record, day).to_json()
    return out


def test_evaluate_many_equals_per_patient_evaluate(
    one_by_one: dict[Key, dict[str, Any]], reference: dict[Key, dict[str, Any]]
) -> None:
    assert len(one_by_one) >= SAMPLE
    assert {day for _, _, day in one_by_one} == set(DAYS)
    # the sample is not trivial: most sampled patient-days have findings, of many rules
    with_findings = [k for k, e in one_by_one.items() if e["findings"]]
    assert len(with_findings) > SAMPLE // 3
    assert len({f["rule"] for e in one_by_one.values() for f in e["findings"]}) >= 20
    assert [k for k, e in one_by_one.items() if reference[k] != e] == []


def _per_patient_check(result: RegistryEvaluation, one_by_one: dict[Key, dict[str, Any]]) -> None:
    for source, patient, day in one_by_one:
        got = result.evaluation(source, patient, day).to_json()
        assert got == one_by_one[(source, patient, day)], (patient, day)


def test_sample_equals_per_patient_evaluate_sqlite(
    on_sqlite: RegistryEvaluation, one_by_one: dict[Key, dict[str, Any]]
) -> None:
    _per_patient_check(on_sqlite, one_by_one)


@pytest.mark.postgres
def test_sample_equals_per_patient_evaluate_postgres(
    on_postgres: dict[str, RegistryEvaluation], one_by_one: dict[Key, dict[str, Any]]
) -> None:
    _per_patient_check(on_postgres["postgres"], one_by_one)


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
    with pytest.raises(ConfigError, match="accepted: duckdb, postgres, spark"):
        evaluate_registry(sqlite_store, DAYS[0], backend="hive")  # type: ignore[arg-type]
