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
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import Connection, Engine, Select, inspect, select
from sqlalchemy.sql.elements import ColumnElement

from bonepath.errors import ConfigError, StoreError
from bonepath.population.registry import (
    _READ_ERRORS,
    POSTGRES_SETTINGS,
    _expose_record_tables,
    _quote,
    patient_conditions,
)
from bonepath.population.snapshot import snapshot_parts
from bonepath.population.tables import read_tables
from bonepath.quality.compute import (
    REPLAY,
    REPLAY_DAYS,
    REPLAY_KEYS,
    STRATA_TABLE,
    TASKS,
    Period,
    quality_stages,
    replay_context_sql,
    replay_keys_sql,
    replay_rekeyed_sql,
    replay_result_sql,
    replay_stages,
    replay_stride_sql,
)
from bonepath.quality.results import QualityReport, build_report
from bonepath.store.repository import Store
from bonepath.store.schema import patients
from bonepath.store.tasks import reminder_tasks

QualityBackend = Literal["duckdb", "postgres"]


def _tasks_select(where: Collection[ColumnElement[bool]]) -> Select[Any]:
    """The reminder service's ADH-03 tasks keyed by the patient's ``pk``."""
    t = reminder_tasks
    p = patients
    return (
        select(
            p.c.pk.label("pk"),
            t.c.opened_as_of.label("opened"),
            t.c.closed_as_of.label("closed"),
            t.c.close_reason.label("reason"),
        )
        .select_from(t.join(p, (p.c.source == t.c.source) & (p.c.id == t.c.patient_id)))
        .where(t.c.rule == "ADH-03", *where)
    )


def has_tasks(conn: Connection) -> bool:
    """Whether the reminder service has ever opened an ADH-03 task in this store (a store
    migrated before the reminder tables existed has none)."""
    if not inspect(conn).has_table(reminder_tasks.name):
        return False
    row = conn.execute(
        select(reminder_tasks.c.id).where(reminder_tasks.c.rule == "ADH-03").limit(1)
    ).first()
    return row is not None


