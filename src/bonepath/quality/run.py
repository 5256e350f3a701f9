"""Run the quality stages in an in-process DuckDB over Arrow tables (the embedded backend).

The registry is evaluated a part of at most :data:`QUALITY_CHUNK_PATIENTS` patients at a time
(a range of patient keys, :func:`bonepath.population.chunks.patient_chunks`, or a snapshot
read part by part, :func:`bonepath.population.quality.snapshot_quality`), and the parts'
results are put together (:func:`run_parts`). Every stage before ``qc_strata`` is per patient:
each of its rows depends on one patient's rows only (the engine's facts and triggers, the
QC-09 replay days, every measure's units, the outcome inputs), so the parts' rows are the
whole's. ``qc_strata`` counts units per (measure, stratum, value) — ``numerator`` a sum of
0/1, ``known`` and ``denominator`` counts of units, never a count of distinct patients, a
median or a percentile — so the whole's counts are the sums of the parts' (tested against one
part). DuckDB's working memory then follows the part, not the registry.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from bonepath.engine.plan import finished, last_uses
from bonepath.quality.compute import (
    MDT_STAGE,
    OUTCOMES,
    REPLAY,
    REPLAY_DAYS,
    REPLAY_KEYS,
    STRATA_TABLE,
    TASKS,
    UNITS,
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
from bonepath.record.columns import TABLES as RECORD_TABLES
from bonepath.rules.frame import DATED_TABLES

if TYPE_CHECKING:
    from bonepath.quality.outcomes import Outcomes

QUALITY_CHUNK_PATIENTS: Final = 50_000
"""Patients per part of the quality pass (two side by side: 3.1 GiB peak for 1,000,000 patients
read from a snapshot, the replay days' rows included; bench/README.md, issue 19, session 10)."""

_STRATA_SUM: Final = (
    'SELECT measure, "by", "value", sum(numerator) AS numerator, sum(known) AS known, '
    'sum(denominator) AS denominator FROM parts GROUP BY measure, "by", "value"'
)
"""The strata of the whole from the parts' strata (NULL ``by`` / ``value`` group together)."""


def run_stages(
    tables: Mapping[str, pa.Table],
    period: Period,
    keep: Iterable[str] = (),
    *,
    everyone: bool = False,
    chunk_patients: int = QUALITY_CHUNK_PATIENTS,
    workers: int | None = None,
) -> dict[str, pa.Table]:
    """Every stage over the record ``tables``; returns ``qc_strata`` and the stages in ``keep``
    (the outcome stage runs only when kept). An ``adh03_tasks`` table among ``tables`` (the
    reminder service's ADH-03 tasks) makes QC-08 complete. The patients are evaluated
    ``chunk_patients`` at a time (:func:`run_parts`)."""
    from bonepath.population.chunks import patient_chunks

    parts = patient_chunks(tables, chunk_patients)
    return run_parts(parts, period, keep, everyone=everyone, workers=workers)


def run_parts(
    parts: Iterable[Mapping[str, pa.Table]],
    period: Period,
    keep: Iterable[str] = (),
    *,
    everyone: bool = False,
    workers: int | None = None,
) -> dict[str, pa.Table]:
    """:func:`run_stages` of a registry given as parts, each the record tables of a set of
    patients no other part has: ``qc_strata`` summed over the parts, the per-patient stages in
    ``keep`` (units, outcomes, engine stages) the parts' rows together. ``workers`` parts are
    evaluated side by side, each on a one-thread DuckDB connection (default
    :data:`~bonepath.population.chunks.PART_WORKERS`; a single part uses every core)."""
    from bonepath.engine.duckdb_runner import arrow_schema
    from bonepath.population.chunks import PART_WORKERS, map_parts
    from bonepath.record.columns import TABLES

    wanted = {STRATA_TABLE, *keep}
    pieces: dict[str, list[pa.Table]] = {name: [] for name in wanted}
    replay = replay_stages(period, "duckdb")
    compiling = threading.Lock()  # ibis compiles in one thread at a time

    def work(part: Mapping[str, pa.Table], alone: bool) -> dict[str, pa.Table]:
        with compiling:
            stages = quality_stages(
                period,
                "duckdb",
                outcomes=OUTCOMES in wanted,
                everyone=everyone,
                tasks=TASKS in part,
                replay=True,
            )
        return _run_part(part, replay, stages, wanted, threads=None if alone else 1)

    for result in map_parts(parts, work, PART_WORKERS if workers is None else workers):
        for name, table in result.items():
            pieces[name].append(table)
    if not pieces[STRATA_TABLE]:  # no part (nobody selected): empty tables, for the columns
        empty = {name: arrow_schema(name).empty_table() for name in TABLES}
        for name, table in work(empty, True).items():
            pieces[name].append(table)
    out: dict[str, pa.Table] = {}
    for name, tables in pieces.items():
        if len(tables) == 1:
            out[name] = tables[0]
        elif name == STRATA_TABLE:
            out[name] = _sum_strata(tables)
        else:
            out[name] = pa.concat_tables(tables)
    return out


def _sum_strata(parts: list[pa.Table]) -> pa.Table:
    """Numerator, known and denominator of every (measure, stratum, value) over the parts."""
    schema = parts[0].schema
    con = duckdb.connect(":memory:")
    try:
        con.register("parts", pa.concat_tables(parts))
        return con.sql(_STRATA_SUM).to_arrow_table().cast(schema)
    finally:
        con.close()


def _connect(threads: int | None) -> duckdb.DuckDBPyConnection:
    if threads is None:
        return duckdb.connect(":memory:")
    return duckdb.connect(":memory:", config={"threads": threads})


def _run_part(
    tables: Mapping[str, pa.Table],
    replay_sql: Iterable[tuple[str, str]],
    stages: Iterable[tuple[str, str]],
    wanted: set[str],
    *,
    threads: int | None = None,
) -> dict[str, pa.Table]:
    """The ``wanted`` stages over one part's record ``tables``, on ``threads`` DuckDB threads
    (default all).

    One engine run evaluates the part's patients on their day of ``stages``' context and, for
    QC-09, on the replay days of ``replay_sql`` (its context stage; its engine stages are
    ``stages``' own): each replay day is a patient of its own under the key
    ``pk + i * stride`` (i ≥ 1; :func:`~bonepath.quality.compute.replay_keys_sql`), over
    copies of the record rows dated up to that day. After the engine the replay keys'
    triggers become :data:`REPLAY` and every engine result keeps the patients' own rows
    (keys below ``stride``), so the measures read what two separate runs gave — for one
    engine run's fixed cost instead of two.
    """
    (first, days_sql), *replay_engine = replay_sql
    (context_name, context_sql), *rest = stages
    if first != "context" or context_name != "context":
        raise AssertionError("both stage lists begin with their context")
    engine = [name for name, _ in replay_engine]
    if [name for name, _ in rest[: len(engine)]] != engine or MDT_STAGE not in engine:
        raise AssertionError(f"the quality stages begin with the engine's, {MDT_STAGE} among them")
    con = _connect(threads)
    try:
        for name, table in tables.items():
            con.register(name, table)
        context = con.sql(context_sql).to_arrow_table()
        con.register(REPLAY_DAYS, con.sql(days_sql).to_arrow_table())
        con.register(REPLAY_KEYS, con.sql(replay_keys_sql(first=1)).to_arrow_table())
        row = con.sql(replay_stride_sql()).fetchone()
        stride = int(row[0]) if row is not None else 1
        for name in RECORD_TABLES:
            if name in tables:
                copies = con.sql(
                    replay_rekeyed_sql(
                        name, tables[name].column_names, stride, _quoted, dated=name in DATED_TABLES
                    )
                ).to_arrow_table()
                con.register(name, pa.concat_tables([tables[name], copies.cast(tables[name].schema)]))
        days = con.sql(replay_context_sql(stride)).to_arrow_table().cast(context.schema)
        con.register("context", pa.concat_tables([context, days]))
        for name in (REPLAY_DAYS, REPLAY_KEYS):
            con.unregister(name)

        out: dict[str, pa.Table] = {}
        ordered = list(rest)
        uses = last_uses([("context", context_sql), *ordered])
        held: dict[str, pa.Table] = {}
        for i, (name, sql) in enumerate(ordered, start=1):
            if i == len(engine) + 1:  # the engine is done: split its results
                _split_engine(con, tables, context, held, stride)
            result = con.sql(sql).to_arrow_table()
            con.register(name, result)
            held[name] = result
            if name in wanted:
                out[name] = result
            for done in finished(held, uses, i):
                if done != MDT_STAGE or i > len(engine):
                    con.unregister(done)
                    del held[done]
        return out
    finally:
        con.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _split_engine(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, pa.Table],
    context: pa.Table,
    held: dict[str, pa.Table],
    stride: int,
) -> None:
    """After the folded engine run: :data:`REPLAY` from the replay keys' MDT triggers; every
    engine result still read, the record tables and the context back to the patients' own."""
    con.register(REPLAY, con.sql(replay_result_sql(stride, folded=True)).to_arrow_table())
    for name, result in list(held.items()):
        if "pk" not in result.column_names:
            raise AssertionError(f"engine stage {name} has no pk to split the replay by")
        own = result.filter(pc.less(result["pk"], stride))
        con.register(name, own)
        held[name] = own
    for name, table in tables.items():
        con.register(name, table)
    con.register("context", context)


