"""Evaluate a whole stored registry by the guideline, as of one day or several, in one pass.

Both backends run the one compiled plan of :mod:`bonepath.engine.plan` — no rule is written
twice — over the store's record tables:

``duckdb`` (embedded; SQLite or PostgreSQL stores)
    the record tables are read column-wise into Arrow (:mod:`bonepath.population.tables`), a
    part of 200,000 patients at a time (a key range; all parts in one transaction), and
    :class:`~bonepath.engine.evaluate.DuckDBRunner` runs the DuckDB SQL of the plan on each
    part, one run per day.
``postgres`` (push-down; PostgreSQL stores)
    the plan's PostgreSQL SQL runs inside the store's database: in one transaction, temporary
    views named like the record tables expose exactly their :data:`~bonepath.record.columns.TABLES`
    columns (never the provenance columns), a temporary ``context`` table holds the patients
    and the day, and every stage becomes ``CREATE TEMP TABLE <stage> AS <sql>``. Only the
    findings (and each patient's identity) come back; the transaction is rolled back, so
    nothing is left in the database.
``spark`` (distributed; SQLite or PostgreSQL stores)
    the record tables are read into Arrow as for ``duckdb`` and the plan's Spark SQL runs in
    a Spark session (:class:`~bonepath.engine.spark_runner.SparkRunner`; a local one by
    default). Spark's cost is mostly per query, not per row, so all days run in one pass: the
    tables are repeated once per day with the patient keys offset (a patient's findings never
    depend on another patient's rows).

Each (patient, day) gets an :class:`~bonepath.engine.findings.Evaluation` equal to what
:func:`bonepath.engine.evaluate.evaluate` gives for the stored record on that day (tested).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Date, Engine, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from bonepath.engine.duckdb_runner import DuckDBRunner, arrow_schema
from bonepath.engine.evaluate import default_runner, findings_from_rows
from bonepath.engine.findings import Evaluation, Finding
from bonepath.engine.plan import FINDINGS, compiled_stages
from bonepath.errors import ConfigError, StoreError
from bonepath.population.chunks import CHUNK_PATIENTS, PART_WORKERS, map_parts, patient_chunks
from bonepath.population.snapshot import check_snapshot, read_snapshot_patients, snapshot_parts
from bonepath.population.tables import read_table_parts, read_tables
from bonepath.population.worklist import WorklistFilter, WorklistItem, build_worklist
from bonepath.record.columns import TABLES
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import Catalogue
from bonepath.store.bulk import DRIVER_ERRORS
from bonepath.store.repository import Store
from bonepath.store.schema import patients

if TYPE_CHECKING:
    from bonepath.engine.spark_runner import SparkRunner

Backend = Literal["duckdb", "postgres", "spark"]
BACKENDS: Final[tuple[Backend, ...]] = get_args(Backend)

POSTGRES_SETTINGS: Final[Mapping[str, str]] = {
    # the plan's window functions sort whole event tables ("latest per patient", VAL-07);
    # the default 4 MB spills those sorts to disk on a large registry
    "work_mem": "256MB",
    # JIT-compiling the findings query (a union of ~80 rule branches) costs more than running
    # it: 27 s of 64 s on 100,000 patients (bench/README.md)
    "jit": "off",
}
"""Settings of the push-down transaction (``SET LOCAL``: they end with it)."""

POSTGRES_WORKERS: Final = 2
"""Connections evaluating parts at once (each runs its stages on one server core)."""

POSTGRES_CHUNK_PATIENTS: Final = 100_000
"""Patients per part of a push-down: the stages' temporary tables stay part-sized (100,000
patients ran in 23 s; the million in one part took 784 s, bench/README.md)."""

_READ_ERRORS: Final[tuple[type[Exception], ...]] = (
    SQLAlchemyError,
    pa.ArrowException,
    *DRIVER_ERRORS,
)


@dataclass(frozen=True, slots=True)
class PatientRef:
    """A stored patient as the registry names it: key, identity and where treated."""

    pk: int
    source: str
    id: str
    hospital: str | None
    department: str | None
    physician: str | None = None
    death_date: dt.date | None = None
    """VAL-09: an evaluation on or after this day has no findings and says ``deceased``."""


KEPT_FILTERS: Final = 8
"""Filters whose items a registry evaluation keeps (one per worklist view being paged)."""


@dataclass(frozen=True)
class RegistryEvaluation:
    """The findings of every selected patient on every day asked for.

    ``evaluations`` holds one :class:`Evaluation` per (day, patient): days in the order
    given, patients in store order (``pk``); a patient with nothing due has no findings.
    """

    days: tuple[dt.date, ...]
    rules_version: str
    backend: Backend
    patients: tuple[PatientRef, ...]
    evaluations: tuple[Evaluation, ...]
    _by_key: dict[tuple[str, str, dt.date], Evaluation] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _ranked: tuple[WorklistItem, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """Every finding as an item, most urgent first; built by the first :meth:`items` call."""
    _kept: dict[tuple[object, ...], tuple[WorklistItem, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """The items the last few filters kept (:data:`KEPT_FILTERS`), by ``WorklistFilter.key``."""
    _kept_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._by_key.update(((e.source, e.patient, e.as_of), e) for e in self.evaluations)

    @property
    def finding_count(self) -> int:
        return sum(len(e.findings) for e in self.evaluations)

    def evaluation(self, source: str, patient: str, day: dt.date | None = None) -> Evaluation:
        """The evaluation of patient ``(source, patient)`` on ``day`` (default: the only day).

        Raises ``KeyError`` when the patient or day was not part of this evaluation.
        """
        if day is None:
            if len(self.days) != 1:
                raise ValueError("several days were evaluated: name one")
            day = self.days[0]
        return self._by_key[(source, patient, day)]

    def items(self, worklist_filter: WorklistFilter | None = None) -> list[WorklistItem]:
        """Every finding as a worklist item (with hospital and department), most urgent first.

        The items are built and ranked once per evaluation (a cached worklist is asked for
        page after page and filter after filter); a filter then keeps a subsequence of that
        ranking, which is already in urgency order (the order is total: ``urgency_key``).
        """
        ranked = self._ranked
        if ranked is None:
            # two threads may both rank; each assigns the same tuple in one step
            ranked = tuple(build_worklist(self._all_items()))
            object.__setattr__(self, "_ranked", ranked)
        if worklist_filter is None:
            return list(ranked)
        key = worklist_filter.key()
        with self._kept_lock:
            kept = self._kept.get(key)
        if kept is None:
            # a web worklist is paged with one filter: keep what the last few filters kept
            kept = tuple(item for item in ranked if worklist_filter.accepts(item))
            with self._kept_lock:
                while len(self._kept) >= KEPT_FILTERS:
                    del self._kept[next(iter(self._kept))]  # the oldest
                self._kept[key] = kept
        return list(kept)

    def selected(
        self, hospitals: Collection[str] = (), departments: Collection[str] = ()
    ) -> RegistryEvaluation:
        """This evaluation restricted to the patients of ``hospitals`` and ``departments``
        (empty: any), as :func:`patient_conditions` selects them: what evaluating that
        selection gives, since a patient's findings never depend on another patient's. The
        ranking, when built, is kept (filtered, so still in urgency order)."""
        refs = tuple(
            ref
            for ref in self.patients
            if (not hospitals or ref.hospital in hospitals)
            and (not departments or ref.department in departments)
        )
        keys = {(ref.source, ref.id) for ref in refs}
        chosen = RegistryEvaluation(
            self.days,
            self.rules_version,
            self.backend,
            refs,
            tuple(e for e in self.evaluations if (e.source, e.patient) in keys),
        )
        if self._ranked is not None:
            ranked = tuple(item for item in self._ranked if (item.source, item.patient) in keys)
            object.__setattr__(chosen, "_ranked", ranked)
        return chosen

    def rank_from(self, earlier: RegistryEvaluation, changed: Set[tuple[str, str]]) -> None:
        """Take ``earlier``'s ranking for this evaluation, which is ``earlier`` with the
        patients ``changed`` (source, id) re-evaluated, added or dropped: their old items
        leave, their new ones are put in place by binary search. A write to one patient then
        costs a pass over the list, not a new sort of every item (bench/web_bench.py)."""
        ranked = earlier._ranked
        if ranked is None or self._ranked is not None:
            return
        kept = [item for item in ranked if (item.source, item.patient) not in changed]
        for item in self._all_items(changed):
            bisect.insort(kept, item, key=WorklistItem.urgency_key)
        object.__setattr__(self, "_ranked", tuple(kept))

    def _all_items(self, only: Set[tuple[str, str]] | None = None) -> Iterator[WorklistItem]:
        """The items of every patient, or of the patients ``only`` names (source, id)."""
        refs = {
            (p.source, p.id): p for p in self.patients if only is None or (p.source, p.id) in only
        }
        for evaluation in self.evaluations:
            if only is not None and (evaluation.source, evaluation.patient) not in only:
                continue
            ref = refs[(evaluation.source, evaluation.patient)]
            for finding in evaluation.findings:
                yield WorklistItem(
                    patient=ref.id,
                    source=ref.source,
                    hospital=ref.hospital,
                    department=ref.department,
                    as_of=evaluation.as_of,
                    finding=finding,
                    physician=ref.physician,
                )


def _as_days(days: dt.date | Iterable[dt.date]) -> tuple[dt.date, ...]:
    """One day or several as a tuple in the order given, each once; at least one."""
    wanted = (days,) if isinstance(days, dt.date) else tuple(dict.fromkeys(days))
    if not wanted:
        raise ValueError("no as-of day given")
    return wanted


def patient_conditions(
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    physicians: Collection[str] = (),
) -> list[ColumnElement[bool]]:
    """Conditions on the store's ``patients`` selecting a part of the registry."""
    where: list[ColumnElement[bool]] = []
    if hospitals:
        where.append(patients.c.hospital_id.in_(sorted(hospitals)))
    if departments:
        where.append(patients.c.department.in_(sorted(departments)))
    if physicians:
        where.append(patients.c.physician_id.in_(sorted(physicians)))
    return where


