"""Write a batch of records to a store in a real process that SIGKILLs itself mid-transaction.

``python kill_writer.py STORE_URL RECORDS.ndjson CHUNK_SIZE [KILL_TABLE] [--import]``: the
records are parsed and written by :meth:`Store.upsert_records` (the import's bulk path:
``COPY`` on PostgreSQL, prepared ``executemany`` on SQLite), or with ``--import`` imported by
:func:`bonepath.interop.importer.import_paths` (the fast path; the writing thread dies). With ``KILL_TABLE``, the first time that
table's rows are written the process writes half of them through the real bulk writer and
then kills itself (SIGKILL: no ``finally``, no rollback, no atexit) — the patients row and
the earlier event tables of the chunk are already in the open transaction. Not a test
module: ``tests/store/test_kill_during_bulk_write.py`` starts it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Table

from bonepath.interop.importer import import_paths
from bonepath.record.parse import parse_record
from bonepath.store import bulk
from bonepath.store.repository import open_store


def main() -> None:
    through_import = "--import" in sys.argv
    args = [arg for arg in sys.argv if arg != "--import"]
    url, path, chunk_size = args[1], Path(args[2]), int(args[3])
    kill_table = args[4] if len(args) > 4 else None
    if kill_table is not None:
        real = bulk.insert_rows

        def insert_then_die(
            conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Any]
        ) -> None:
            if table.name != kill_table or len(rows) < 2:
                real(conn, table, columns, rows)
                return
            real(conn, table, columns, rows[: len(rows) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

        bulk.insert_rows = insert_then_die
    with open_store(url) as store:
        if through_import:  # `bonepath import`: the fast path, chunks written by a thread
            report = import_paths(store, [path], chunk_size=chunk_size, jobs=1)
            counts = [report.imported, report.updated, report.unchanged]
        else:
            records = [parse_record(orjson.loads(line)) for line in path.read_bytes().splitlines()]
            result = store.upsert_records(records, import_source=path.name, chunk_size=chunk_size)
            counts = [result.imported, result.updated, result.unchanged]
    print(orjson.dumps(counts).decode())


if __name__ == "__main__":
    main()
