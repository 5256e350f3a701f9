"""The point-of-care executor: the same compiled plan, run in an in-memory SQLite.

One patient is a few dozen rows; DuckDB's fixed cost per operator (about a millisecond, for a
plan of about a thousand operators) dominates there, while SQLite's bytecode engine runs each
stage in well under a millisecond. The plan is the DuckDB one compiled for the SQLite dialect
(no rule is written twice); a differential test holds both executors to the same findings.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import sqlean

from bonepath.engine.plan import compiled_stages
from bonepath.record.columns import TABLES
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import Catalogue


def _date_delta(left: str | None, right: str | None) -> int | None:
    """Whole days ``left - right`` of two ISO dates (null-safe), as ibis's SQLite dialect expects."""
    if left is None or right is None:
        return None
    return (dt.date.fromisoformat(left[:10]) - dt.date.fromisoformat(right[:10])).days


def _sql_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class SQLiteRunner:
    """Runs the plan over a small set of records in one in-memory SQLite connection."""

    def __init__(self) -> None:
        self.catalogue: Catalogue = load_catalogue()
        self._stages = compiled_stages("sqlite")
        # every statement of a run stays prepared (about a hundred): see run_with_stages
        self._con = sqlean.connect(":memory:", check_same_thread=False, cached_statements=512)
        self._created: set[str] = set()
        # ibis's SQLite dialect computes date differences with this helper function
        self._con.create_function("_ibis_date_delta", 2, _date_delta, deterministic=True)
        self._lock = threading.Lock()
        for name, spec in TABLES.items():
            columns = ", ".join(f'"{c}"' for c in spec.column_names)
            self._con.execute(f'CREATE TABLE "{name}" ({columns})')
        self._con.execute('CREATE TABLE "context" ("pk", "as_of")')

    def run(
        self, columns: Mapping[str, Mapping[str, list[Any]]], context: Sequence[tuple[int, dt.date]]
    ) -> list[dict[str, Any]]:
        """The long findings rows for the patients and days in ``context``."""
        return self.run_with_stages(columns, context, ())[0]

    def stage_names(self) -> tuple[str, ...]:
        """The names of the plan's intermediate stages (``facts_N``, ``shared_…``)."""
        return tuple(name for name, _ in self._stages[:-1])

    def run_with_stages(
        self,
        columns: Mapping[str, Mapping[str, list[Any]]],
        context: Sequence[tuple[int, dt.date]],
        stages: Sequence[str],
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """:meth:`run`, plus the rows of the named intermediate stages of the same run (the
        per-lesion scores and the facts the MDT case summary shows, read under one lock)."""
        with self._lock:
            con = self._con
            for name, spec in TABLES.items():
                con.execute(f'DELETE FROM "{name}"')
                rows = list(zip(*(columns[name][c] for c in spec.column_names), strict=True))
                if rows:
                    marks = ", ".join("?" for _ in spec.column_names)
                    con.executemany(
                        f'INSERT INTO "{name}" VALUES ({marks})',
                        [[_sql_value(v) for v in row] for row in rows],
                    )
            con.execute('DELETE FROM "context"')
            con.executemany(
                'INSERT INTO "context" VALUES (?, ?)',
                [(pk, day.isoformat()) for pk, day in context],
            )
            for name, sql in self._stages[:-1]:
                # each stage's table is created once and then emptied and refilled: the schema
                # stays as it is, so SQLite keeps every statement prepared (dropping and
                # re-creating the tables re-prepared all of them on each run: most of a
                # point-of-care evaluation's time, issue 18 CDS latency)
                if name in self._created:
                    con.execute(f'DELETE FROM temp."{name}"')
                    con.execute(f'INSERT INTO temp."{name}" {sql}')
                else:
                    con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
                    con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
                    self._created.add(name)
            cursor = con.execute(self._stages[-1][1])
            names = [d[0] for d in cursor.description]
            findings = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            known = set(self.stage_names())
            extra: dict[str, list[dict[str, Any]]] = {}
            for stage in stages:
                if stage not in known:
                    raise KeyError(f"no stage {stage!r}")
                cursor = con.execute(f'SELECT * FROM temp."{stage}"')
                cols = [d[0] for d in cursor.description]
                extra[stage] = [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]
            return findings, extra