def evaluate_registry(
    store: Store | Engine,
    days: dt.date | Iterable[dt.date],
    *,
    backend: Backend = "duckdb",
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    physicians: Collection[str] = (),
    runner: DuckDBRunner | None = None,
    spark_runner: SparkRunner | None = None,
    chunk_patients: int | None = None,
    workers: int | None = None,
) -> RegistryEvaluation:
    """Evaluate every stored patient (or those of ``hospitals`` / ``departments``) on ``days``.

    Parameters
    ----------
    store
        The store, or its engine.
    days
        One as-of day, or several (each patient is evaluated on each, VAL-01).
    backend
        ``"duckdb"``: read the tables into Arrow and run the plan in process (any store);
        ``"postgres"``: run the plan inside the store's PostgreSQL (see the module docstring).
    hospitals, departments, physicians
        Evaluate only the patients of these hospital ids / department codes / physician ids
        (a patient's findings never depend on other patients, so this only saves work).
    runner
        The DuckDB runner to use (default: the shared one).
    spark_runner
        The Spark runner of the ``spark`` backend (default: the shared one, on a local
        session started on first use).
    chunk_patients
        Evaluate at most this many patients at a time (``duckdb``: default
        :data:`~bonepath.population.chunks.CHUNK_PATIENTS`; ``postgres``: default
        :data:`POSTGRES_CHUNK_PATIENTS`; ``spark`` evaluates everything in one pass).
    workers
        ``postgres``: how many connections evaluate parts at once, all in one snapshot of the
        store (default :data:`POSTGRES_WORKERS`); ``duckdb``: how many parts are evaluated
        side by side, each on one thread (default
        :data:`~bonepath.population.chunks.PART_WORKERS`).

    Raises
    ------
    ConfigError
        ``backend`` is unknown, or ``postgres`` on a store that is not PostgreSQL.
    StoreError
        The store could not be read.
    """
    engine = store.engine if isinstance(store, Store) else store
    wanted = _as_days(days)
    where = patient_conditions(hospitals, departments, physicians)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown registry backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    try:
        if backend == "postgres":
            if engine.dialect.name != "postgresql":
                raise ConfigError(
                    "the postgres backend runs the plan inside PostgreSQL; this store is "
                    f"{engine.dialect.name}: use the duckdb backend"
                )
            version = load_catalogue().version
            refs, by_day = _run_postgres(
                engine,
                wanted,
                where,
                POSTGRES_CHUNK_PATIENTS if chunk_patients is None else chunk_patients,
                POSTGRES_WORKERS if workers is None else workers,
            )
        elif backend == "spark":
            from bonepath.engine.spark_runner import default_spark_runner

            spark_runner = spark_runner or default_spark_runner()
            version = spark_runner.catalogue.version
            refs, by_day = _run_spark(engine, wanted, where, spark_runner)
        else:
            runner = runner or default_runner()
            version = runner.catalogue.version
            # a part of the store at a time, all in one snapshot: memory follows the part
            parts = read_table_parts(
                engine, where, CHUNK_PATIENTS if chunk_patients is None else chunk_patients
            )
            refs, by_day = _evaluate_store_parts(
                parts, wanted, runner, PART_WORKERS if workers is None else workers
            )
    except _READ_ERRORS as exc:
        raise StoreError(f"evaluating the registry failed: {exc}") from exc
    return _registry_evaluation(wanted, version, backend, refs, by_day)


