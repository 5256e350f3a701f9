"""Engines for the two supported databases: embedded SQLite and PostgreSQL (psycopg 3).

SQLite connections get the pragmas a shared file store needs (WAL, foreign keys, a busy
timeout) and SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN`` so that transactions
(DDL included) are real. A write transaction starts ``BEGIN IMMEDIATE`` so that two writers
queue (up to the busy timeout) instead of failing: a transaction begun deferred reads first,
and SQLite cannot upgrade its read lock to the write lock while another connection writes or
has written since — it answers "database is locked" at once, without waiting, whatever the
busy timeout. So on SQLite ``engine.begin()`` (the idiom "connect, begin, commit") and
:func:`write_transaction` begin ``IMMEDIATE``; reads go through ``engine.connect()`` (or an
explicit ``Connection.begin()``), which begin deferred and never wait for a writer (WAL).
On PostgreSQL a store may live in its own schema (``search_path`` set on every connection)
and :func:`write_transaction` queues writers on an advisory lock.

Only Python's ``sqlite3`` (SQLAlchemy's driver) opens a store file in a process that uses
this module: another SQLite library in the same process would drop this one's POSIX locks
when it closes the file (docs/operations.md, "The store's concurrency model"); the ADBC
reader runs in a child process (:mod:`bonepath.population.adbc_reader`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bonepath.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
"""How long a SQLite writer waits for another writer's transaction before failing."""
SQLITE_CACHE_KIB: Final = 32 * 1024
"""Page cache per SQLite connection (the default 2 MiB makes bulk imports re-read indexes)."""

_WRITE_OPTION: Final = "bonepath_write"
_SCHEMA_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def canonical_json(value: object) -> str:
    """JSON text with sorted keys and no spaces: the form a record is stored and hashed in."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def parse_url(url: str | URL) -> URL:
    """The SQLAlchemy URL of a store; ``postgresql://`` means psycopg 3.

    Raises :class:`~bonepath.errors.ConfigError` for a malformed URL or another database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r} ({exc})") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", ""):
            raise ConfigError(
                f"PostgreSQL is reached through psycopg 3: use postgresql+psycopg://, "
                f"not {parsed.drivername}://"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.get_driver_name() not in ("pysqlite", ""):
            raise ConfigError(
                f"SQLite is reached through sqlite3: use sqlite:///PATH, not {parsed}"
            )
        return parsed
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://…")


def check_schema_name(schema: str) -> str:
    """``schema`` if it is a plain PostgreSQL identifier, else :class:`ConfigError`."""
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            f"schema {schema!r} is not a plain identifier (letters, digits, _; at most 63)"
        )
    return schema


def create_store_engine(url: str | URL, *, schema: str | None = None) -> Engine:
    """An engine for ``url`` with the store's connection settings (see the module docstring).

    ``schema`` (PostgreSQL only) puts every table of the store in that schema; it must exist
    (:func:`bonepath.store.repository.open_store` creates it).
    """
    parsed = parse_url(url)
    options: dict[str, Any] = {"json_serializer": canonical_json, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ConfigError("a schema applies to PostgreSQL stores only; SQLite has one file")
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        # everything create_engine set up stays; only begin() changes (a write transaction)
        engine.__class__ = SQLiteStoreEngine
        return engine
    engine = create_engine(parsed, pool_pre_ping=True, **options)
    if schema is not None:
        search_path = f'"{check_schema_name(schema)}"'

        def _set_search_path(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET SESSION search_path TO {search_path}")
            dbapi_connection.autocommit = autocommit

        event.listen(engine, "connect", _set_search_path, insert=True)
    return engine


class SQLiteStoreEngine(Engine):
    """The engine of a SQLite store: ``begin()`` is a write transaction (``BEGIN
    IMMEDIATE``, see the module docstring); everything else is SQLAlchemy's ``Engine``.
    (A copy made by ``execution_options()`` is a plain ``Engine`` again: write through
    :func:`write_transaction` there.)"""

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin); sqlite3's own transaction control
    # would leave DDL and SELECTs outside transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        # WAL: readers (the web app, worklists) keep reading while an import writes.
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on leaving, rolled back on error.

    Writers of one store are serialized for the whole transaction: ``BEGIN IMMEDIATE`` on
    SQLite, a transaction-scoped advisory lock on PostgreSQL (per schema), so that reading
    the current state and writing the new one cannot interleave with another import.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text(
                        "SELECT pg_advisory_xact_lock("
                        "hashtext(coalesce(current_schema(), '') || :name))"
                    ),
                    {"name": "/bonepath-write"},
                )
            yield conn