def compute_quality(
    tables: Mapping[str, pa.Table],
    start: dt.date,
    end: dt.date,
    hospitals: Iterable[str] = (),
    *,
    chunk_patients: int = QUALITY_CHUNK_PATIENTS,
) -> QualityReport:
    """QC-01..QC-11 over the registry held in ``tables`` (the layout of record/columns.py),
    ``chunk_patients`` patients at a time.

    ``hospitals`` only labels the report: restrict ``tables`` to them before (the store
    reader does, :func:`bonepath.population.quality.measure_registry`).
    """
    period = Period(start, end)
    rows = run_stages(tables, period, chunk_patients=chunk_patients)[STRATA_TABLE].to_pylist()
    return build_report(rows, start, end, hospitals, tasks=TASKS in tables)


def units_table(
    tables: Mapping[str, pa.Table], start: dt.date, end: dt.date, *, everyone: bool = False
) -> pa.Table:
    """Every denominator unit ``(measure, pk, anchor, num)`` (for drill-down and tests)."""
    return run_stages(tables, Period(start, end), keep=(UNITS,), everyone=everyone)[UNITS]


def outcome_table(tables: Mapping[str, pa.Table], start: dt.date, end: dt.date) -> pa.Table:
    """The per-patient inputs of the outcome analyses (:func:`~bonepath.quality.compute.outcomes_expr`)."""
    return run_stages(tables, Period(start, end), keep=(OUTCOMES,))[OUTCOMES]


def report_with_outcomes(
    tables: Mapping[str, pa.Table],
    start: dt.date,
    end: dt.date,
    hospitals: Iterable[str] = (),
) -> tuple[QualityReport, Outcomes]:
    """The indicators and the outcome analyses of one registry, from one run of the stages."""
    from bonepath.quality.outcomes import analyse

    stages = run_stages(tables, Period(start, end), keep=(OUTCOMES,))
    report = build_report(
        stages[STRATA_TABLE].to_pylist(), start, end, hospitals, tasks=TASKS in tables
    )
    return report, analyse(stages[OUTCOMES])