Found = Mapping[int, Sequence[Finding]]


_REF_COLUMNS: Final = (
    "pk",
    "source",
    "id",
    "hospital_id",
    "department",
    "physician_id",
    "death_date",
)


def _refs(rows: Iterable[Sequence[Any]]) -> tuple[PatientRef, ...]:
    return tuple(
        PatientRef(int(pk), source, id_, hospital, department, physician, _day(died))
        for pk, source, id_, hospital, department, physician, died in rows
    )


def _day(value: Any) -> dt.date | None:
    """A date column's value as a date (SQLite may hand back ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _patient_refs(people: pa.Table) -> tuple[PatientRef, ...]:
    """The :class:`PatientRef` of every row of a ``patients`` table, by ``pk``."""
    people = people.sort_by("pk")
    return _refs(
        zip(
            *(people[c].to_pylist() for c in _REF_COLUMNS),
            strict=True,
        )
    )


def _evaluate_store_parts(
    parts: Iterable[Mapping[str, pa.Table]],
    days: Sequence[dt.date],
    runner: DuckDBRunner,
    workers: int = PART_WORKERS,
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    """:func:`_evaluate_duckdb_parts`, naming the patients from each part's ``patients``."""
    refs: list[PatientRef] = []

    def named() -> Iterator[Mapping[str, pa.Table]]:
        for part in parts:
            refs.extend(_patient_refs(part["patients"]))
            yield part

    by_day = _evaluate_duckdb_parts(named(), days, runner, workers)
    return tuple(refs), by_day


