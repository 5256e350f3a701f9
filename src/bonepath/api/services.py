"""What the JSON API and the pages do with patient data, free of any web framework.

Every function takes the caller's :class:`~bonepath.store.accounts.Principal` and applies
tenancy itself: a patient of a hospital not granted to the caller does not exist for them
(:class:`~bonepath.errors.NotFound`, HTTP 404, the same answer as for a patient that does not
exist, so ids cannot be probed). Writing an event builds the updated record v1 document,
parses it with :func:`bonepath.record.parse.parse_record` and upserts it through the store:
the same path and the same validation as ``bonepath import``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import func, or_, select

from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation, Finding
from bonepath.errors import InputError, NotFound, Problem, RecordRefused
from bonepath.interop.files import find_inputs, iter_inputs
from bonepath.interop.importer import Refusal, refusal_of
from bonepath.interop.raw import RawRecord
from bonepath.population.worklist import WorklistFilter, WorklistItem
from bonepath.record.model import EVENT_LISTS, Record
from bonepath.record.parse import parse_record
from bonepath.store.accounts import Principal
from bonepath.store.repository import Store
from bonepath.store.schema import patients

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bonepath.engine.duckdb_runner import DuckDBRunner
    from bonepath.population.registry import RegistryEvaluation

DOSE_SAFETY_RULES: Final[tuple[str, ...]] = (
    "BTA-08",
    "BTA-09",
    "SAFE-02",
    "SAFE-03",
    "SAFE-04",
    "SAFE-05",
    "SAFE-08",
)
"""Rules a BTA dose is checked against before it is saved: a second agent within 28 days
(BTA-08), the renal dose rule (BTA-09, dose above the CrCl recommendation), renal
deterioration and impairment (SAFE-02/03/04), the hypocalcaemia hold (SAFE-05) and the dental
check before a first dose (SAFE-08). Any of them firing on the would-be record, as of the dose
day, needs an explicit override reason."""

LABEL_MAX_MG: Final[Mapping[str, float]] = {
    "zoledronic_acid": 4.0,
    "ibandronate": 6.0,
    "incadronate": 10.0,
    "pamidronate": 90.0,
    "denosumab": 120.0,
}
"""The labelled single dose of each drug (rules.md VAL-02 refuses above twice it): a form or
API dose above it is refused outright, with no override (issue 15 item 4)."""
DRUG_ROUTES: Final[Mapping[str, str]] = {"denosumab": "sc"}
"""The route of each drug where it is not IV (denosumab is a subcutaneous injection)."""


def dose_refusals(record: Record, dose: Mapping[str, Any]) -> list[Problem]:
    """What no override can save: a dose above the label maximum, a route that does not fit
    the drug, a second dose of the same drug on the same day (paths ``/events/bta/-/...``)."""
    problems: list[Problem] = []
    drug, amount, route = dose.get("drug"), dose.get("dose_mg"), dose.get("route")
    where = "/events/bta/-"
    if isinstance(drug, str) and isinstance(amount, int | float) and drug in LABEL_MAX_MG:
        ceiling = LABEL_MAX_MG[drug]
        if amount > ceiling:
            problems.append(
                Problem(
                    f"{where}/dose_mg",
                    "DOSE_ABOVE_LABEL",
                    f"{amount:g} mg is above the labelled single dose of {drug} ({ceiling:g} mg)",
                    (f"<= {ceiling:g} mg",),
                )
            )
    if isinstance(drug, str) and isinstance(route, str) and drug in LABEL_MAX_MG:
        expected = DRUG_ROUTES.get(drug, "iv")
        if route != expected:
            problems.append(
                Problem(
                    f"{where}/route",
                    "WRONG_ROUTE",
                    f"{drug} is given {expected.upper()}, not {route.upper()}",
                    (expected,),
                )
            )
    day = str(dose.get("date", ""))
    if any(d.date.isoformat() == day and d.drug.value == drug for d in record.events.bta):
        problems.append(
            Problem(
                f"{where}/date",
                "DUPLICATE_DOSE",
                f"a dose of {drug} is already recorded on {day}",
            )
        )
    return problems


WEB_SOURCE_PREFIX: Final = "web:"


@dataclass(frozen=True, slots=True)
class PatientSummary:
    source: str
    id: str
    hospital: str | None
    department: str | None
    sex: str | None
    birth_date: dt.date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "id": self.id,
            "hospital": self.hospital,
            "department": self.department,
            "sex": self.sex,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
        }


def _visible(principal: Principal) -> list[Any]:
    hospitals = principal.hospital_filter()
    return [] if hospitals is None else [patients.c.hospital_id.in_(hospitals)]


def list_patients(
    store: Store,
    principal: Principal,
    *,
    query: str | None = None,
    hospital: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[PatientSummary]]:
    """The caller's patients (id or source containing ``query``), in (source, id) order."""
    where = _visible(principal)
    if hospital:
        where.append(patients.c.hospital_id == hospital)
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(patients.c.id.like(like, escape="\\"), patients.c.source.like(like, escape="\\"))
        )
    columns = (
        patients.c.source,
        patients.c.id,
        patients.c.hospital_id,
        patients.c.department,
        patients.c.sex,
        patients.c.birth_date,
    )
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(patients).where(*where)).scalar_one()
        rows = conn.execute(
            select(*columns)
            .where(*where)
            .order_by(patients.c.source, patients.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
    return int(total), [PatientSummary(*row) for row in rows]


def hospital_of(record: Record) -> str | None:
    return record.hospital.id if record.hospital else None


def load_patient(store: Store, principal: Principal, source: str, patient_id: str) -> Record:
    """The stored record, if it exists and its hospital is granted to the caller."""
    record = store.get_record(source, patient_id)
    if record is None or not principal.sees(hospital_of(record)):
        raise NotFound(f"no patient {source}/{patient_id}")
    return record


def stored_hospital(store: Store, source: str, patient_id: str) -> tuple[bool, str | None]:
    """Whether ``(source, id)`` is stored, and its hospital (no tenancy: for checks only)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(patients.c.hospital_id).where(
                patients.c.source == source, patients.c.id == patient_id
            )
        ).first()
    return (row is not None, row[0] if row else None)


# ---- writing an event ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoseCheck:
    """The findings of the would-be record as of the dose day, and the safety warnings."""

    evaluation: Evaluation
    warnings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "warnings": [w.to_json() for w in self.warnings],
            "findings": self.evaluation.to_json(),
        }


class SafetyOverrideRequired(InputError):
    """A dose the safety rules warn against was submitted without an override reason."""

    def __init__(self, check: DoseCheck) -> None:
        self.check = check
        rules = ", ".join(w.rule for w in check.warnings)
        super().__init__(f"the dose needs an override reason: {rules}")


def with_event(record: Record, family: str, event: Mapping[str, Any], today: dt.date) -> Record:
    """``record`` with ``event`` appended to ``events.<family>``, parsed like an import.

    Raises ``RecordRefused`` with JSON-path problems (e.g. ``/events/bta/3/dose_mg``).
    """
    if family not in EVENT_LISTS:
        raise RecordRefused(
            [Problem("/events", "UNKNOWN_EVENT_FAMILY", f"no event list {family!r}", EVENT_LISTS)]
        )
    if not isinstance(event, Mapping):
        raise RecordRefused(
            [Problem(f"/events/{family}/-", "NOT_AN_OBJECT", "an event is a JSON object")]
        )
    data = record.to_json_dict()
    events = data.setdefault("events", {})
    events.setdefault(family, []).append(dict(event))
    return parse_record(data, today=today)


def _event_day(event: Mapping[str, Any], today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(str(event.get("date")))
    except ValueError:
        return today


def check_dose(record: Record, dose: Mapping[str, Any], today: dt.date) -> DoseCheck:
    """Evaluate the record as if ``dose`` were given: the findings on the dose day and the
    :data:`DOSE_SAFETY_RULES` among them. Nothing is saved."""
    candidate = with_event(record, "bta", dose, today)
    evaluation = evaluate(candidate, _event_day(dose, today))
    warnings = tuple(f for f in evaluation.findings if f.rule in DOSE_SAFETY_RULES)
    return DoseCheck(evaluation, warnings)


@dataclass(frozen=True, slots=True)
class Written:
    record: Record
    status: str
    warnings: tuple[Finding, ...] = ()
    override_reason: str | None = None


def record_event(
    store: Store,
    principal: Principal,
    source: str,
    patient_id: str,
    family: str,
    event: Mapping[str, Any],
    *,
    today: dt.date,
    override_reason: str | None = None,
) -> Written:
    """Append an event to a patient the caller sees, validated and stored like an import.

    A BTA dose is first checked (:func:`check_dose`); when a safety rule fires, it is saved
    only with a non-empty ``override_reason`` (else :class:`SafetyOverrideRequired`).
    """
    record = load_patient(store, principal, source, patient_id)
    warnings: tuple[Finding, ...] = ()
    reason = (override_reason or "").strip() or None
    if family == "bta":
        refused = dose_refusals(record, event)
        if refused:
            raise RecordRefused(refused)
        check = check_dose(record, event, today)
        warnings = check.warnings
        if warnings and reason is None:
            raise SafetyOverrideRequired(check)
    with_event(record, family, event, today)  # every problem by its path, before anything else
    from bonepath.api.entries import add_entry

    # written with its history row (the author of the entry, issue 15 item 3)
    written = add_entry(store, principal, record, family, event, today=today)
    return Written(written.record, "updated", warnings, reason if warnings else None)


def findings(
    store: Store, principal: Principal, source: str, patient_id: str, as_of: dt.date
) -> tuple[Record, Evaluation]:
    from bonepath.api.entries import known_on

    record = load_patient(store, principal, source, patient_id)
    # a past day as it was known that day: later corrections and voids undone (issue 15 item 3)
    return record, evaluate(known_on(store, record, as_of), as_of)


# ---- worklist -----------------------------------------------------------------------------------


INCREMENTAL_LIMIT: Final = 200
"""At most this many patients written since a cached worklist are re-evaluated one by one
(the point-of-care executor, ~30 ms each); more, or a removed patient, re-evaluate the whole
selection."""


@dataclass(frozen=True, slots=True)
class Generation:
    """Where the store stands: patient count, highest key, latest write."""

    count: int
    max_pk: int | None
    last_write: dt.datetime | None


class RegistryCache:
    """The last few registry evaluations, by day and selection, with the store generation
    they saw. A write makes a new generation: the patients written since are re-evaluated
    alone and spliced in (the same plan, point-of-care executor), so a cached worklist is never
    stale and one recorded dose does not re-run the whole registry. Thread-safe."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], tuple[Generation, RegistryEvaluation]] = (
            OrderedDict()
        )
        self._flights: dict[tuple[Any, ...], _Flight] = {}

    def get(self, key: tuple[Any, ...]) -> tuple[Generation, RegistryEvaluation] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def covering(
        self, as_of: dt.date, hospitals: tuple[str, ...], departments: tuple[str, ...]
    ) -> tuple[Generation, RegistryEvaluation] | None:
        """A cached evaluation of ``as_of`` whose selection holds every patient of
        ``hospitals`` and ``departments`` (empty: all), restricted to them: one evaluation of
        every hospital a day then serves each hospital's and department's worklist."""
        with self._lock:
            entries = list(self._entries.items())
        for key, (generation, registry) in entries:
            if _covers(key, as_of, hospitals, departments):
                return generation, registry.selected(hospitals, departments)
        return None

    def claim(
        self,
        as_of: dt.date,
        hospitals: tuple[str, ...],
        departments: tuple[str, ...],
        generation: Generation,
    ) -> _Flight | None:
        """Register an evaluation of this selection about to start (None: the caller
        evaluates and then calls :meth:`land`), or the evaluation already in flight whose
        selection holds this one (the caller waits for it, then reads the cache): one
        evaluation of a day's registry at a time, however many users ask meanwhile.

        A selection of named hospitals (a nurse's) does not wait for an evaluation of every
        hospital: its own is a few thousand patients, evaluated beside it (see
        :func:`cached_registry`), where the whole registry at 100,000 takes 15 s or more.
        ``generation`` is the store's as the caller saw it: an evaluation of it that landed
        since the caller looked is read, not evaluated again (an older one is stale)."""
        with self._lock:
            for key, flight in self._flights.items():
                if hospitals and not key[1]:
                    continue  # every hospital: a nurse's own list is sooner done
                if _covers(key, as_of, hospitals, departments):
                    flight.waiters += 1
                    return flight
            if any(
                seen == generation and _covers(key, as_of, hospitals, departments)
                for key, (seen, _registry) in self._entries.items()
            ):
                landed = _Flight()  # one landed since the caller looked: read it again
                landed.done.set()
                return landed
            self._flights[(as_of, hospitals, departments)] = _Flight()
            return None

    def land(
        self, as_of: dt.date, hospitals: tuple[str, ...], departments: tuple[str, ...]
    ) -> None:
        """The evaluation claimed for this selection is over (cached, or failed): wake its
        waiters."""
        with self._lock:
            flight = self._flights.pop((as_of, hospitals, departments))
        flight.done.set()

    def every_hospital_in_flight(self, as_of: dt.date) -> bool:
        """Whether an evaluation of every hospital on ``as_of`` is under way."""
        with self._lock:
            return any(day == as_of and not held for day, held, _ in self._flights)

    def waiting(self) -> int:
        """How many requests are waiting for an evaluation in flight (operations, tests)."""
        with self._lock:
            return sum(flight.waiters for flight in self._flights.values())

    def put(self, key: tuple[Any, ...], generation: Generation, value: RegistryEvaluation) -> None:
        with self._lock:
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


@dataclass(slots=True)
class _Flight:
    """An evaluation under way: set when it is cached or has failed."""

    done: threading.Event = field(default_factory=threading.Event)
    waiters: int = 0


def _covers(
    key: tuple[Any, ...], as_of: dt.date, hospitals: tuple[str, ...], departments: tuple[str, ...]
) -> bool:
    """Whether the selection ``key`` (day, hospitals, departments; empty: all) holds every
    patient of ``hospitals`` and ``departments`` on ``as_of``."""
    day, held_hospitals, held_departments = key
    if day != as_of:
        return False
    if held_hospitals and not (hospitals and set(hospitals) <= set(held_hospitals)):
        return False
    return not held_departments or bool(departments and set(departments) <= set(held_departments))


def store_generation(store: Store) -> Generation:
    """Changes whenever a patient is written or removed (one aggregate query)."""
    with store.engine.connect() as conn:
        count, max_pk, last = conn.execute(
            select(func.count(), func.max(patients.c.pk), func.max(patients.c.imported_at))
        ).one()
    if isinstance(last, str):  # SQLite aggregates lose the column type
        last = dt.datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return Generation(int(count), max_pk, last)


def refresh_registry(
    store: Store,
    cached: RegistryEvaluation,
    seen: Generation,
    now: Generation,
    as_of: dt.date,
    hospitals: tuple[str, ...],
    departments: tuple[str, ...],
) -> RegistryEvaluation | None:
    """``cached`` with the patients written since ``seen`` re-evaluated; None when that is
    not possible cheaply (too many, a patient removed, no write time)."""
    from bonepath.population.registry import PatientRef, RegistryEvaluation

    if seen.last_write is None or now.last_write is None:
        return None
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                patients.c.pk,
                patients.c.source,
                patients.c.id,
                patients.c.hospital_id,
                patients.c.department,
                patients.c.physician_id,
            )
            .where(patients.c.imported_at > seen.last_write)
            .limit(INCREMENTAL_LIMIT + 1)
        ).all()
    if len(rows) > INCREMENTAL_LIMIT:
        return None
    new_keys = sum(1 for row in rows if seen.max_pk is None or row[0] > seen.max_pk)
    if now.count != seen.count + new_keys:
        return None  # a patient was removed
    refs = {(ref.source, ref.id): ref for ref in cached.patients}
    evaluations = {(e.source, e.patient): e for e in cached.evaluations}
    for pk, source, pid, hospital, department, physician in rows:
        key = (source, pid)
        refs.pop(key, None)
        evaluations.pop(key, None)
        if (hospitals and hospital not in hospitals) or (
            departments and department not in departments
        ):
            continue
        record = store.get_by_pk(pk)
        if record is None:
            return None
        refs[key] = PatientRef(pk, source, pid, hospital, department, physician)
        evaluations[key] = evaluate(record, as_of)
    ordered = sorted(refs.values(), key=lambda ref: ref.pk)
    refreshed = RegistryEvaluation(
        cached.days,
        cached.rules_version,
        cached.backend,
        tuple(ordered),
        tuple(
            evaluations[(ref.source, ref.id)]
            for ref in ordered
            if (ref.source, ref.id) in evaluations
        ),
    )
    refreshed.rank_from(cached, {(source, pid) for _, source, pid, *_ in rows})
    return refreshed


