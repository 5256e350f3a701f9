"""The ADBC SQLite reader's own process: ``python -m bonepath.population.adbc_reader``.

The ADBC SQLite driver carries its own copy of the SQLite library. SQLite's POSIX locks
belong to a *process*, and closing any descriptor of a file drops every lock the process
holds on it; one SQLite library knows this and keeps its descriptors open while another of
its connections holds locks, but two libraries in one process cannot know of each other
("How To Corrupt An SQLite Database File", §2.2.1 and §2.2.2). Closing the driver's
connection inside the web server therefore released the locks of the server's own
connections, and the next process that closed the store deleted the ``-wal`` and ``-shm``
files the server still used. So the driver never runs in a process that opens the store
through Python's ``sqlite3``: :mod:`bonepath.population.tables` starts this module as a
child, which holds its own locks only, and receives Arrow tables back.

Protocol (this module and :class:`bonepath.population.tables._ReaderProcess` only):

- stdin, one JSON object a line: first ``{"uri": …}`` (open read-only, ``BEGIN``), then
  ``{"sql": [q1, q2, …]}`` any number of times; end of input ends the read transaction.
- stdout, frames of one kind byte, an 8-byte little-endian length and the payload:
  ``R`` ready (empty), ``T`` one result as an Arrow IPC stream (one per query, in order),
  ``E`` an error message (UTF-8); after an ``E`` the process stops.

Everything runs inside one read transaction, so every result is from one snapshot. Only
``pyarrow`` and the driver are imported here: the process starts in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any, BinaryIO, Final

HEADER: Final = struct.Struct("<cQ")
"""A frame's header: kind byte and payload length."""
READY: Final = b"R"
TABLE: Final = b"T"
ERROR: Final = b"E"
BUSY_TIMEOUT_MS: Final = 30_000
"""As the store's own connections (bonepath.store.db): wait for a checkpoint, do not fail."""


def _frame(out: BinaryIO, kind: bytes, payload: Any = b"") -> None:
    out.write(HEADER.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def serve(requests: BinaryIO, out: BinaryIO) -> int:
    """Answer the requests on ``requests`` (see the module docstring); the exit status."""
    try:
        # the driver manager's low-level API: its DB-API layer would import pandas (≈ 3 × the
        # start-up time of this process)
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite
        import pyarrow as pa
    except ImportError as missing:
        _frame(out, ERROR, f"adbc_driver_sqlite is not installed ({missing})".encode())
        return 1
    line = requests.readline()
    if not line:
        return 0
    uri = json.loads(line)["uri"]
    try:
        database = adbc_driver_sqlite.connect(uri)
    except adbc.Error as error:
        _frame(out, ERROR, str(error).encode())
        return 1
    try:
        with adbc.AdbcConnection(database) as connection:
            statement = adbc.AdbcStatement(connection)
            try:
                return _answer(requests, out, statement, adbc, pa)
            finally:
                statement.close()
    except adbc.Error as error:
        _frame(out, ERROR, str(error).encode())
        return 1
    finally:
        database.close()


def _answer(requests: BinaryIO, out: BinaryIO, statement: Any, adbc: Any, pa: Any) -> int:
    """The read transaction on an open connection (autocommit: ``BEGIN`` is ours)."""

    def run(sql: str) -> Any:
        statement.set_sql_query(sql)
        stream, _rows = statement.execute_query()
        return pa.RecordBatchReader.from_stream(stream).read_all()

    try:
        run(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        statement.set_sql_query("BEGIN")
        statement.execute_update()
    except adbc.Error as error:
        _frame(out, ERROR, str(error).encode())
        return 1
    try:
        _frame(out, READY)
        while line := requests.readline():
            for sql in json.loads(line)["sql"]:
                try:
                    table = run(sql)
                except adbc.Error as error:
                    _frame(out, ERROR, str(error).encode())
                    return 1
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                _frame(out, TABLE, sink.getvalue())
    except BrokenPipeError:  # the reading process went away: nothing to answer
        # (and nothing to flush at exit: Python's documented way out of a closed pipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        statement.set_sql_query("ROLLBACK")
        statement.execute_update()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