def _evaluate_duckdb_parts(
    parts: Iterable[Mapping[str, pa.Table]],
    days: Sequence[dt.date],
    runner: DuckDBRunner,
    workers: int = PART_WORKERS,
) -> list[Found]:
    """Each part's findings on each day, as one map of patient key to findings per day."""
    by_day: list[dict[int, list[Finding]]] = [{} for _ in days]
    for tables in _run_parts(parts, days, runner, workers):
        for found, table in zip(by_day, tables, strict=True):
            found.update(findings_from_rows(table.to_pylist(), runner.catalogue))
    return list(by_day)


def _run_parts(
    parts: Iterable[Mapping[str, pa.Table]],
    days: Sequence[dt.date],
    runner: DuckDBRunner,
    workers: int,
) -> Iterator[list[pa.Table]]:
    """The long findings table of each part on each day, part by part in order: ``workers``
    parts side by side, each on a one-thread copy of ``runner`` of its own thread
    (:func:`~bonepath.population.chunks.map_parts`); a single part on ``runner``."""
    local = threading.local()
    copies: list[DuckDBRunner] = []

    def work(part: Mapping[str, pa.Table], alone: bool) -> list[pa.Table]:
        mine: DuckDBRunner = runner
        if not alone:
            if getattr(local, "runner", None) is None:  # this thread's first part
                local.runner = runner.single_threaded()
                copies.append(local.runner)
            mine = local.runner
        return [mine.run(part, _context(part["patients"], day)) for day in days]

    try:
        yield from map_parts(parts, work, workers)
    finally:
        for copy in copies:
            copy.close()


