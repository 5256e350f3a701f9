"""Run the quality stages in an in-process DuckDB over Arrow tables (the embedded backend)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import duckdb
import pyarrow as pa

from bonepath.quality.compute import STRATA_TABLE, UNITS, Period, quality_stages
from bonepath.quality.results import QualityReport, build_report


def run_stages(
    tables: Mapping[str, pa.Table], period: Period, keep: Iterable[str] = ()
) -> dict[str, pa.Table]:
    """Every stage over the record ``tables``; returns ``qc_strata`` and the stages in ``keep``."""
    wanted = {STRATA_TABLE, *keep}
    con = duckdb.connect(":memory:")
    try:
        for name, table in tables.items():
            con.register(name, table)
        out: dict[str, pa.Table] = {}
        for name, sql in quality_stages(period, "duckdb"):
            result = con.sql(sql).to_arrow_table()
            con.register(name, result)
            if name in wanted:
                out[name] = result
        return out
    finally:
        con.close()


def compute_quality(
    tables: Mapping[str, pa.Table],
    start: dt.date,
    end: dt.date,
    hospitals: Iterable[str] = (),
) -> QualityReport:
    """QC-01..QC-10 over the registry held in ``tables`` (the layout of record/columns.py).

    ``hospitals`` only labels the report: restrict ``tables`` to them before (the store
    reader does, :func:`bonepath.population.quality.measure_registry`).
    """
    period = Period(start, end)
    rows = run_stages(tables, period)[STRATA_TABLE].to_pylist()
    return build_report(rows, start, end, hospitals)


def units_table(tables: Mapping[str, pa.Table], start: dt.date, end: dt.date) -> pa.Table:
    """Every denominator unit ``(measure, pk, anchor, num)`` (for drill-down and tests)."""
    return run_stages(tables, Period(start, end), keep=(UNITS,))[UNITS]