def _store_backend(store: Store) -> Literal["postgres", "duckdb"]:
    """The registry backend of a web worklist: push-down on PostgreSQL, else DuckDB."""
    return "postgres" if store.engine.dialect.name == "postgresql" else "duckdb"


class WorklistWarmer:
    """Evaluates every hospital's worklist of "today" into a :class:`RegistryCache` in a
    background thread: at start, then whenever the day changes (checked every ``poll_s``).

    One evaluation of every hospital serves each hospital's and department's worklist
    (:meth:`RegistryCache.covering`), so the first user of the day does not wait for the
    registry plan (16 s at 100,000 patients; bench/README.md). The generation is read before
    evaluating: a write made meanwhile is re-evaluated at the next view, as any write. A user
    of every hospital who asks while it evaluates waits for it (:func:`cached_registry`), a
    nurse's hospital is evaluated beside it, and a warm-up that begins while a user's
    evaluation of every hospital runs waits for that one: the registry is evaluated once at
    a time.
    """

    def __init__(
        self,
        store: Store,
        cache: RegistryCache,
        today: Callable[[], dt.date],
        poll_s: float = 60.0,
    ) -> None:
        self._store = store
        self._cache = cache
        self._today = today
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worklist-warmer", daemon=True)
        self.warmed: list[dt.date] = []
        """The days evaluated so far, in order (for the operations log and tests)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        tried: dt.date | None = None
        while not self._stop.is_set():
            day = self._today()
            if day != tried:
                tried = day  # once a day: a failure is logged, not retried every poll
                try:
                    self.warm(day)
                except Exception:  # a failed warm-up only means the first view evaluates
                    _log.exception("worklist warm-up of %s failed", day)
            self._stop.wait(self._poll_s)

    def warm(self, day: dt.date) -> None:
        """Evaluate every hospital on ``day`` into the cache, as a worklist of every hospital."""
        registry = cached_registry(self._store, day, (), (), self._cache)
        registry.items()  # rank once here rather than in the first request
        self.warmed.append(day)
        _log.info("worklist of %s warmed: %d patients", day, len(registry.patients))
        try:  # the quality dashboard's default period too (issue 15 item 8)
            from bonepath.population.quality_cache import CACHE as QUALITY

            QUALITY.warm(self._store, day, stop=self._stop.is_set)  # and its reports
        except Exception:  # only means the first quality page computes
            _log.exception("quality warm-up of %s failed", day)


def worklist(
    store: Store,
    principal: Principal,
    as_of: dt.date,
    worklist_filter: WorklistFilter,
    *,
    cache: RegistryCache | None = None,
) -> tuple[str, list[WorklistItem]]:
    """The caller's worklist: only patients of granted hospitals are evaluated."""
    hospitals = principal.hospital_filter()
    chosen = tuple(sorted(worklist_filter.hospitals))
    if hospitals is not None:
        chosen = tuple(h for h in chosen if h in hospitals) if chosen else hospitals
        if not chosen:
            return _rules_version(), []
    departments = tuple(sorted(worklist_filter.departments))
    registry = cached_registry(store, as_of, chosen, departments, cache)
    return registry.rules_version, registry.items(worklist_filter)


