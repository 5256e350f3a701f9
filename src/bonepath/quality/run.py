"""Run the quality stages in an in-process DuckDB over Arrow tables (the embedded backend)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from bonepath.quality.compute import (
    MDT_STAGE,
    OUTCOMES,
    REPLAY,
    STRATA_TABLE,
    TASKS,
    UNITS,
    Period,
    quality_stages,
    replay_stages,
)
from bonepath.quality.results import QualityReport, build_report

if TYPE_CHECKING:
    from bonepath.quality.outcomes import Outcomes


def run_stages(
    tables: Mapping[str, pa.Table],
    period: Period,
    keep: Iterable[str] = (),
    *,
    everyone: bool = False,
) -> dict[str, pa.Table]:
    """Every stage over the record ``tables``; returns ``qc_strata`` and the stages in ``keep``
    (the outcome stage runs only when kept). An ``adh03_tasks`` table among ``tables`` (the
    reminder service's ADH-03 tasks) makes QC-08 complete."""
    wanted = {STRATA_TABLE, *keep}
    replay = _replay(tables, period)
    con = duckdb.connect(":memory:")
    try:
        for name, table in tables.items():
            con.register(name, table)
        con.register(REPLAY, replay)
        out: dict[str, pa.Table] = {}
        stages = quality_stages(
            period,
            "duckdb",
            outcomes=OUTCOMES in wanted,
            everyone=everyone,
            tasks=TASKS in tables,
            replay=True,
        )
        for name, sql in stages:
            result = con.sql(sql).to_arrow_table()
            con.register(name, result)
            if name in wanted:
                out[name] = result
        return out
    finally:
        con.close()


def _replay(tables: Mapping[str, pa.Table], period: Period) -> pa.Table:
    """QC-09's MDT-01 triggers on the days a transient trigger arose (a first engine pass)."""
    con = duckdb.connect(":memory:")
    try:
        for name, table in tables.items():
            con.register(name, table)
        for name, sql in replay_stages(period, "duckdb"):
            result = con.sql(sql).to_arrow_table()
            con.register(name, result)
            if name == MDT_STAGE:
                return result.select(["pk", "mdt_any", "mdt_first_trigger"])
        raise AssertionError(f"the engine has no stage {MDT_STAGE}")
    finally:
        con.close()


def compute_quality(
    tables: Mapping[str, pa.Table],
    start: dt.date,
    end: dt.date,
    hospitals: Iterable[str] = (),
) -> QualityReport:
    """QC-01..QC-11 over the registry held in ``tables`` (the layout of record/columns.py).

    ``hospitals`` only labels the report: restrict ``tables`` to them before (the store
    reader does, :func:`bonepath.population.quality.measure_registry`).
    """
    period = Period(start, end)
    rows = run_stages(tables, period)[STRATA_TABLE].to_pylist()
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
