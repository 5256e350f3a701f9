"""The store's repository: write whole records idempotently, read them back.

A patient is identified by its natural key ``(source, id)`` and keeps one surrogate ``pk``
for life. Writing a record compares the SHA-256 of its canonical JSON with the stored one:
the same content is ``unchanged`` and writes nothing; new content replaces the patient's row
and all its event rows in the same transaction (``updated``, same ``pk``). Records are
written in chunks of whole patients, one transaction per chunk, so a store never holds half
a patient, even when the process is killed mid-import.

The rules engine reads the tables directly: :attr:`Store.engine` and
:data:`~bonepath.store.schema.RECORD_TABLES` (named as :data:`~bonepath.record.columns.TABLES`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from types import TracebackType
from typing import Any, Final, Literal, Self

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bonepath.errors import Problem, RecordRefused, StoreError
from bonepath.record.columns import TABLE_NAMES, TABLES, to_columns
from bonepath.record.model import Record
from bonepath.store import bulk, migrate
from bonepath.store.db import (
    canonical_json,
    check_schema_name,
    create_store_engine,
    write_transaction,
)
from bonepath.store.schema import (
    EVENT_TABLES,
    PROVENANCE_COLUMNS,
    RECORD_TABLES,
    import_batches,
    patients,
)

DEFAULT_CHUNK_SIZE: Final = 2000
"""Patients per transaction: large enough for bulk speed, small enough to lose little on a kill."""

_KEY_LOOKUP_BATCH: Final = 900  # ids per IN list: under SQLite's old 999-parameter cap
_PATIENT_COLUMNS: Final = TABLES["patients"].column_names
_PATIENT_INSERT_COLUMNS: Final = (*_PATIENT_COLUMNS, *PROVENANCE_COLUMNS)

Status = Literal["imported", "updated", "unchanged"]
_WRITE_ERRORS: Final[tuple[type[Exception], ...]] = (SQLAlchemyError, *bulk.DRIVER_ERRORS)


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What writing one record did: ``imported`` (new patient), ``updated`` or ``unchanged``."""

    source: str
    id: str
    pk: int
    status: Status


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of every record written, in input order."""

    outcomes: tuple[RecordOutcome, ...] = ()

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def imported(self) -> int:
        return self.count("imported")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    def __add__(self, other: ImportResult) -> ImportResult:
        return ImportResult(self.outcomes + other.outcomes)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a stored patient's current content came from."""

    pk: int
    source: str
    id: str
    content_hash: str
    imported_at: dt.datetime
    import_source: str
    import_batch_id: int | None


def content_hash(record: Record) -> str:
    """SHA-256 (hex) of the record's canonical JSON: equal for records with equal content."""
    return _digest(canonical_json(record.to_json_dict()))