def cached_registry(
    store: Store,
    as_of: dt.date,
    hospitals: tuple[str, ...],
    departments: tuple[str, ...],
    cache: RegistryCache | None,
) -> RegistryEvaluation:
    """The registry evaluation of ``hospitals`` and ``departments`` (empty: all) on ``as_of``:
    from ``cache`` when it holds that selection or a wider one (refreshed with the patients
    written since), else evaluated; cached under the selection.

    While an evaluation whose selection holds this one is under way (the warm-up's, or
    another user's), this waits for it and cuts its result rather than evaluating again
    beside it: at 100,000 patients a second evaluation would double the memory and share
    the cores with the first, so both would finish later (bench/README.md, issue 19). The
    exception is a selection of named hospitals while every hospital is being evaluated: a
    nurse's hospital (≈ 3,000 patients) is evaluated at once on a second DuckDB connection
    rather than waiting for the whole registry."""
    from bonepath.population.registry import evaluate_registry  # DuckDB only when used

    key = (as_of, hospitals, departments)
    while True:
        registry: RegistryEvaluation | None = None
        generation = store_generation(store)
        if cache is not None:
            found = cache.get(key) or cache.covering(as_of, hospitals, departments)
            if found is not None:
                seen, registry = found
                if seen != generation:
                    registry = refresh_registry(
                        store, registry, seen, generation, as_of, hospitals, departments
                    )
        if registry is not None or cache is None:
            break  # cached (or no cache: evaluated below)
        flight = cache.claim(as_of, hospitals, departments, generation)
        if flight is None:
            backend = _store_backend(store)
            beside = (  # a nurse's hospital while every hospital is being evaluated
                backend == "duckdb" and bool(hospitals) and cache.every_hospital_in_flight(as_of)
            )
            try:  # ours: evaluate, cache, then wake whoever waits
                registry = evaluate_registry(
                    store,
                    as_of,
                    backend=backend,
                    hospitals=hospitals,
                    departments=departments,
                    # not queued behind the whole registry's plan on the shared connection
                    runner=side_runner() if beside else None,
                )
                cache.put(key, generation, registry)
                return registry
            finally:
                cache.land(as_of, hospitals, departments)
        # someone else's: once it lands its result is in the cache (a failed one is not:
        # then the next round evaluates here)
        flight.done.wait()
    if cache is None:
        return evaluate_registry(
            store,
            as_of,
            backend=_store_backend(store),
            hospitals=hospitals,
            departments=departments,
        )
    assert registry is not None
    cache.put(key, generation, registry)
    return registry


