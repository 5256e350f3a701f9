"""The quality indicators of a stored registry (rules.md §13), on either backend.

``duckdb`` (embedded; SQLite or PostgreSQL stores)
    the record tables are read column-wise into Arrow (:mod:`bonepath.population.tables`) and
    the stages of :mod:`bonepath.quality.compute` run in an in-process DuckDB.
``postgres`` (push-down; PostgreSQL stores)
    the same stages, compiled for PostgreSQL, run inside the store's database in one
    read-only transaction (temporary views and tables, rolled back at the end, exactly as the
    registry evaluation does); only the per-stratum counts come back.

``hospitals`` restricts the registry to those hospitals before anything is computed (a
hospital-scoped quality manager sees only their own patients).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import Engine

from bonepath.errors import ConfigError, StoreError
from bonepath.population.registry import (
    _READ_ERRORS,
    POSTGRES_SETTINGS,
    _expose_record_tables,
    _quote,
    patient_conditions,
)
from bonepath.population.tables import read_tables
from bonepath.quality.compute import STRATA_TABLE, Period, quality_stages
from bonepath.quality.results import QualityReport, build_report
from bonepath.store.repository import Store

QualityBackend = Literal["duckdb", "postgres"]


def read_registry(
    store: Store | Engine, hospitals: Collection[str] = ()
) -> dict[str, pa.Table]:
    """The record tables of the store (of ``hospitals`` only, when given) as Arrow tables."""
    engine = store.engine if isinstance(store, Store) else store
    try:
        return read_tables(engine, patient_conditions(hospitals))
    except _READ_ERRORS as exc:
        raise StoreError(f"reading the registry failed: {exc}") from exc


def measure_registry(
    store: Store | Engine,
    start: dt.date,
    end: dt.date,
    *,
    backend: QualityBackend = "duckdb",
    hospitals: Collection[str] = (),
) -> QualityReport:
    """QC-01..QC-10 of the stored registry over the period ``[start, end]``.

    Raises
    ------
    ConfigError
        ``postgres`` asked of a store that is not PostgreSQL, or an unknown backend.
    StoreError
        The store could not be read.
    """
    from bonepath.quality.run import compute_quality

    engine = store.engine if isinstance(store, Store) else store
    if backend == "duckdb":
        return compute_quality(read_registry(engine, hospitals), start, end, hospitals)
    if backend != "postgres":
        raise ConfigError(f"unknown quality backend {backend!r}; accepted: duckdb, postgres")
    if engine.dialect.name != "postgresql":
        raise ConfigError(
            "the postgres backend runs inside PostgreSQL; this store is "
            f"{engine.dialect.name}: use the duckdb backend"
        )
    try:
        rows = _run_postgres(engine, Period(start, end), hospitals)
    except _READ_ERRORS as exc:
        raise StoreError(f"computing the quality indicators failed: {exc}") from exc
    return build_report(rows, start, end, hospitals)


def _run_postgres(
    engine: Engine, period: Period, hospitals: Collection[str]
) -> list[dict[str, Any]]:
    stages = quality_stages(period, "postgres")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            for setting, value in POSTGRES_SETTINGS.items():
                conn.exec_driver_sql(f"SET LOCAL {setting} = '{value}'")
            _expose_record_tables(conn)
            if hospitals:
                _restrict_to_hospitals(conn, hospitals)
            for name, sql in stages:
                quoted = _quote(conn, name)
                conn.exec_driver_sql(f"CREATE TEMP TABLE {quoted} AS {sql}")
            result = conn.exec_driver_sql(f"SELECT * FROM {_quote(conn, STRATA_TABLE)}")
            names = list(result.keys())
            return [dict(zip(names, row, strict=True)) for row in result]
        finally:
            transaction.rollback()


def _restrict_to_hospitals(conn: Any, hospitals: Collection[str]) -> None:
    """Replace the temporary record views by views of the hospitals' patients only."""
    from bonepath.record.columns import TABLES

    wanted = ", ".join("'" + h.replace("'", "''") + "'" for h in sorted(hospitals))
    conn.exec_driver_sql(
        "CREATE TEMP TABLE _qc_patients AS SELECT pk FROM patients "
        f"WHERE hospital_id IN ({wanted})"
    )
    for name, spec in TABLES.items():
        quoted = _quote(conn, name)
        columns = ", ".join(_quote(conn, c) for c in spec.column_names)
        conn.exec_driver_sql(f"ALTER VIEW {quoted} RENAME TO {_quote(conn, '_all_' + name)}")
        conn.exec_driver_sql(
            f"CREATE TEMP VIEW {quoted} AS SELECT {columns} FROM {_quote(conn, '_all_' + name)} "
            "WHERE pk IN (SELECT pk FROM _qc_patients)"
        )
