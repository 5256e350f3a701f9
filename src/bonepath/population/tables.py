"""The store's record tables read column-wise into Arrow, in the engine's exact layout.

Only the columns of :data:`bonepath.record.columns.TABLES` are read (never the provenance of
``patients``), typed as the engine expects (:func:`bonepath.engine.evaluate.arrow_schema`). All
tables are read in one transaction, so they are one consistent snapshot of the store.

A SQLite file is read through the Arrow Database Connectivity (ADBC) SQLite driver, which
builds Arrow columns in C (5.5 million rows in 5 s instead of 23 s through Python's cursor;
bench/README.md). The driver carries its own SQLite library, and two SQLite libraries must never
open one file in one process (closing one's connection drops the other's POSIX locks, and
another process then deletes the WAL under the first: docs/operations.md, "The store's
concurrency model"); so it runs in a short-lived child process of its own
(:mod:`bonepath.population.adbc_reader`), which hands the tables back as Arrow IPC streams
through a pipe. The driver infers each column's type from the first rows of a batch, so every
query starts with a typed *witness* row (dropped after reading) that no NULL can hide. An
in-memory store, or a driver error, falls back to Python's cursor: rows in chunks, dates as
ISO text and booleans as 0/1, cast by Arrow a whole column at a time. PostgreSQL streams
``COPY (SELECT …) TO STDOUT`` as CSV straight into Arrow's CSV reader, so no value passes
through a Python object.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import IO, Any, Final, cast
from urllib.parse import quote

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Engine, Select, select
from sqlalchemy.sql.elements import ColumnElement

from bonepath.engine.duckdb_runner import arrow_schema
from bonepath.errors import StoreError
from bonepath.population import adbc_reader
from bonepath.population.chunks import CHUNK_PATIENTS
from bonepath.record.columns import TABLES
from bonepath.store.schema import RECORD_TABLES, patients

_log = logging.getLogger(__name__)

FETCH_ROWS: Final = 50_000
"""Rows per driver fetch on SQLite: Arrow arrays are built a chunk at a time."""

# How SQLite returns each column type; Arrow casts the whole column to the engine's type.
_SQLITE_STORAGE: Final[dict[pa.DataType, pa.DataType]] = {
    pa.date32(): pa.string(),
    pa.bool_(): pa.int64(),
}


def table_select(
    name: str,
    where: Sequence[ColumnElement[bool]] = (),
    keys: tuple[int, int] | None = None,
) -> Select[Any]:
    """``SELECT`` of exactly the :data:`TABLES` columns of store table ``name``.

    ``where`` are conditions on :data:`bonepath.store.schema.patients`; they restrict every
    table to the matching patients. ``keys`` restricts every table to the patient keys from
    ``keys[0]`` to ``keys[1]`` (a part: a range scan of each table's ``(pk, …)`` index).
    """
    table = RECORD_TABLES[name]
    stmt = select(*(table.c[column] for column in TABLES[name].column_names))
    if keys is not None:
        stmt = stmt.where(table.c.pk.between(int(keys[0]), int(keys[1])))
    if where:
        if name == "patients":
            stmt = stmt.where(*where)
        else:
            stmt = stmt.where(table.c.pk.in_(select(patients.c.pk).where(*where)))
    return stmt


def read_tables(engine: Engine, where: Sequence[ColumnElement[bool]] = ()) -> dict[str, pa.Table]:
    """Every record table of the store at ``engine`` as an Arrow table, one snapshot.

    Parameters
    ----------
    engine
        The store's engine (SQLite or PostgreSQL).
    where
        Conditions on ``patients`` (hospital, department …); default every patient.
    """
    if (path := sqlite_file(engine)) is not None:
        try:
            with _adbc_sqlite(path) as reader:
                return _read_adbc(reader, engine, where)
        except _AdbcUnusable as unusable:
            _log.warning("reading %s through Python's sqlite3: %s", path, unusable)
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # one snapshot for all tables: REPEATABLE READ before the first query
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return {name: _read_postgres(conn, name, where) for name in TABLES}
        return {name: _read_sqlite(conn, name, where) for name in TABLES}


def read_table_parts(
    engine: Engine,
    where: Sequence[ColumnElement[bool]] = (),
    chunk_patients: int = CHUNK_PATIENTS,
) -> Iterator[dict[str, pa.Table]]:
    """The record tables of the selected patients, a part of at most ``chunk_patients``
    patients at a time (consecutive key ranges), all parts read in one transaction — one
    snapshot, as :func:`read_tables` — so only one part is ever in memory.

    The transaction stays open until the iterator is exhausted or closed.
    """
    if chunk_patients < 1:
        raise ValueError("a part holds at least one patient")
    if (path := sqlite_file(engine)) is not None:
        parts = _adbc_parts(path, engine, where, chunk_patients)
        try:
            first = next(parts, None)
        except _AdbcUnusable as unusable:
            _log.warning("reading %s through Python's sqlite3: %s", path, unusable)
        else:
            if first is not None:
                yield first
                try:
                    yield from parts
                except _AdbcUnusable as unusable:
                    # parts already handed out came from this snapshot: no fallback half-way
                    raise StoreError(
                        f"reading {path} failed after a first part: {unusable}"
                    ) from unusable
            return
    with engine.connect() as conn, conn.begin():
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        read = _read_postgres if postgres else _read_sqlite
        keys = list(conn.execute(_keys_select(where)).scalars())
        for part in _key_ranges(keys, chunk_patients):
            yield {name: read(conn, name, where, part) for name in TABLES}


def _keys_select(where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """The keys of the selected patients, in order (the parts of :func:`read_table_parts`)."""
    return select(patients.c.pk).where(*where).order_by(patients.c.pk)


def sqlite_file(engine: Engine) -> str | None:
    """The database file of an SQLite store; None for PostgreSQL or an in-memory SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class _AdbcUnusable(Exception):
    """The ADBC SQLite driver is missing or could not read a table as the engine types it."""


class _ReaderProcess:
    """The ADBC reader's child process (:mod:`bonepath.population.adbc_reader`): queries go
    in as JSON lines, results come back as framed Arrow IPC streams, all in one read
    transaction of the child."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._requests: IO[bytes] = process.stdin
        self._answers = cast(io.BufferedReader, process.stdout)

    def send(self, request: dict[str, Any]) -> None:
        try:
            self._requests.write(json.dumps(request).encode() + b"\n")
            self._requests.flush()
        except OSError as error:  # the child has gone
            raise _AdbcUnusable(f"the reader process stopped ({error})") from error

    def receive(self) -> tuple[bytes, pa.Buffer]:
        """The next frame: its kind and payload (an ``E`` frame raises)."""
        header = self._answers.read(adbc_reader.HEADER.size)
        if len(header) < adbc_reader.HEADER.size:
            self._process.wait()
            raise _AdbcUnusable(f"the reader process stopped (exit {self._process.returncode})")
        kind, size = adbc_reader.HEADER.unpack(header)
        payload = pa.allocate_buffer(size, resizable=False)
        view = memoryview(payload)
        got = 0
        while got < size:
            read = self._answers.readinto(view[got:])
            if not read:
                raise _AdbcUnusable("the reader process stopped in mid-answer")
            got += read
        if kind == adbc_reader.ERROR:
            raise _AdbcUnusable(payload.to_pybytes().decode(errors="replace"))
        return kind, payload

    def query(self, sqls: Sequence[str]) -> list[pa.Table]:
        """The result of each query, in order, as the driver typed it."""
        self.send({"sql": list(sqls)})
        tables = []
        for _sql in sqls:
            kind, payload = self.receive()
            if kind != adbc_reader.TABLE:
                raise _AdbcUnusable(f"the reader process answered {kind!r}")
            tables.append(pa.ipc.open_stream(payload).read_all())
        return tables

    def close(self) -> None:
        for pipe in (self._requests, self._answers):
            with contextlib.suppress(OSError):  # a child gone mid-write
                pipe.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a wedged child
            self._process.kill()
            self._process.wait()


@contextmanager
def _adbc_sqlite(path: str) -> Iterator[_ReaderProcess]:
    """The ADBC SQLite driver, in a child process, on ``path``: read-only (``mode=ro``), in
    one read transaction (one snapshot of every table, as the store's own reads) that ends
    when the context does."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    if not sys.executable:  # pragma: no cover - an embedded interpreter
        raise _AdbcUnusable("no Python executable to run the reader process")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", adbc_reader.__name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
    except OSError as error:
        raise _AdbcUnusable(f"cannot start the reader process: {error}") from error
    reader = _ReaderProcess(process)
    try:
        reader.send({"uri": uri})
        kind, _ = reader.receive()
        if kind != adbc_reader.READY:
            raise _AdbcUnusable(f"the reader process answered {kind!r}")
        yield reader
    finally:
        reader.close()


def _witness(field: pa.Field) -> str:
    """A non-NULL literal of the SQLite storage type of an engine column."""
    storage = _SQLITE_STORAGE.get(field.type, field.type)
    if pa.types.is_integer(storage):
        return "-1"
    if pa.types.is_floating(storage):
        return "0.5"
    return "''"


def _adbc_query(
    engine: Engine,
    name: str,
    where: Sequence[ColumnElement[bool]],
    keys: tuple[int, int] | None = None,
) -> str:
    """The SQL of one table for the ADBC driver: a witness row typed like the engine's
    columns, then the rows (SQLite returns a ``UNION ALL``'s arms in order)."""
    query = table_select(name, where, keys).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    witness = ", ".join(f'{_witness(field)} AS "{field.name}"' for field in arrow_schema(name))
    return f"SELECT {witness} UNION ALL SELECT * FROM ({query})"


def _from_adbc(name: str, table: pa.Table) -> pa.Table:
    """A table as the driver typed it, in the engine's types: the witness (``pk`` -1, never
    a store key) is checked and dropped."""
    schema = arrow_schema(name)
    if table.num_rows == 0 or table.column(0)[0].as_py() != -1:
        raise _AdbcUnusable(f"{name}: the witness row did not come first")
    storage = pa.schema(
        [pa.field(field.name, _SQLITE_STORAGE.get(field.type, field.type)) for field in schema]
    )
    try:
        return table.slice(1).rename_columns(schema.names).cast(storage).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise _AdbcUnusable(f"{name}: {error}") from error


def _read_adbc(
    reader: _ReaderProcess,
    engine: Engine,
    where: Sequence[ColumnElement[bool]],
    keys: tuple[int, int] | None = None,
) -> dict[str, pa.Table]:
    """Every record table (of the patients ``keys``) through the reader process."""
    names = list(TABLES)
    tables = reader.query([_adbc_query(engine, name, where, keys) for name in names])
    return {name: _from_adbc(name, table) for name, table in zip(names, tables, strict=True)}


def _adbc_parts(
    path: str,
    engine: Engine,
    where: Sequence[ColumnElement[bool]],
    chunk_patients: int,
) -> Iterator[dict[str, pa.Table]]:
    """:func:`read_table_parts` through the ADBC driver, all parts in one read transaction."""
    with _adbc_sqlite(path) as reader:
        keys_sql = _keys_select(where).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
        (found,) = reader.query([str(keys_sql)])
        keys = found.column(0).to_pylist() if found.num_columns else []
        for part in _key_ranges(keys, chunk_patients):
            yield _read_adbc(reader, engine, where, part)


def _key_ranges(keys: Sequence[int], size: int) -> Iterator[tuple[int, int]]:
    """Consecutive ranges (first key, last key) of at most ``size`` of the sorted ``keys``."""
    for start in range(0, len(keys), size):
        yield int(keys[start]), int(keys[min(start + size, len(keys)) - 1])


def _read_sqlite(
    conn: Connection,
    name: str,
    where: Sequence[ColumnElement[bool]],
    keys: tuple[int, int] | None = None,
) -> pa.Table:
    schema = arrow_schema(name)
    compiled = table_select(name, where, keys).compile(
        dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = [compiled.params[key] for key in compiled.positiontup or ()]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        batches: list[pa.RecordBatch] = []
        while rows := cursor.fetchmany(FETCH_ROWS):
            columns = list(zip(*rows, strict=True))
            arrays = [
                pa.array(values, type=_SQLITE_STORAGE.get(field.type, field.type)).cast(field.type)
                for values, field in zip(columns, schema, strict=True)
            ]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    finally:
        cursor.close()
    return pa.Table.from_batches(batches, schema=schema)


class _CopyReader(io.RawIOBase):
    """The data blocks of a psycopg ``COPY … TO STDOUT`` as a readable byte stream."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks = blocks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = memoryview(block).cast("B")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _read_postgres(
    conn: Connection,
    name: str,
    where: Sequence[ColumnElement[bool]],
    keys: tuple[int, int] | None = None,
) -> pa.Table:
    schema = arrow_schema(name)
    query = table_select(name, where, keys).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
    )
    # CSV: NULL is an empty unquoted field, an empty string is "" (quoted), booleans t/f
    sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"
    dbapi_connection: Any = conn.connection.driver_connection
    with dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
        blocks = iter(copy)
        first = next(blocks, None)
        if first is None:  # Arrow's CSV reader refuses an empty input
            return schema.empty_table()
        stream = io.BufferedReader(_CopyReader(chain([first], blocks)), buffer_size=1 << 20)
        table = pa_csv.read_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=schema.names, block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
    return table.cast(schema)