_side: DuckDBRunner | None = None
_side_lock = threading.Lock()


def side_runner() -> DuckDBRunner:
    """A second DuckDB connection for the worklists of named hospitals evaluated while an
    evaluation of every hospital holds the shared one (a runner runs one plan at a time):
    at most two plans at once, one of them small."""
    from bonepath.engine.duckdb_runner import DuckDBRunner

    global _side
    with _side_lock:
        if _side is None:
            _side = DuckDBRunner()
        return _side


def _rules_version() -> str:
    from bonepath.rules import load_catalogue

    return str(load_catalogue().version)


# ---- imports ------------------------------------------------------------------------------------

ACCEPTED_UPLOADS: Final = (".json", ".ndjson", ".jsonl", ".csv", ".xlsx", ".xlsm")


@dataclass(slots=True)
class UploadReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    accepted: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    """(source, id, hospital, status) of every stored record, in file order; in a preview,
    the status is ``new`` or ``update`` (what storing it would do)."""
    refusals: list[Refusal] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    """Where each accepted record came from (``患者信息.csv:3``), in the order of ``accepted``."""
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": len(self.refusals),
            "accepted": [
                {"source": s, "id": i, "hospital": h, "status": st} for s, i, h, st in self.accepted
            ],
            "refusals": [r.to_dict() for r in self.refusals],
        }