def _context(people: pa.Table, day: dt.date) -> pa.Table:
    return pa.table({"pk": people["pk"], "as_of": pa.array([day] * people.num_rows, pa.date32())})


def registry_findings(
    tables: Mapping[str, pa.Table],
    days: dt.date | Iterable[dt.date],
    *,
    runner: DuckDBRunner | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
    workers: int = PART_WORKERS,
) -> pa.Table:
    """The long findings table of every patient in ``tables`` on ``days``, kept columnar.

    One row per finding: ``as_of`` first, then the plan's columns (``pk``, ``rule``, ``item``,
    ``due``, ``kind``, ``severity`` and the typed value slots of
    :func:`bonepath.engine.plan.slot_columns`). Nothing becomes a Python object: for a
    consumer that counts, filters or writes findings (an export, a dashboard), which need not
    pay for a million :class:`Finding` objects. ``findings_from_rows`` turns rows of it into
    findings equal to :func:`evaluate_registry`'s. The patients are evaluated
    ``chunk_patients`` at a time (:mod:`bonepath.population.chunks`), ``workers`` parts side
    by side (each on one thread; :data:`~bonepath.population.chunks.PART_WORKERS`).
    """
    wanted = _as_days(days)
    return _findings_of_parts(
        patient_chunks(tables, chunk_patients), wanted, runner or default_runner(), workers
    )


def _findings_of_parts(
    parts: Iterable[Mapping[str, pa.Table]],
    days: Sequence[dt.date],
    runner: DuckDBRunner,
    workers: int = PART_WORKERS,
) -> pa.Table:
    """The long findings table (with ``as_of``) of every part on every day (at least one)."""
    found_parts = []
    for tables in _run_parts(parts, days, runner, workers):
        for day, found in zip(days, tables, strict=True):
            found_parts.append(
                found.add_column(0, "as_of", pa.array([day] * found.num_rows, pa.date32()))
            )
    if not found_parts:  # no patient selected: the plan's columns, no row
        empty = {name: arrow_schema(name).empty_table() for name in TABLES}
        found = runner.run(empty, _context(empty["patients"], days[0]))
        return found.add_column(0, "as_of", pa.array([], pa.date32()))
    return pa.concat_tables(found_parts)


SnapshotBackend = Literal["duckdb", "spark"]
SNAPSHOT_BACKENDS: Final[tuple[SnapshotBackend, ...]] = get_args(SnapshotBackend)


