"""The quality pages' evaluation, computed once and cut per hospital (issue 15 item 8).

The indicators of a registry are counted from *units* — one row per (measure, patient,
anchor day) with its numerator flag — and every unit depends on one patient's record only.
So the stages run once over the whole registry for a period (:func:`evaluate`: the record
tables read, the engine facts, QC-09's replay, every measure's units and the outcome inputs)
and a hospital's, a scope's or the whole registry's report is then a filter of those units by
patient and the strata aggregation alone (:meth:`QualityEvaluation.report`: milliseconds to a
few hundred at 100,000 patients instead of the whole pass). ``tests/population/
test_quality_cache.py`` holds the cut reports equal to :func:`measure_registry` of the scope.

:class:`QualityCache` keeps the evaluations (per store and period) for ``ttl_s``; an older
one is still served while one background thread re-evaluates it (indicators move slowly; the
page says the time it was computed), and :meth:`QualityCache.warm` fills it ahead of the first
user (the worklist warm-up calls it when ``BONEPATH_WORKLIST_WARMUP`` is on).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from bonepath.quality.compute import (
    OUTCOMES,
    STRATUM_COLUMNS,
    TASKS,
    UNITS,
    Period,
    strata_expr,
)
from bonepath.quality.results import QualityReport, build_report
from bonepath.store.repository import Store

if TYPE_CHECKING:
    from bonepath.quality.outcomes import Outcomes

_log = logging.getLogger(__name__)

TTL_S: Final = 300.0
"""An evaluation is fresh for 5 minutes; after that it is served while it is re-evaluated."""


@dataclass(frozen=True, slots=True)
class QualityEvaluation:
    """Every unit and outcome input of one registry over one period."""

    start: dt.date
    end: dt.date
    units: pa.Table
    outcomes: pa.Table
    people: pa.Table
    """``pk`` and the stratum columns of every patient (``hospital_id``, ``city_tier`` …)."""
    tasks: bool
    computed_at: dt.datetime
    _reports: dict[tuple[str, ...], QualityReport] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Reports already cut, by scope (a second look at a scope costs nothing)."""

    def _pks(self, hospitals: Collection[str]) -> pa.Array | None:
        if not hospitals:
            return None
        mask = pc.is_in(self.people["hospital_id"], value_set=pa.array(sorted(hospitals)))
        return self.people.filter(mask)["pk"].combine_chunks()

    def report(self, hospitals: Collection[str] = ()) -> QualityReport:
        """The indicators of ``hospitals`` (every hospital when empty)."""
        scope = tuple(sorted(hospitals))
        done = self._reports.get(scope)
        if done is not None:
            return done
        pks = self._pks(hospitals)
        units = self.units
        people = self.people
        if pks is not None:
            units = units.filter(pc.is_in(units["pk"], value_set=pks))
            people = people.filter(pc.is_in(people["pk"], value_set=pks))
        rows = _strata(units, people)
        report = build_report(rows, self.start, self.end, tuple(hospitals), tasks=self.tasks)
        self._reports[scope] = report
        return report

    def outcomes_of(self, hospitals: Collection[str] = ()) -> Outcomes:
        """The outcome analyses (KM, SREs) of ``hospitals``."""
        from bonepath.quality.outcomes import analyse

        pks = self._pks(hospitals)
        table = self.outcomes
        if pks is not None:
            table = table.filter(pc.is_in(table["pk"], value_set=pks))
        return analyse(table)


_STRATA_SQL: dict[str, str] = {}


def _strata(units: pa.Table, people: pa.Table) -> list[dict[str, object]]:
    import ibis

    sql = _STRATA_SQL.get("duckdb")
    if sql is None:
        sql = _STRATA_SQL.setdefault("duckdb", str(ibis.to_sql(strata_expr(), dialect="duckdb")))
    con = duckdb.connect(":memory:")
    try:
        con.register(UNITS, units)
        con.register("patients", people)
        rows: list[dict[str, object]] = con.sql(sql).to_arrow_table().to_pylist()
        return rows
    finally:
        con.close()


def evaluate(store: Store, start: dt.date, end: dt.date) -> QualityEvaluation:
    """Run the quality stages once over the whole stored registry for ``[start, end]``."""
    from bonepath.population.quality import read_registry
    from bonepath.quality.run import run_stages

    tables = read_registry(store, ())
    stages = run_stages(tables, Period(start, end), keep=(UNITS, OUTCOMES))
    people = tables["patients"].select(["pk", *dict.fromkeys(STRATUM_COLUMNS.values())])
    return QualityEvaluation(
        start,
        end,
        stages[UNITS],
        stages[OUTCOMES],
        people,
        TASKS in tables,
        dt.datetime.now(dt.UTC),
    )


@dataclass(slots=True)
class _Entry:
    evaluation: QualityEvaluation
    at: float
    refreshing: bool = False


@dataclass
class QualityCache:
    """Evaluations per (store, period), fresh for ``ttl_s``, then served while re-evaluated."""

    ttl_s: float = TTL_S
    size: int = 6
    _entries: dict[tuple[int, str, dt.date, dt.date], _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _busy: dict[tuple[int, str, dt.date, dt.date], threading.Lock] = field(default_factory=dict)

    @staticmethod
    def _key(store: Store, start: dt.date, end: dt.date) -> tuple[int, str, dt.date, dt.date]:
        url = store.engine.url.render_as_string(hide_password=True)
        return (id(store), url, start, end)

    def get(self, store: Store, start: dt.date, end: dt.date) -> QualityEvaluation:
        key = self._key(store, start, end)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if now - entry.at >= self.ttl_s and not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(
                        target=self._refresh, args=(store, start, end), daemon=True
                    ).start()
                return entry.evaluation
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:  # one evaluation per key at a time; the others wait for it
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None:
                return entry.evaluation
            return self._store_entry(key, evaluate(store, start, end))

    def _store_entry(
        self, key: tuple[int, str, dt.date, dt.date], evaluation: QualityEvaluation
    ) -> QualityEvaluation:
        with self._lock:
            self._entries[key] = _Entry(evaluation, time.monotonic())
            while len(self._entries) > self.size:
                oldest = min(self._entries, key=lambda k: self._entries[k].at)
                del self._entries[oldest]
        return evaluation

    def _refresh(self, store: Store, start: dt.date, end: dt.date) -> None:
        key = self._key(store, start, end)
        try:
            self._store_entry(key, evaluate(store, start, end))
        except Exception:  # the old evaluation stays; the next look tries again
            _log.exception("quality re-evaluation failed")
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.refreshing = False

    def warm(self, store: Store, today: dt.date) -> None:
        """Evaluate the dashboard's default period (1 January to today) ahead of its users."""
        self.get(store, dt.date(today.year, 1, 1), today)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE: Final = QualityCache()
"""The process's cache (the quality pages and the warm-up share it)."""