def import_upload(
    store: Store, principal: Principal, path: Path, *, today: dt.date
) -> UploadReport:
    """Import one uploaded file (JSON, NDJSON, template CSV or Excel) for the caller.

    Records are read and refused exactly as by ``bonepath import``; in addition a record is
    refused (``HOSPITAL_NOT_GRANTED``) when its hospital, or the hospital of the stored
    patient it would replace, is not granted to the caller. Accepted records are written in
    one transaction.
    """
    if path.suffix.lower() not in ACCEPTED_UPLOADS:
        raise InputError(
            f"{path.name}: not an importable file; accepted: {', '.join(ACCEPTED_UPLOADS)}"
        )
    return import_files(store, principal, [path], today=today, label=path.name)


def import_files(
    store: Store,
    principal: Principal,
    paths: Sequence[Path],
    *,
    today: dt.date,
    label: str,
    mapping: Path | None = None,
    dry_run: bool = False,
) -> UploadReport:
    """Import uploaded files, all in one directory, for the caller (``dry_run``: only say what
    would be stored and refused, writing nothing).

    Without ``mapping`` the files are read as by ``bonepath import DIR`` (JSON, NDJSON, Excel
    templates, one template CSV set, FHIR); with one, they are the hospital's own CSV/Excel
    export read by that column mapping (``bonepath import --mapping``). Refusals and error
    messages name the files by their own names, never by the server's directory.

    Raises
    ------
    InputError
        A file is not importable, or the mapping cannot be read.
    """
    from bonepath.interop.importer import mapped_input

    directory = paths[0].parent
    try:
        inputs = [mapped_input(paths, mapping)] if mapping is not None else find_inputs(paths)
    except (InputError, NotFound) as exc:
        raise InputError(str(exc).replace(str(directory) + "/", "")) from None
    report = UploadReport(dry_run=dry_run)
    accepted: list[Record] = []

    def refuse(raw: RawRecord, problems: Sequence[Problem]) -> None:
        # located by the uploaded file's own name, never the server's temporary directory
        report.refusals.append(refusal_of(raw, problems).relative_to(directory))

    for _source, raw in iter_inputs(inputs):
        if raw.problems:
            refuse(raw, raw.problems)
            continue
        try:
            record = parse_record(raw.data, today=today)
        except RecordRefused as refused:
            refuse(raw, raw.refusal_problems(refused.problems))
            continue
        if raw.cell_problems:  # a cell refused before parsing (3,0; 普罗力)
            refuse(raw, raw.cell_problems)
            continue
        problems = _tenancy_problems(store, principal, record)
        if problems:
            refuse(raw, problems)
            continue
        accepted.append(record)
        report.locations.append(raw.location.replace(str(directory) + "/", ""))
    if dry_run:
        for record in accepted:
            exists, _hospital = stored_hospital(store, record.source, record.id)
            status = "update" if exists else "new"
            report.accepted.append((record.source, record.id, hospital_of(record), status))
        return report
    if accepted:
        where = f"upload:{principal.username}:{label}"[:1000]
        batch = store.start_batch(where)
        result = store.upsert_records(accepted, import_source=where, batch_id=batch)
        store.finish_batch(batch, refused=len(report.refusals))
        report.imported, report.updated, report.unchanged = (
            result.imported,
            result.updated,
            result.unchanged,
        )
        for record, outcome in zip(accepted, result.outcomes, strict=True):
            report.accepted.append((record.source, record.id, hospital_of(record), outcome.status))
    return report


def _tenancy_problems(store: Store, principal: Principal, record: Record) -> Sequence[Problem]:
    """``HOSPITAL_NOT_GRANTED`` when the record's hospital is not granted to the caller, or the
    patient stored under its key belongs to a hospital that is not: one and the same problem in
    both cases, so a refusal never tells whether, or where, an id is stored elsewhere."""
    if principal.sees(hospital_of(record)):
        exists, stored = stored_hospital(store, record.source, record.id)
        if not exists or principal.sees(stored):
            return []
    return [
        Problem(
            "/hospital/id",
            "HOSPITAL_NOT_GRANTED",
            "this patient or its hospital is not granted to this user",
            principal.hospital_filter() or ("*",),
        )
    ]
