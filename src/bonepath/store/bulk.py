"""Bulk writes of many rows: ``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL.

An import writes thousands of patients and tens of thousands of event rows per transaction;
going through SQLAlchemy's per-row parameter handling would cost more than the database
work. Values are converted with the same bind processors SQLAlchemy uses, so rows written
here read back through SQLAlchemy exactly like rows it wrote itself.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final

import psycopg
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, Double, Table, Text, text

Row = tuple[Any, ...]

_BINARY_COPY_TYPES: Final = frozenset(
    {"bigint", "integer", "double precision", "text", "date", "boolean"}
)

# On SQLite the record tables' own types need no bind processor: sqlite3 binds a bool as the
# integer 0/1 (Boolean's processor: int(value)), a DOUBLE column has REAL affinity (Double's
# processor: float(value)), and a date goes through the adapter below as its ISO text (DATE's
# processor: "%04d-%02d-%02d"). So executemany takes the rows as they are, without converting
# them column by column in Python (tests/store/test_bulk_sqlite.py holds the stored values
# equal). The adapter is what Python 3.11's default one does (deprecated since 3.12), in C.
sqlite3.register_adapter(dt.date, dt.date.isoformat)
_SQLITE_NATIVE: Final = frozenset({Boolean, Date, Double, BigInteger, Text})

DRIVER_ERRORS: Final[tuple[type[Exception], ...]] = (psycopg.Error, sqlite3.Error)
"""Errors of the raw driver calls here (COPY), which SQLAlchemy does not wrap."""


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table`` in the current transaction.

    A JSON column takes JSON *text* (:func:`bonepath.store.db.canonical_json`), not objects.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, rows)
    else:
        _executemany_rows(conn, table, columns, rows)


def allocate_pks(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` new surrogate keys for ``table.pk``, in increasing order.

    Runs inside a write transaction (:func:`bonepath.store.db.write_transaction`): on SQLite
    the write lock makes ``max(pk)`` safe; PostgreSQL draws from the column's sequence.
    """
    if count == 0:
        return []
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        drawn = conn.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'pk')) "
                "FROM generate_series(1, :count)"
            ),
            {"table": name, "count": count},
        ).scalars()
        return sorted(int(pk) for pk in drawn)
    top = conn.execute(text(f"SELECT coalesce(max(pk), 0) FROM {name}")).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _column_list(conn: Connection, columns: Sequence[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(quote(name) for name in columns)


def _copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    name = conn.dialect.identifier_preparer.format_table(table)
    types = [table.c[column].type.compile(dialect=conn.dialect).lower() for column in columns]
    # Binary COPY (about 10 % faster) where psycopg has a binary dumper for every column type;
    # ``patients`` (jsonb, varchar) goes as text.
    binary = all(type_name in _BINARY_COPY_TYPES for type_name in types)
    sql = f"COPY {name} ({_column_list(conn, columns)}) FROM STDIN"
    # The DBAPI connection of this SQLAlchemy connection: COPY joins its open transaction.
    dbapi_connection: Any = conn.connection.driver_connection
    with (
        dbapi_connection.cursor() as cursor,
        cursor.copy(sql + " (FORMAT BINARY)" if binary else sql) as copy,
    ):
        if binary:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _executemany_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    dialect = conn.dialect
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            continue  # already JSON text
        if type(column_type) in _SQLITE_NATIVE:
            continue  # sqlite3 stores the value itself as the processor would (see above)
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor))
    if processors:
        # Column by column: one map() per converted column instead of a call per row.
        by_column = list(zip(*rows, strict=True))
        for index, convert in processors:
            by_column[index] = tuple(map(convert, by_column[index]))
        rows = list(zip(*by_column, strict=True))
    name = dialect.identifier_preparer.format_table(table)
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {name} ({_column_list(conn, columns)}) VALUES ({marks})", list(rows)
    )