def snapshot_findings(
    directory: Path,
    days: dt.date | Iterable[dt.date],
    *,
    backend: SnapshotBackend = "duckdb",
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    runner: DuckDBRunner | None = None,
    spark_runner: SparkRunner | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
    workers: int = PART_WORKERS,
) -> pa.Table:
    """:func:`registry_findings` of the snapshot at ``directory``, on DuckDB or on Spark.

    ``duckdb`` reads the snapshot a part of ``chunk_patients`` at a time
    (:func:`~bonepath.population.snapshot.snapshot_parts`) and evaluates each in process;
    ``spark`` hands the snapshot's Parquet files to Spark as they lie
    (:meth:`~bonepath.engine.spark_runner.SparkRunner.run_snapshot`: every day in one pass,
    nothing of the registry through Python). Same columns, same rows.

    Raises
    ------
    ConfigError
        No snapshot at ``directory``, one to write again, or an unknown ``backend``.
    """
    wanted = _as_days(days)
    if backend == "spark":
        from bonepath.engine.spark_runner import default_spark_runner

        check_snapshot(directory)  # manifest, format and layout, before Spark reads the files
        spark_runner = spark_runner or default_spark_runner()
        return spark_runner.run_snapshot(
            directory, wanted, hospitals=hospitals, departments=departments
        )
    if backend != "duckdb":
        raise ConfigError(
            f"unknown snapshot backend {backend!r}; accepted: {', '.join(SNAPSHOT_BACKENDS)}"
        )
    parts = snapshot_parts(directory, chunk_patients, hospitals=hospitals, departments=departments)
    return _findings_of_parts(parts, wanted, runner or default_runner(), workers)


def evaluate_snapshot(
    directory: Path,
    days: dt.date | Iterable[dt.date],
    *,
    backend: SnapshotBackend = "duckdb",
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    runner: DuckDBRunner | None = None,
    spark_runner: SparkRunner | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
    workers: int = PART_WORKERS,
) -> RegistryEvaluation:
    """:func:`evaluate_registry` over a columnar snapshot instead of the store.

    The snapshot (:mod:`bonepath.population.snapshot`) is read in about a second per 100,000
    patients instead of the store's 23 s on SQLite; its findings are those of the store as it
    was when the snapshot was written. ``backend`` as for :func:`snapshot_findings`.

    Raises
    ------
    ConfigError
        No snapshot at ``directory``, one to write again, or an unknown ``backend``.
    """
    wanted = _as_days(days)
    found = snapshot_findings(
        directory,
        wanted,
        backend=backend,
        hospitals=hospitals,
        departments=departments,
        runner=runner,
        spark_runner=spark_runner,
        chunk_patients=chunk_patients,
        workers=workers,
    )
    if backend == "spark":  # the runner snapshot_findings used (the shared one by default)
        from bonepath.engine.spark_runner import default_spark_runner

        catalogue = (spark_runner or default_spark_runner()).catalogue
    else:
        catalogue = (runner or default_runner()).catalogue
    people = read_snapshot_patients(directory, hospitals=hospitals, departments=departments)
    return _registry_evaluation(
        wanted,
        catalogue.version,
        backend,
        _patient_refs(people),
        _findings_by_day(found, wanted, catalogue),
    )


def _findings_by_day(found: pa.Table, days: Sequence[dt.date], catalogue: Catalogue) -> list[Found]:
    """The findings of a table with ``as_of`` (as :func:`registry_findings`), one map per day."""
    by_day: list[Found] = []
    for day in days:
        rows = found.filter(pc.equal(found["as_of"], pa.scalar(day, pa.date32())))
        by_day.append(findings_from_rows(rows.drop_columns(["as_of"]).to_pylist(), catalogue))
    return by_day


def _registry_evaluation(
    days: tuple[dt.date, ...],
    version: str,
    backend: Backend,
    refs: tuple[PatientRef, ...],
    by_day: Sequence[Found],
) -> RegistryEvaluation:
    evaluations = tuple(
        Evaluation(
            patient=ref.id,
            source=ref.source,
            as_of=day,
            rules_version=version,
            findings=tuple(found.get(ref.pk, ())),
            deceased=ref.death_date is not None and ref.death_date <= day,
        )
        for day, found in zip(days, by_day, strict=True)
        for ref in refs
    )
    return RegistryEvaluation(days, version, backend, refs, evaluations)


