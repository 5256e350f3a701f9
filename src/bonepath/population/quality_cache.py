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

An evaluation is also stale once the store changed (:func:`generation`: a patient written or
removed) and is at least ``min_age_s`` old — served, and re-evaluated in the background, as
after ``ttl_s``. What was built from an evaluation (each scope's cut, the printable report per
scope and language: :meth:`QualityEvaluation.memo`) is built again by the background
re-evaluation before the new evaluation replaces the old one, so no look after a refresh pays
for it. :meth:`QualityCache.get` with ``wait=False`` answers None at once for a period not
evaluated yet and evaluates it in the background (the page says it is being computed).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select

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
from bonepath.store.schema import patients

if TYPE_CHECKING:
    from bonepath.quality.outcomes import Outcomes

_log = logging.getLogger(__name__)

TTL_S: Final = 300.0
"""An evaluation is fresh for 5 minutes; after that it is served while it is re-evaluated."""

MIN_AGE_S: Final = 60.0
"""A store change makes an evaluation stale once it is this old (writes all day long cost at
most one background re-evaluation a minute per period)."""

BUILDS: Final[Counter[str]] = Counter()
"""What this process built, by kind (``evaluation``, ``printed``): for the operations log and
the tests that hold a warmed page to be served from the cache."""

Generation = tuple[int, object, object]
T = TypeVar("T")


def generation(store: Store) -> Generation:
    """Changes whenever a patient is written or removed (one aggregate query, as the
    worklist's ``store_generation``)."""
    with store.engine.connect() as conn:
        count, max_pk, last = conn.execute(
            select(func.count(), func.max(patients.c.pk), func.max(patients.c.imported_at))
        ).one()
    return (int(count), max_pk, str(last) if last is not None else None)


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
    generation: Generation | None = None
    """The store's :func:`generation` read before the evaluation (None: not known)."""
    _reports: dict[tuple[str, ...], QualityReport] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Reports already cut, by scope (a second look at a scope costs nothing)."""
    _memo: dict[Hashable, tuple[Callable[[QualityEvaluation], Any], Any]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """What was built from this evaluation (the printable reports), with how to build it."""

    def memo(self, key: Hashable, build: Callable[[QualityEvaluation], T]) -> T:
        """``build(self)``, once per ``key``; the background re-evaluation builds it again."""
        done = self._memo.get(key)
        if done is not None:
            return cast(T, done[1])
        value = build(self)
        self._memo[key] = (build, value)
        return value

    def built(self, key: Hashable) -> bool:
        """Whether :meth:`memo` holds ``key`` (a look at it costs nothing)."""
        return key in self._memo

    def rebuild_from(self, older: QualityEvaluation) -> None:
        """Cut the scopes and build what ``older`` had (before this one replaces it)."""
        for scope in list(older._reports):
            self.report(scope)
        for key, (build, _value) in list(older._memo.items()):
            try:
                self.memo(key, build)
            except Exception:  # built at the next look instead
                _log.exception("quality rebuild of %r failed", key)

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


def evaluate(
    store: Store, start: dt.date, end: dt.date, seen: Generation | None = None
) -> QualityEvaluation:
    """Run the quality stages once over the whole stored registry for ``[start, end]``
    (``seen``: the store's generation read before, else read here)."""
    from bonepath.population.quality import read_registry
    from bonepath.quality.run import run_stages

    seen = seen if seen is not None else generation(store)
    BUILDS["evaluation"] += 1
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
        seen,
    )


def readers(store: Store, evaluation: QualityEvaluation, hospitals: tuple[str, ...]) -> Any:
    """QC-11 by reading radiologist (:func:`bonepath.population.qc11_readers.qc11_by_reader`)
    of ``hospitals`` over the evaluation's period, read once per evaluation (a store query of
    every chest CT: ≈ 1.5 s for the whole registry at 100,000 patients)."""

    def build(ev: QualityEvaluation) -> Any:
        from bonepath.population.qc11_readers import qc11_by_reader

        return qc11_by_reader(store.engine, ev.start, ev.end, hospitals)

    return evaluation.memo(("qc11_readers", tuple(hospitals)), build)


def printable(
    store: Store, evaluation: QualityEvaluation, hospitals: tuple[str, ...], lang: str
) -> str:
    """The printable report (HTML with QC-13..15, QC-11 by reader and the outcome analyses) of
    ``hospitals`` in ``lang``, built once per evaluation (:meth:`QualityEvaluation.memo`)."""

    def build(ev: QualityEvaluation) -> str:
        from bonepath.population.mdt_quality import with_mdt
        from bonepath.population.qc11_readers import with_readers
        from bonepath.quality.report import render_html

        BUILDS["printed"] += 1
        report = with_readers(with_mdt(ev.report(hospitals), store.engine), store.engine)
        return render_html(report, lang, ev.outcomes_of(hospitals))

    return evaluation.memo(("printed", tuple(hospitals), lang), build)


@dataclass(slots=True)
class _Entry:
    evaluation: QualityEvaluation
    at: float
    refreshing: bool = False


Key = tuple[int, str, dt.date, dt.date]


