"""Evaluate records by the guideline: one patient at the point of care, or many at once.

Both paths run the same compiled :class:`~bonepath.engine.plan.Plan` in an in-process DuckDB:
the record tables are handed over as Arrow tables, the facts query runs, then the findings
query. A single patient costs one small columnar query, not a Python walk over rules.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from bonepath.engine.findings import Evaluation, Finding
from bonepath.engine.plan import Plan, compiled_stages, slot_columns
from bonepath.engine.sqlite_runner import SQLiteRunner
from bonepath.record.columns import TABLES, ColumnType, to_columns
from bonepath.record.model import Record
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import VALUE_TYPES, Catalogue, ValueType
from bonepath.rules.expr import split_list
from bonepath.vocab import FindingKind, Severity

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
    return {
        name: pa.table(dict(columns[name]), schema=arrow_schema(name)) for name in TABLES
    }


def context_table(pairs: Sequence[tuple[int, dt.date]]) -> pa.Table:
    return pa.table(
        {"pk": [pk for pk, _ in pairs], "as_of": [d for _, d in pairs]},
        schema=pa.schema([("pk", pa.int64()), ("as_of", pa.date32())]),
    )


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
        row = self._con.execute("SELECT current_setting('threads')").fetchone()
        self._threads = int(row[0]) if row else 1
        self._lock = threading.Lock()

    def run(self, tables: Mapping[str, pa.Table], context: pa.Table) -> pa.Table:
        """The long findings table for the patients and days in ``context``."""
        with self._lock:
            con = self._con
            # one patient: a single thread avoids scheduling work across cores for a few rows
            small = context.num_rows <= 64
            con.execute(f"SET threads={1 if small else self._threads}")
            registered = [*tables, "context"]
            for name, table in tables.items():
                con.register(name, table)
            con.register("context", context)
            try:
                result = None
                for name, sql in self._stages:
                    result = con.sql(sql).to_arrow_table()
                    con.register(name, result)
                    registered.append(name)
                assert result is not None
                return result
            finally:
                for name in registered:
                    con.unregister(name)


_default_runner: DuckDBRunner | None = None
_runner_lock = threading.Lock()


def default_runner() -> DuckDBRunner:
    global _default_runner
    with _runner_lock:
        if _default_runner is None:
            _default_runner = DuckDBRunner()
        return _default_runner


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):  # SQLite keeps dates as ISO text
        return dt.date.fromisoformat(value[:10])
    return value  # type: ignore[no-any-return]


def _convert(value: Any, typ: ValueType) -> Any:
    if value is None:
        return None
    if typ is ValueType.DATE:
        return _as_date(value)
    if typ is ValueType.FLOAT:
        return round(float(value), 6)
    if typ is ValueType.INT:
        return int(value)
    if typ is ValueType.BOOL:
        return bool(value)
    if typ is ValueType.STRINGS:
        return split_list(value)
    return value


def findings_from_rows(
    rows: Iterable[Mapping[str, Any]], catalogue: Catalogue
) -> dict[int, list[Finding]]:
    """Long-table rows -> findings per patient key, each list in catalogue order."""
    out: dict[int, list[Finding]] = {}
    for row in rows:
        r = catalogue[row["rule"]]
        kind = FindingKind(row["kind"])
        slots = slot_columns(r)
        values = {key: _convert(row[slots[key]], VALUE_TYPES[key]) for key in r.values_for(kind)}
        finding = Finding(
            rule=r.id,
            kind=kind,
            severity=Severity(row["severity"]),
            title_zh=r.title.zh,
            title_en=r.title.en,
            due=_as_date(row["due"]),
            values=values,
            sources=tuple(r.rendered_sources),
            item=row["item"],
            order=catalogue.order(r.id),
        )
        out.setdefault(int(row["pk"]), []).append(finding)
    for findings in out.values():
        findings.sort(key=Finding.sort_key)
    return out


_sqlite_runner: SQLiteRunner | None = None


def point_of_care_runner() -> SQLiteRunner:
    global _sqlite_runner
    with _runner_lock:
        if _sqlite_runner is None:
            _sqlite_runner = SQLiteRunner()
        return _sqlite_runner


def evaluate(record: Record, as_of: dt.date) -> Evaluation:
    """Evaluate one record as it stood on ``as_of`` (rules.md VAL-01), at point-of-care speed.

    Runs the compiled plan in SQLite (:mod:`bonepath.engine.sqlite_runner`); the findings are
    those :func:`evaluate_many` gives for the same pair (tested).
    """
    runner = point_of_care_runner()
    rows = runner.run(to_columns([(1, record)]), [(1, as_of)])
    by_patient = findings_from_rows(rows, runner.catalogue)
    return Evaluation(
        patient=record.id,
        source=record.source,
        as_of=as_of,
        rules_version=runner.catalogue.version,
        findings=tuple(by_patient.get(1, [])),
    )


def evaluate_many(
    items: Sequence[tuple[Record, dt.date]], *, runner: DuckDBRunner | None = None
) -> list[Evaluation]:
    """Evaluate many (record, as_of) pairs in one columnar pass; same results as one by one.

    The same record may appear with several days (replay); each pair is evaluated on its own.
    """
    runner = runner or default_runner()
    keyed = [(pk, record) for pk, (record, _) in enumerate(items, start=1)]
    tables = to_arrow(to_columns(keyed))
    context = context_table([(pk, day) for pk, (_, day) in enumerate(items, start=1)])
    by_patient = findings_from_rows(runner.run(tables, context).to_pylist(), runner.catalogue)
    return [
        Evaluation(
            patient=record.id,
            source=record.source,
            as_of=day,
            rules_version=runner.catalogue.version,
            findings=tuple(by_patient.get(pk, [])),
        )
        for pk, (record, day) in enumerate(items, start=1)
    ]