def _digest(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A record flattened for writing: canonical JSON, its hash, and its rows without ``pk``.

    Plain strings and tuples, so that records can be validated and prepared in worker
    processes and sent to the one writing process cheaply (:func:`prepare_record`).
    """

    source: str
    id: str
    document: str
    content_hash: str
    rows: dict[str, list[tuple[Any, ...]]]  # table -> rows, each without its leading pk

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)


def prepare_record(record: Record) -> PreparedRecord:
    """Flatten ``record`` into the rows of every table (:mod:`bonepath.record.columns`)."""
    document = canonical_json(record.to_json_dict())
    buffer = to_columns([(0, record)])
    rows = {
        name: [row[1:] for row in zip(*columns.values(), strict=True)]
        for name, columns in buffer.items()
        if columns["pk"]
    }
    return PreparedRecord(record.source, record.id, document, _digest(document), rows)


@dataclass(frozen=True, slots=True)
class _Pending:
    prepared: PreparedRecord
    import_source: str

    @property
    def key(self) -> tuple[str, str]:
        return self.prepared.key

    @property
    def hash(self) -> str:
        return self.prepared.content_hash


class Store:
    """A bonepath store on one database (see the module docstring); use :func:`open_store`."""

    table_names: Final[tuple[str, ...]] = TABLE_NAMES
    """The record tables, named as :data:`~bonepath.record.columns.TABLES`."""
    tables: Final[Mapping[str, Table]] = RECORD_TABLES
    """The SQLAlchemy tables by name (``patients`` first, then the event families)."""

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine: Final = engine
        self.schema: Final = schema

    # ---- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ---- writing ------------------------------------------------------------------------------

    def upsert_records(
        self,
        records: Iterable[Record],
        *,
        import_source: str,
        batch_id: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ImportResult:
        """Write ``records`` (all from ``import_source``), one transaction per chunk.

        Returns the outcome of each record in input order. A record whose ``(source, id)``
        appears twice is written in input order (the second is ``updated`` or ``unchanged``).
        """
        return self.upsert_sourced(
            ((record, import_source) for record in records),
            batch_id=batch_id,
            chunk_size=chunk_size,
        )

    def upsert_sourced(
        self,
        items: Iterable[tuple[Record, str]],
        *,
        batch_id: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ImportResult:
        """:meth:`upsert_records` for ``(record, import_source)`` pairs from several sources."""
        return self.upsert_prepared(
            ((prepare_record(record), source) for record, source in items),
            batch_id=batch_id,
            chunk_size=chunk_size,
        )

    def upsert_prepared(
        self,
        items: Iterable[tuple[PreparedRecord, str]],
        *,
        batch_id: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ImportResult:
        """:meth:`upsert_sourced` for records already flattened by :func:`prepare_record`."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        outcomes: list[RecordOutcome] = []
        iterator = iter(items)
        while chunk := [_Pending(*item) for item in islice(iterator, chunk_size)]:
            try:
                with write_transaction(self.engine) as conn:
                    outcomes.extend(self._write_chunk(conn, chunk, batch_id))
            except _WRITE_ERRORS as exc:
                raise StoreError(f"writing {len(chunk)} records failed: {exc}") from exc
        return ImportResult(tuple(outcomes))

    def _write_chunk(
        self, conn: Connection, pending: Sequence[_Pending], batch_id: int | None
    ) -> list[RecordOutcome]:
        stored = _stored_hashes(conn, {item.key for item in pending})
        # Walk the chunk in input order: state = the (pk, hash) each key has after each record.
        state: dict[tuple[str, str], tuple[int | None, str]] = dict(stored)
        final: dict[tuple[str, str], _Pending] = {}
        statuses: list[Status] = []
        for item in pending:
            before = state.get(item.key)
            if before is None:
                statuses.append("imported")
            elif before[1] == item.hash:
                statuses.append("unchanged")
            else:
                statuses.append("updated")
            state[item.key] = (before[0] if before else None, item.hash)
            final[item.key] = item
        to_insert = [item for key, item in final.items() if key not in stored]
        to_update = [
            (stored[key][0], item)
            for key, item in final.items()
            if key in stored and stored[key][1] != item.hash
        ]
        new_pks = bulk.allocate_pks(conn, patients, len(to_insert))
        pks = {key: pk for key, (pk, _) in stored.items()}
        pks.update((item.key, pk) for pk, item in zip(new_pks, to_insert, strict=True))

        written = [*to_update, *zip(new_pks, to_insert, strict=True)]
        now = dt.datetime.now(dt.UTC)
        patient_rows = [
            (
                pk,
                *item.prepared.rows["patients"][0],
                item.prepared.document,
                item.hash,
                now,
                item.import_source,
                batch_id,
            )
            for pk, item in written
        ]
        if to_update:
            updated_pks = [pk for pk, _ in to_update]
            for table in EVENT_TABLES.values():
                conn.execute(delete(table).where(table.c.pk.in_(updated_pks)))
            conn.execute(
                update(patients).where(patients.c.pk == bindparam("b_pk")),
                [_update_parameters(row) for row in patient_rows[: len(to_update)]],
            )
        bulk.insert_rows(conn, patients, _PATIENT_INSERT_COLUMNS, patient_rows[len(to_update) :])
        for name, table in EVENT_TABLES.items():
            rows = [(pk, *row) for pk, item in written for row in item.prepared.rows.get(name, ())]
            bulk.insert_rows(conn, table, TABLES[name].column_names, rows)
        if batch_id is not None:
            conn.execute(
                update(import_batches)
                .where(import_batches.c.id == batch_id)
                .values(
                    imported=import_batches.c.imported + statuses.count("imported"),
                    updated=import_batches.c.updated + statuses.count("updated"),
                    unchanged=import_batches.c.unchanged + statuses.count("unchanged"),
                )
            )
        return [
            RecordOutcome(*item.key, pks[item.key], status)
            for item, status in zip(pending, statuses, strict=True)
        ]

    def write_record(
        self,
        record: Record,
        *,
        import_source: str,
        expected_hash: str | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> RecordOutcome:
        """Write one record and run ``also`` (e.g. its history rows) in the same transaction.

        With ``expected_hash``, the write is refused (:class:`~bonepath.errors.RecordRefused`
        ``RECORD_CHANGED``, nothing written) when the stored record is no longer the one the
        caller read (another user wrote it in between)."""
        prepared = prepare_record(record)
        try:
            with write_transaction(self.engine) as conn:
                if expected_hash is not None:
                    stored = _stored_hashes(conn, {prepared.key}).get(prepared.key)
                    if stored is None or stored[1] != expected_hash:
                        raise RecordRefused(
                            [
                                Problem(
                                    "/",
                                    "RECORD_CHANGED",
                                    "the record was changed by someone else since it was read",
                                )
                            ]
                        )
                outcome = self._write_chunk(conn, [_Pending(prepared, import_source)], None)[0]
                if also is not None:
                    also(conn)
        except _WRITE_ERRORS as exc:
            raise StoreError(f"writing the record failed: {exc}") from exc
        return outcome

    def delete_patient(self, source: str, id: str) -> bool:
        """Remove a patient and all its event rows; False when there was none."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                delete(patients).where(patients.c.source == source, patients.c.id == id)
            )
            return result.rowcount > 0

    # ---- import batches -----------------------------------------------------------------------

    def start_batch(self, import_source: str) -> int:
        """Record the start of an import run; returns its id for :meth:`upsert_records`."""
        with write_transaction(self.engine) as conn:
            batch_id = conn.execute(
                import_batches.insert()
                .values(import_source=import_source, started_at=dt.datetime.now(dt.UTC))
                .returning(import_batches.c.id)
            ).scalar_one()
        return int(batch_id)

    def finish_batch(self, batch_id: int, *, refused: int) -> None:
        """Record the end of an import run and how many records it refused."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(import_batches)
                .where(import_batches.c.id == batch_id)
                .values(finished_at=dt.datetime.now(dt.UTC), refused=refused)
            )

    # ---- reading ------------------------------------------------------------------------------

    def get_record(self, source: str, id: str) -> Record | None:
        """The stored record of patient ``(source, id)``, or None."""
        return self._one_record(patients.c.source == source, patients.c.id == id)

    def sources_of(self, id: str) -> list[str]:
        """The sources that hold a patient with ``id``, sorted (``bonepath evaluate --patient``
        finds a patient by its id alone when exactly one does)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(patients.c.source).where(patients.c.id == id).order_by(patients.c.source)
            ).scalars()
            return [str(source) for source in rows]

    def get_by_pk(self, pk: int) -> Record | None:
        """The stored record whose surrogate key is ``pk``, or None."""
        return self._one_record(patients.c.pk == pk)

    def pk_of(self, source: str, id: str) -> int | None:
        """The surrogate key of patient ``(source, id)``, or None."""
        with self.engine.connect() as conn:
            pk = conn.execute(
                select(patients.c.pk).where(patients.c.source == source, patients.c.id == id)
            ).scalar_one_or_none()
        return None if pk is None else int(pk)

    def get_provenance(self, source: str, id: str) -> Provenance | None:
        """Hash, time and origin of the stored content of patient ``(source, id)``."""
        columns = [patients.c[name] for name in ("pk", "source", "id", *PROVENANCE_COLUMNS[1:])]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*columns).where(patients.c.source == source, patients.c.id == id)
            ).one_or_none()
        return None if row is None else Provenance(*row)

    def count_patients(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(patients)).scalar_one())

    def iter_records(self, *, batch_size: int = 1000) -> Iterator[Record]:
        """Every stored record in ``pk`` order, streamed ``batch_size`` rows at a time."""
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch_size).execute(
                select(patients.c.record).order_by(patients.c.pk)
            )
            for document in result.scalars():
                yield Record.model_validate(document)

    def _one_record(self, *where: Any) -> Record | None:
        with self.engine.connect() as conn:
            document = conn.execute(select(patients.c.record).where(*where)).scalar_one_or_none()
        return None if document is None else Record.model_validate(document)


def _stored_hashes(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """``(source, id) -> (pk, content_hash)`` for the keys already in the store."""
    ids_by_source: dict[str, list[str]] = {}
    for source, id_ in sorted(keys):
        ids_by_source.setdefault(source, []).append(id_)
    found: dict[tuple[str, str], tuple[int, str]] = {}
    if conn.dialect.name == "postgresql":
        # The ids as one array, joined to the unique index (source, id): with an IN list of
        # parameters PostgreSQL's generic plan (a prepared statement, no statistics yet on a
        # new store) scans every row of the source and compares it with each id, so a first
        # import got slower with every chunk (10 s per lookup at 84,000 patients).
        for source, ids in ids_by_source.items():
            array = bindparam("ids", ids, type_=postgresql.ARRAY(String))
            wanted = func.unnest(array).table_valued("id").render_derived()
            on = (patients.c.source == source) & (patients.c.id == wanted.c.id)
            rows = conn.execute(
                select(patients.c.pk, patients.c.id, patients.c.content_hash).join_from(
                    wanted, patients, on
                )
            )
            for pk, id_, digest in rows:
                found[(source, id_)] = (int(pk), digest)
        return found
    # source = ? AND id IN (...), not (source, id) IN (VALUES ...): SQLite scans the whole
    # table for the row-value form instead of using the unique index.
    for source, ids in ids_by_source.items():
        remaining = iter(ids)
        while batch := list(islice(remaining, _KEY_LOOKUP_BATCH)):
            rows = conn.execute(
                select(patients.c.pk, patients.c.id, patients.c.content_hash).where(
                    patients.c.source == source, patients.c.id.in_(batch)
                )
            )
            for pk, id_, digest in rows:
                found[(source, id_)] = (int(pk), digest)
    return found


def _update_parameters(row: bulk.Row) -> dict[str, Any]:
    """UPDATE parameters from an insert row; the natural key and pk stay as they are."""
    values = dict(zip(_PATIENT_INSERT_COLUMNS, row, strict=True))
    pk = values.pop("pk")
    del values["source"], values["id"]
    # The JSON column's bind processor serializes (canonically) an object, not text.
    return {"b_pk": pk, **values, "record": orjson.loads(values["record"])}


def open_store(url: str | URL, *, schema: str | None = None, migrate_schema: bool = True) -> Store:
    """Open (and on a fresh database create) the store at ``url``.

    Parameters
    ----------
    url
        An SQLAlchemy URL: ``sqlite:///PATH`` (the file and its directory are created) or
        ``postgresql+psycopg://…``.
    schema
        PostgreSQL only: keep the store's tables in this schema (created when missing).
    migrate_schema
        Run the migrations to head first (the default; cheap when already there).

    Raises
    ------
    ConfigError
        The URL or schema name is unusable.
    StoreError
        The database cannot be reached or migrated.
    """
    engine = create_store_engine(url, schema=schema)
    try:
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{check_schema_name(schema)}"'))
        if migrate_schema:
            migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store at {engine.url!r}: {exc}") from exc
    return Store(engine, schema=schema)