@dataclass
class QualityCache:
    """Evaluations per (store, period), fresh for ``ttl_s`` and while the store is unchanged
    (or younger than ``min_age_s``), then served while re-evaluated in the background."""

    ttl_s: float = TTL_S
    size: int = 6
    min_age_s: float = MIN_AGE_S
    _entries: dict[Key, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _busy: dict[Key, threading.Lock] = field(default_factory=dict)
    _pending: set[Key] = field(default_factory=set)
    """Periods being evaluated in the background for a caller that did not wait."""

    @staticmethod
    def _key(store: Store, start: dt.date, end: dt.date) -> Key:
        url = store.engine.url.render_as_string(hide_password=True)
        return (id(store), url, start, end)

    def _stale(self, entry: _Entry, now: float, store: Store) -> bool:
        age = now - entry.at
        if age >= self.ttl_s:
            return True
        seen = entry.evaluation.generation
        return age >= self.min_age_s and seen is not None and generation(store) != seen

    def peek(self, store: Store, start: dt.date, end: dt.date) -> QualityEvaluation | None:
        """The cached evaluation of the period (fresh or not), or None; starts nothing."""
        with self._lock:
            entry = self._entries.get(self._key(store, start, end))
        return entry.evaluation if entry is not None else None

    def computing(self, store: Store, start: dt.date, end: dt.date) -> bool:
        """Whether the period is being evaluated for the first time in the background."""
        with self._lock:
            return self._key(store, start, end) in self._pending

    def get(
        self, store: Store, start: dt.date, end: dt.date, *, wait: bool = True
    ) -> QualityEvaluation | None:
        """The period's evaluation; a period not evaluated yet is evaluated here (``wait``) or
        in a background thread, answering None at once (``wait=False``)."""
        key = self._key(store, start, end)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            if not entry.refreshing and self._stale(entry, now, store):
                with self._lock:
                    start_it = not entry.refreshing
                    entry.refreshing = True
                if start_it:
                    threading.Thread(
                        target=self._refresh,
                        args=(store, start, end, entry.evaluation),
                        name="quality-refresh",
                        daemon=True,
                    ).start()
            return entry.evaluation
        if not wait:
            with self._lock:
                if key in self._pending:
                    return None
                self._pending.add(key)
            threading.Thread(
                target=self._first, args=(store, start, end), name="quality-first", daemon=True
            ).start()
            return None
        return self._evaluate(key, store, start, end)

    def _evaluate(self, key: Key, store: Store, start: dt.date, end: dt.date) -> QualityEvaluation:
        with self._lock:
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:  # one evaluation per key at a time; the others wait for it
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None:
                return entry.evaluation
            return self._store_entry(key, evaluate(store, start, end))

    def _first(self, store: Store, start: dt.date, end: dt.date) -> None:
        key = self._key(store, start, end)
        try:
            self._evaluate(key, store, start, end)
        except Exception:  # the next look starts it again
            _log.exception("quality evaluation of %s – %s failed", start, end)
        finally:
            with self._lock:
                self._pending.discard(key)

    def _store_entry(self, key: Key, evaluation: QualityEvaluation) -> QualityEvaluation:
        with self._lock:
            self._entries[key] = _Entry(evaluation, time.monotonic())
            while len(self._entries) > self.size:
                oldest = min(self._entries, key=lambda k: self._entries[k].at)
                del self._entries[oldest]
        return evaluation

    def _refresh(
        self, store: Store, start: dt.date, end: dt.date, older: QualityEvaluation
    ) -> None:
        key = self._key(store, start, end)
        try:
            fresh = evaluate(store, start, end)
            fresh.rebuild_from(older)  # the cuts and printable reports, before it is served
            self._store_entry(key, fresh)
        except Exception:  # the old evaluation stays; the next look tries again
            _log.exception("quality re-evaluation failed")
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.refreshing = False

    def warm(
        self,
        store: Store,
        today: dt.date,
        langs: tuple[str, ...] = ("zh", "en"),
        stop: Callable[[], bool] = lambda: False,
    ) -> QualityEvaluation:
        """Evaluate the dashboard's default period (1 January to today) ahead of its users,
        then build what its first looks would: the printable report of the whole registry (in
        ``langs``), each hospital's cut (the one-hospital dashboards) and each hospital's
        printable report in the first language; ``stop()`` true ends it between two builds
        (the server is shutting down)."""
        evaluation = self.get(store, dt.date(today.year, 1, 1), today)
        assert evaluation is not None  # waited for
        evaluation.report()
        readers(store, evaluation, ())
        for lang in langs:
            printable(store, evaluation, (), lang)
        hospitals = sorted({str(h) for h in evaluation.people["hospital_id"].to_pylist() if h})
        for hospital in hospitals:
            if stop():
                return evaluation
            evaluation.report((hospital,))
        for hospital in hospitals if langs else ():
            if stop():
                return evaluation
            printable(store, evaluation, (hospital,), langs[0])
        return evaluation

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._pending.clear()


CACHE: Final = QualityCache()
"""The process's cache (the quality pages and the warm-up share it)."""
