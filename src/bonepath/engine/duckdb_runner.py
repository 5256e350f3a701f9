"""The batch executor: the compiled plan in an in-process DuckDB over Arrow tables.

Used for many patients at once (a registry, a test cohort): columnar and multi-threaded. For
one patient see :mod:`bonepath.engine.sqlite_runner`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from bonepath.engine.plan import FACTS_TABLE, Plan, compiled_stages, finished, last_uses
from bonepath.record.columns import TABLES, ColumnType
from bonepath.rules import load_catalogue

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
}


def arrow_schema(name: str) -> pa.Schema:
    return pa.schema([(col, _ARROW_TYPES[typ]) for col, typ in TABLES[name].columns])


def to_arrow(columns: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, pa.Table]:
    """Column buffers (:func:`bonepath.record.columns.to_columns`) as typed Arrow tables."""
    return {name: pa.table(dict(columns[name]), schema=arrow_schema(name)) for name in TABLES}


def context_table(pairs: Sequence[tuple[int, dt.date]]) -> pa.Table:
    return pa.table(
        {"pk": [pk for pk, _ in pairs], "as_of": [d for _, d in pairs]},
        schema=pa.schema([("pk", pa.int64()), ("as_of", pa.date32())]),
    )


def _native_stages(stages: Sequence[tuple[str, str]]) -> frozenset[str]:
    """The stages kept as DuckDB tables rather than Arrow: the final facts table, which the
    findings stage reads once per rule. Every reference to a registered Arrow table is bound
    through Python (its schema exported again), which made binding the findings stage cost
    about as much as running it; a native table binds at once."""
    facts = [name for name, _ in stages if name.startswith(f"{FACTS_TABLE}_")]
    return frozenset(facts[-1:])


class DuckDBRunner:
    """Runs a plan over Arrow tables in one in-process DuckDB connection (thread-safe)."""

    def __init__(self, plan: Plan | None = None) -> None:
        if plan is None:
            self.catalogue = load_catalogue()
            self._stages = compiled_stages("duckdb")
        else:
            self.catalogue = plan.catalogue
            self._stages = plan.sql("duckdb")
        self._con = duckdb.connect(":memory:")
        self._native = _native_stages(self._stages)
        self._last_uses = last_uses(self._stages)
        row = self._con.execute("SELECT current_setting('threads')").fetchone()
        self._threads = int(row[0]) if row else 1
        self._lock = threading.Lock()

    def single_threaded(self) -> DuckDBRunner:
        """A runner of the same compiled plan on a connection of its own that uses one thread:
        for running parts of a registry side by side, one per core."""
        clone = DuckDBRunner.__new__(DuckDBRunner)
        clone.catalogue = self.catalogue
        clone._stages = self._stages
        clone._native = self._native
        clone._last_uses = self._last_uses
        clone._con = duckdb.connect(":memory:", config={"threads": 1})
        clone._threads = 1
        clone._lock = threading.Lock()
        return clone

    def _release(self, done: int, registered: list[str], created: list[str]) -> None:
        """Let go of the stage results no stage after ``done`` reads (the final result is
        kept): a part's peak memory is then its widest few stages, not all 35 at once."""
        con = self._con
        final = self._stages[-1][0]
        for names, drop in ((registered, False), (created, True)):
            for name in [n for n in finished(names, self._last_uses, done) if n != final]:
                if drop:
                    con.execute(f'DROP TABLE IF EXISTS "{name}"')
                else:
                    con.unregister(name)
                names.remove(name)

    def close(self) -> None:
        """Close the connection (a runner of :meth:`single_threaded` once its parts are done)."""
        with self._lock:
            self._con.close()

    def run(self, tables: Mapping[str, pa.Table], context: pa.Table) -> pa.Table:
        """The long findings table for the patients and days in ``context``."""
        with self._lock:
            con = self._con
            # one patient: a single thread avoids scheduling work across cores for a few rows
            small = context.num_rows <= 64
            con.execute(f"SET threads={1 if small else self._threads}")
            registered = [*tables, "context"]
            created: list[str] = []
            for name, table in tables.items():
                con.register(name, table)
            con.register("context", context)
            try:
                result = None
                for i, (name, sql) in enumerate(self._stages):
                    if name in self._native:
                        con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
                        created.append(name)
                    else:
                        result = con.sql(sql).to_arrow_table()
                        con.register(name, result)
                        registered.append(name)
                    self._release(i, registered, created)
                assert result is not None
                return result
            finally:
                for name in registered:
                    con.unregister(name)
                for name in created:
                    con.execute(f'DROP TABLE IF EXISTS "{name}"')