def _run_spark(
    engine: Engine,
    days: Sequence[dt.date],
    where: Sequence[ColumnElement[bool]],
    runner: SparkRunner,
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    tables = read_tables(engine, where)
    people = tables["patients"]
    refs = _patient_refs(people)
    # every day in one Spark run: day i's copy of a patient has the key pk + i * stride
    stride = int(pc.max(people["pk"]).as_py() or 0) + 1
    if len(days) > 1:
        tables = {
            name: pa.concat_tables([_offset(table, i * stride) for i in range(len(days))])
            for name, table in tables.items()
        }
    context = pa.concat_tables(
        [_offset(_context(people, day), i * stride) for i, day in enumerate(days)]
    )
    found = findings_from_rows(runner.run(tables, context).to_pylist(), runner.catalogue)
    by_day: list[dict[int, list[Finding]]] = [{} for _ in days]
    for key, findings in found.items():
        by_day[key // stride][key % stride] = findings
    return refs, list(by_day)


def _offset(table: pa.Table, offset: int) -> pa.Table:
    """``table`` with ``offset`` added to its patient keys."""
    if not offset:
        return table
    shifted = pc.add(table["pk"], pa.scalar(offset, pa.int64()))
    return table.set_column(table.schema.get_field_index("pk"), "pk", shifted)


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _run_postgres(
    engine: Engine,
    days: Sequence[dt.date],
    where: Sequence[ColumnElement[bool]],
    chunk_patients: int = POSTGRES_CHUNK_PATIENTS,
    workers: int = POSTGRES_WORKERS,
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    """The push-down (module docstring): parts of ``chunk_patients`` patients, evaluated by
    ``workers`` connections at once, all reading the one snapshot the first connection took
    and exported (``pg_export_snapshot``): every part sees the store as of the same moment."""
    if chunk_patients < 1 or workers < 1:
        raise ValueError("a part holds at least one patient, and one connection evaluates it")
    catalogue = load_catalogue()
    stages = compiled_stages("postgres")
    with engine.connect() as lead:
        lead.execution_options(isolation_level="REPEATABLE READ")
        transaction = lead.begin()
        try:
            snapshot = str(lead.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
            refs = _refs(
                lead.execute(
                    select(*(patients.c[column] for column in _REF_COLUMNS))
                    .where(*where)
                    .order_by(patients.c.pk)
                )
            )
            # parts of at most chunk_patients selected patients, each a range of keys
            parts = [
                (refs[start].pk, refs[min(start + chunk_patients, len(refs)) - 1].pk)
                for start in range(0, len(refs), chunk_patients)
            ]
            if len(parts) <= 1 or workers == 1:
                found = _evaluate_parts(lead, parts, days, where, stages, catalogue)
            else:
                # the exporting transaction stays open (it holds the snapshot) until all are done
                shares = [parts[i::workers] for i in range(min(workers, len(parts)))]
                with ThreadPoolExecutor(len(shares)) as pool:
                    futures = [
                        pool.submit(
                            _evaluate_parts_in_snapshot,
                            engine,
                            snapshot,
                            share,
                            days,
                            where,
                            stages,
                            catalogue,
                        )
                        for share in shares
                    ]
                    found = [{} for _ in days]
                    for future in futures:
                        for mine, theirs in zip(found, future.result(), strict=True):
                            mine.update(theirs)
        finally:
            transaction.rollback()
    return refs, list(found)


def _evaluate_parts_in_snapshot(
    engine: Engine,
    snapshot: str,
    parts: Sequence[tuple[int, int]],
    days: Sequence[dt.date],
    where: Sequence[ColumnElement[bool]],
    stages: Sequence[tuple[str, str]],
    catalogue: Catalogue,
) -> list[dict[int, list[Finding]]]:
    """:func:`_evaluate_parts` on a connection of its own, in the exported ``snapshot``."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            # must be the transaction's first statement; the id comes from pg_export_snapshot
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return _evaluate_parts(conn, parts, days, where, stages, catalogue)
        finally:
            transaction.rollback()


def _evaluate_parts(
    conn: Connection,
    parts: Sequence[tuple[int, int]],
    days: Sequence[dt.date],
    where: Sequence[ColumnElement[bool]],
    stages: Sequence[tuple[str, str]],
    catalogue: Catalogue,
) -> list[dict[int, list[Finding]]]:
    """Every stage in temporary tables, part by part and day by day, on ``conn``'s open
    transaction (rolled back by the caller: nothing of it survives)."""
    for setting, value in POSTGRES_SETTINGS.items():
        conn.exec_driver_sql(f"SET LOCAL {setting} = '{value}'")
    sources = _locate_record_tables(conn)
    conn.exec_driver_sql('CREATE TEMP TABLE "context" ("pk" bigint, "as_of" date)')
    by_day: list[dict[int, list[Finding]]] = [{} for _ in days]
    for low, high in parts:
        # the views show only the part's rows, so every stage works on a part-sized table
        _expose_record_tables(conn, (low, high), sources)
        for found, day in zip(by_day, days, strict=True):
            conn.exec_driver_sql('TRUNCATE "context"')
            context_rows = select(patients.c.pk, _date_literal(day)).where(
                *where, patients.c.pk.between(low, high)
            )
            compiled = context_rows.compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            conn.exec_driver_sql(f'INSERT INTO "context" ("pk", "as_of") {compiled}')
            conn.exec_driver_sql('ANALYZE "context"')
            for name, sql in stages:
                quoted = _quote(conn, name)
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{quoted}")
                conn.exec_driver_sql(f"CREATE TEMP TABLE {quoted} AS {sql}")
            result = conn.exec_driver_sql(f"SELECT * FROM {_quote(conn, FINDINGS)}")
            names = list(result.keys())
            rows = [dict(zip(names, row, strict=True)) for row in result]
            found.update(findings_from_rows(rows, catalogue))
    return by_day


def _date_literal(day: dt.date) -> ColumnElement[Any]:
    return literal(day, Date).label("as_of")


def _locate_record_tables(conn: Connection) -> dict[str, str]:
    """The schema of each record table; puts ``pg_temp`` first on the search path.

    The plan's SQL names the record tables unqualified; ``pg_temp`` first on the search path
    makes it read the views of :func:`_expose_record_tables` (so a ``SELECT *`` could never see
    the provenance columns of ``patients``), and the views read the store's tables wherever its
    schema is.
    """
    located = {
        name: conn.exec_driver_sql(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(%(name)s)",
            {"name": _quote(conn, name)},
        ).scalar_one_or_none()
        for name in TABLES
    }
    missing = sorted(name for name, schema in located.items() if schema is None)
    if missing:
        raise StoreError(f"the store has no table {', '.join(missing)}: is it migrated?")
    conn.exec_driver_sql(
        f"SET LOCAL search_path TO pg_temp, {_quote(conn, str(located['patients']))}"
    )
    return {name: str(schema) for name, schema in located.items()}


def _expose_record_tables(
    conn: Connection,
    keys: tuple[int, int] | None = None,
    sources: Mapping[str, str] | None = None,
) -> Mapping[str, str]:
    """Temporary views named like the record tables, with exactly their TABLES columns — of
    every patient, or only of patients ``keys[0]`` to ``keys[1]`` (replacing earlier views).

    ``sources`` is what :func:`_locate_record_tables` found (located here when not given);
    returned for the next call.
    """
    sources = sources if sources is not None else _locate_record_tables(conn)
    rows = "" if keys is None else f' WHERE "pk" BETWEEN {int(keys[0])} AND {int(keys[1])}'
    for name, spec in TABLES.items():
        columns = ", ".join(_quote(conn, column) for column in spec.column_names)
        source = f"{_quote(conn, sources[name])}.{_quote(conn, name)}"
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS pg_temp.{_quote(conn, name)}")
        conn.exec_driver_sql(
            f"CREATE TEMP VIEW {_quote(conn, name)} AS SELECT {columns} FROM {source}{rows}"
        )
    return sources
