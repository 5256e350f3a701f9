"""Evaluate a whole stored registry by the guideline, as of one day or several, in one pass.

Both backends run the one compiled plan of :mod:`bonepath.engine.plan` — no rule is written
twice — over the store's record tables:

``duckdb`` (embedded; SQLite or PostgreSQL stores)
    the record tables are read column-wise into Arrow (:mod:`bonepath.population.tables`),
    once for all days, and :class:`~bonepath.engine.evaluate.DuckDBRunner` runs the DuckDB SQL
    of the plan, one run per day.
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

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Date, Engine, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from bonepath.engine.duckdb_runner import DuckDBRunner
from bonepath.engine.evaluate import default_runner, findings_from_rows
from bonepath.engine.findings import Evaluation, Finding
from bonepath.engine.plan import FINDINGS, compiled_stages
from bonepath.errors import ConfigError, StoreError
from bonepath.population.chunks import CHUNK_PATIENTS, patient_chunks
from bonepath.population.snapshot import read_snapshot
from bonepath.population.tables import read_tables
from bonepath.population.worklist import WorklistFilter, WorklistItem, build_worklist
from bonepath.record.columns import TABLES
from bonepath.rules import load_catalogue
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
        """Every finding as a worklist item (with hospital and department), most urgent first."""
        refs = {(p.source, p.id): p for p in self.patients}

        def all_items() -> Iterator[WorklistItem]:
            for evaluation in self.evaluations:
                ref = refs[(evaluation.source, evaluation.patient)]
                for finding in evaluation.findings:
                    yield WorklistItem(
                        patient=ref.id,
                        source=ref.source,
                        hospital=ref.hospital,
                        department=ref.department,
                        as_of=evaluation.as_of,
                        finding=finding,
                    )

        return build_worklist(all_items(), worklist_filter)


def patient_conditions(
    hospitals: Collection[str] = (), departments: Collection[str] = ()
) -> list[ColumnElement[bool]]:
    """Conditions on the store's ``patients`` selecting a part of the registry."""
    where: list[ColumnElement[bool]] = []
    if hospitals:
        where.append(patients.c.hospital_id.in_(sorted(hospitals)))
    if departments:
        where.append(patients.c.department.in_(sorted(departments)))
    return where