def read_registry(store: Store | Engine, hospitals: Collection[str] = ()) -> dict[str, pa.Table]:
    """The record tables of the store (of ``hospitals`` only, when given) as Arrow tables,
    plus ``adh03_tasks`` when the reminder service has opened ADH-03 tasks (QC-08)."""
    engine = store.engine if isinstance(store, Store) else store
    where = patient_conditions(hospitals)
    try:
        tables = read_tables(engine, where)
        with engine.connect() as conn:
            if has_tasks(conn):
                rows = conn.execute(_tasks_select(where)).all()
                tables[TASKS] = pa.table(
                    {
                        "pk": pa.array([r.pk for r in rows], pa.int64()),
                        "opened": pa.array([r.opened for r in rows], pa.date32()),
                        "closed": pa.array([r.closed for r in rows], pa.date32()),
                        "reason": pa.array([r.reason for r in rows], pa.string()),
                    }
                )
        return tables
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
    """QC-01..QC-11 of the stored registry over the period ``[start, end]``.

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
        rows, tasks = _run_postgres(engine, Period(start, end), hospitals)
    except _READ_ERRORS as exc:
        raise StoreError(f"computing the quality indicators failed: {exc}") from exc
    return build_report(rows, start, end, hospitals, tasks=tasks)


def snapshot_stages(
    directory: Path,
    period: Period,
    keep: Iterable[str] = (),
    *,
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    chunk_patients: int | None = None,
) -> dict[str, pa.Table]:
    """:func:`~bonepath.quality.run.run_stages` over the registry snapshot at ``directory``
    (of ``hospitals`` / ``departments``), read a part of ``chunk_patients`` patients at a time
    (:func:`~bonepath.population.snapshot.snapshot_parts`, default
    :data:`~bonepath.quality.run.QUALITY_CHUNK_PATIENTS`): only one part's rows are in memory
    at once. A snapshot holds no reminder tasks: QC-08 is as without them.

    Raises
    ------
    ConfigError
        No snapshot at ``directory``, or one to write again.
    """
    from bonepath.quality.run import QUALITY_CHUNK_PATIENTS, run_parts

    size = QUALITY_CHUNK_PATIENTS if chunk_patients is None else chunk_patients
    parts = snapshot_parts(directory, size, hospitals=hospitals, departments=departments)
    return run_parts(parts, period, keep)


def measure_snapshot(
    directory: Path,
    start: dt.date,
    end: dt.date,
    *,
    hospitals: Collection[str] = (),
    chunk_patients: int | None = None,
) -> QualityReport:
    """QC-01..QC-12 of the registry snapshot at ``directory`` over ``[start, end]``: the
    report :func:`measure_registry` gives for the store the snapshot was written from.

    Raises
    ------
    ConfigError
        No snapshot at ``directory``, or one to write again.
    """
    stages = snapshot_stages(
        directory, Period(start, end), hospitals=hospitals, chunk_patients=chunk_patients
    )
    return build_report(stages[STRATA_TABLE].to_pylist(), start, end, hospitals)


def _run_postgres(
    engine: Engine, period: Period, hospitals: Collection[str]
) -> tuple[list[dict[str, Any]], bool]:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            for setting, value in POSTGRES_SETTINGS.items():
                conn.exec_driver_sql(f"SET LOCAL {setting} = '{value}'")
            tasks = has_tasks(conn)
            if tasks:
                task_sql = _tasks_select(patient_conditions(hospitals)).compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                )
                conn.exec_driver_sql(f"CREATE TEMP TABLE {_quote(conn, TASKS)} AS {task_sql}")
            _expose_record_tables(conn)
            if hospitals:
                _restrict_to_hospitals(conn, hospitals)
            # QC-09's replay days first; its MDT-trigger rows become an input of the main pass
            _replay_on_postgres(conn, replay_stages(period, "postgres"))
            stages = quality_stages(period, "postgres", tasks=tasks, replay=True)
            for name, sql in stages:
                quoted = _quote(conn, name)
                conn.exec_driver_sql(f"CREATE TEMP TABLE {quoted} AS {sql}")
            result = conn.exec_driver_sql(f"SELECT * FROM {_quote(conn, STRATA_TABLE)}")
            names = list(result.keys())
            return [dict(zip(names, row, strict=True)) for row in result], tasks
        finally:
            transaction.rollback()


def _replay_on_postgres(conn: Connection, stages: list[tuple[str, str]]) -> None:
    """QC-09's replay pass into the temporary table :data:`REPLAY`, each replay day under its
    own key (quality/compute.py "each replay day its own key"): the record views are swapped
    for views of the days' copies while the engine runs, then swapped back."""
    from bonepath.record.columns import TABLES

    (first, context_sql), *engine = stages
    assert first == "context", first
    conn.exec_driver_sql(f"CREATE TEMP TABLE {REPLAY_DAYS} AS {context_sql}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {REPLAY_KEYS} AS {replay_keys_sql()}")
    stride = int(conn.exec_driver_sql(replay_stride_sql()).scalar() or 1)
    for name, spec in TABLES.items():
        everyone = _quote(conn, "_qc09_all_" + name)
        conn.exec_driver_sql(f"ALTER VIEW {_quote(conn, name)} RENAME TO {everyone}")
        conn.exec_driver_sql(
            f"CREATE TEMP VIEW {_quote(conn, name)} AS "
            f"{replay_rekeyed_sql(everyone, spec.column_names, stride, lambda c: _quote(conn, c))}"
        )
    conn.exec_driver_sql(f"CREATE TEMP TABLE context AS {replay_context_sql(stride)}")
    for name, sql in engine:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_quote(conn, name)} AS {sql}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_quote(conn, REPLAY)} AS {replay_result_sql(stride)}")
    for name, _sql in engine:
        conn.exec_driver_sql(f"DROP TABLE {_quote(conn, name)}")
    for name in TABLES:
        conn.exec_driver_sql(f"DROP VIEW {_quote(conn, name)}")
        conn.exec_driver_sql(
            f"ALTER VIEW {_quote(conn, '_qc09_all_' + name)} RENAME TO {_quote(conn, name)}"
        )
    for table in ("context", REPLAY_KEYS, REPLAY_DAYS):
        conn.exec_driver_sql(f"DROP TABLE {table}")


def _restrict_to_hospitals(conn: Connection, hospitals: Collection[str]) -> None:
    """Replace the temporary record views by views of the hospitals' patients only."""
    from bonepath.record.columns import TABLES

    wanted = ", ".join("'" + h.replace("'", "''") + "'" for h in sorted(hospitals))
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE _qc_patients AS SELECT pk FROM patients WHERE hospital_id IN ({wanted})"
    )
    for name, spec in TABLES.items():
        quoted = _quote(conn, name)
        columns = ", ".join(_quote(conn, c) for c in spec.column_names)
        conn.exec_driver_sql(f"ALTER VIEW {quoted} RENAME TO {_quote(conn, '_all_' + name)}")
        conn.exec_driver_sql(
            f"CREATE TEMP VIEW {quoted} AS SELECT {columns} FROM {_quote(conn, '_all_' + name)} "
            "WHERE pk IN (SELECT pk FROM _qc_patients)"
        )