def evaluate_registry(
    store: Store | Engine,
    days: dt.date | Iterable[dt.date],
    *,
    backend: Backend = "duckdb",
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    runner: DuckDBRunner | None = None,
    spark_runner: SparkRunner | None = None,
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
    hospitals, departments
        Evaluate only the patients of these hospital ids / department codes (a patient's
        findings never depend on other patients, so this only saves work).
    runner
        The DuckDB runner to use (default: the shared one).
    spark_runner
        The Spark runner of the ``spark`` backend (default: the shared one, on a local
        session started on first use).

    Raises
    ------
    ConfigError
        ``backend`` is unknown, or ``postgres`` on a store that is not PostgreSQL.
    StoreError
        The store could not be read.
    """
    engine = store.engine if isinstance(store, Store) else store
    wanted = (days,) if isinstance(days, dt.date) else tuple(dict.fromkeys(days))
    if not wanted:
        raise ValueError("no as-of day given")
    where = patient_conditions(hospitals, departments)
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
            refs, by_day = _run_postgres(engine, wanted, where)
        elif backend == "spark":
            from bonepath.engine.spark_runner import default_spark_runner

            spark_runner = spark_runner or default_spark_runner()
            version = spark_runner.catalogue.version
            refs, by_day = _run_spark(engine, wanted, where, spark_runner)
        else:
            runner = runner or default_runner()
            version = runner.catalogue.version
            refs, by_day = _run_duckdb(engine, wanted, where, runner)
    except _READ_ERRORS as exc:
        raise StoreError(f"evaluating the registry failed: {exc}") from exc
    return _registry_evaluation(wanted, version, backend, refs, by_day)


Found = Mapping[int, Sequence[Finding]]


def _refs(rows: Iterable[Sequence[Any]]) -> tuple[PatientRef, ...]:
    return tuple(
        PatientRef(int(pk), source, id_, hospital, department)
        for pk, source, id_, hospital, department in rows
    )


def _run_duckdb(
    engine: Engine,
    days: Sequence[dt.date],
    where: Sequence[ColumnElement[bool]],
    runner: DuckDBRunner,
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    return _evaluate_tables(read_tables(engine, where), days, runner)


def _evaluate_tables(
    tables: Mapping[str, pa.Table],
    days: Sequence[dt.date],
    runner: DuckDBRunner,
    chunk_patients: int = CHUNK_PATIENTS,
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    people = tables["patients"].sort_by("pk")
    refs = _refs(
        zip(
            *(people[c].to_pylist() for c in ("pk", "source", "id", "hospital_id", "department")),
            strict=True,
        )
    )
    by_day: list[dict[int, list[Finding]]] = [{} for _ in days]
    for part in patient_chunks(tables, chunk_patients):
        for found, day in zip(by_day, days, strict=True):
            rows = runner.run(part, _context(part["patients"], day)).to_pylist()
            found.update(findings_from_rows(rows, runner.catalogue))
    return refs, list(by_day)


def _context(people: pa.Table, day: dt.date) -> pa.Table:
    return pa.table(
        {"pk": people["pk"], "as_of": pa.array([day] * people.num_rows, pa.date32())}
    )


def registry_findings(
    tables: Mapping[str, pa.Table],
    days: dt.date | Iterable[dt.date],
    *,
    runner: DuckDBRunner | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
) -> pa.Table:
    """The long findings table of every patient in ``tables`` on ``days``, kept columnar.

    One row per finding: ``as_of`` first, then the plan's columns (``pk``, ``rule``, ``item``,
    ``due``, ``kind``, ``severity`` and the typed value slots of
    :func:`bonepath.engine.plan.slot_columns`). Nothing becomes a Python object: for a
    consumer that counts, filters or writes findings (an export, a dashboard), which need not
    pay for a million :class:`Finding` objects. ``findings_from_rows`` turns rows of it into
    findings equal to :func:`evaluate_registry`'s. The patients are evaluated
    ``chunk_patients`` at a time (:mod:`bonepath.population.chunks`).
    """
    runner = runner or default_runner()
    wanted = (days,) if isinstance(days, dt.date) else tuple(dict.fromkeys(days))
    parts = []
    for part in patient_chunks(tables, chunk_patients):
        for day in wanted:
            found = runner.run(part, _context(part["patients"], day))
            parts.append(
                found.add_column(0, "as_of", pa.array([day] * found.num_rows, pa.date32()))
            )
    if not parts:
        raise ValueError("no as-of day given")
    return pa.concat_tables(parts)


def evaluate_snapshot(
    directory: Path,
    days: dt.date | Iterable[dt.date],
    *,
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
    runner: DuckDBRunner | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
) -> RegistryEvaluation:
    """:func:`evaluate_registry` (``duckdb``) over a columnar snapshot instead of the store.

    The snapshot (:mod:`bonepath.population.snapshot`) is read in about a second per 100,000
    patients instead of the store's 23 s on SQLite; its findings are those of the store as it
    was when the snapshot was written.

    Raises
    ------
    ConfigError
        No snapshot at ``directory``, or one to write again.
    """
    wanted = (days,) if isinstance(days, dt.date) else tuple(dict.fromkeys(days))
    if not wanted:
        raise ValueError("no as-of day given")
    runner = runner or default_runner()
    tables = read_snapshot(directory, hospitals=hospitals, departments=departments)
    refs, by_day = _evaluate_tables(tables, wanted, runner, chunk_patients)
    return _registry_evaluation(wanted, runner.catalogue.version, "duckdb", refs, by_day)


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
    people = tables["patients"].sort_by("pk")
    refs = _refs(
        zip(
            *(people[c].to_pylist() for c in ("pk", "source", "id", "hospital_id", "department")),
            strict=True,
        )
    )
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
    engine: Engine, days: Sequence[dt.date], where: Sequence[ColumnElement[bool]]
) -> tuple[tuple[PatientRef, ...], list[Found]]:
    catalogue = load_catalogue()
    stages = compiled_stages("postgres")
    with engine.connect() as conn:
        # one snapshot for every day; nothing of the run survives the rollback at the end
        conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            for setting, value in POSTGRES_SETTINGS.items():
                conn.exec_driver_sql(f"SET LOCAL {setting} = '{value}'")
            _expose_record_tables(conn)
            refs = _refs(
                conn.execute(
                    select(
                        patients.c.pk,
                        patients.c.source,
                        patients.c.id,
                        patients.c.hospital_id,
                        patients.c.department,
                    )
                    .where(*where)
                    .order_by(patients.c.pk)
                )
            )
            conn.exec_driver_sql('CREATE TEMP TABLE "context" ("pk" bigint, "as_of" date)')
            by_day: list[Found] = []
            for day in days:
                conn.exec_driver_sql('TRUNCATE "context"')
                context_rows = select(patients.c.pk, _date_literal(day)).where(*where)
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
                by_day.append(findings_from_rows(rows, catalogue))
        finally:
            transaction.rollback()
    return refs, by_day


def _date_literal(day: dt.date) -> ColumnElement[Any]:
    return literal(day, Date).label("as_of")


def _expose_record_tables(conn: Connection) -> None:
    """Temporary views named like the record tables, with exactly their TABLES columns.

    The plan's SQL names the record tables unqualified; ``pg_temp`` first on the search path
    makes it read these views (so a ``SELECT *`` could never see the provenance columns of
    ``patients``), and the views read the store's tables wherever its schema is.
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
    for name, spec in TABLES.items():
        columns = ", ".join(_quote(conn, column) for column in spec.column_names)
        source = f"{_quote(conn, str(located[name]))}.{_quote(conn, name)}"
        conn.exec_driver_sql(
            f"CREATE TEMP VIEW {_quote(conn, name)} AS SELECT {columns} FROM {source}"
        )
