"""Benchmark `bonepath import`: a synthetic cohort into SQLite and PostgreSQL, timed.

Usage::

    .venv/bin/python bench/import_bench.py [--patients 100000] [--seed 0] \\
        [--db sqlite postgresql] [--pg-url URL] [--jobs N] [--chunk-size N] [--no-reimport]

The cohort is written once by ``bonepath synth`` to ``bench/out/`` (reused when present).
For each database the import runs in a fresh child process (so its peak RSS is its own),
through :func:`bonepath.interop.importer.import_paths` exactly as ``bonepath import`` runs
it, into an empty store (a new SQLite file; a new PostgreSQL schema, dropped afterwards); then
the same file is imported again (every record ``unchanged``: no writes). Printed per run:
wall time, CPU time of the importing process, patients/s (over wall time), the seconds spent
writing (inside ``Store.upsert_prepared``: executemany on SQLite, COPY on PostgreSQL; since
issue 19 in the importer's writing thread, overlapping the reading and validating), the
rows written per second of that, and the peak RSS. After the first import the floor runs in
another fresh child (``_run_floor``: the same rows loaded raw into an empty store of the same
schema, one transaction, in bounded memory). The last lines are the Markdown rows of the
tables in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _cohort(patients: int, seed: int) -> Path:
    path = OUT / f"cohort-{patients}-seed{seed}.ndjson"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bonepath", "synth", "--patients", str(patients)]
        subprocess.run([*command, "--seed", str(seed), "--out", str(path)], check=True)
    return path


def _run_import(url: str, path: Path, jobs: int | None, chunk_size: int) -> dict[str, Any]:
    """One import in this process (the child); returns its measurements."""
    from sqlalchemy import func, select

    from bonepath.interop.importer import import_paths
    from bonepath.record.columns import TABLE_NAMES
    from bonepath.store.repository import Store, open_store
    from bonepath.store.schema import RECORD_TABLES

    store = open_store(url)
    writing = 0.0
    upsert = Store.upsert_prepared

    def timed_upsert(self: Store, *args: Any, **kwargs: Any) -> Any:
        nonlocal writing
        started = time.perf_counter()
        try:
            return upsert(self, *args, **kwargs)
        finally:
            writing += time.perf_counter() - started

    Store.upsert_prepared = timed_upsert  # type: ignore[method-assign]
    started = time.perf_counter()
    report = import_paths(store, [path], jobs=jobs, chunk_size=chunk_size)
    wall = time.perf_counter() - started
    with store.engine.connect() as conn:
        rows = sum(
            conn.execute(select(func.count()).select_from(RECORD_TABLES[name])).scalar_one()
            for name in TABLE_NAMES
        )
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "imported": report.imported,
        "unchanged": report.unchanged,
        "refused": report.refused,
        "wall_s": wall,
        "write_s": writing,
        "rows": rows,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,
    }


FLOOR_CHUNK_ROWS = 50_000
"""Rows the SQLite floor reads back and loads per ``executemany`` (memory bounded: 1M patients
are 55 million rows)."""
COPY_BLOCK = 1 << 20
"""Bytes of the PostgreSQL floor's spill file sent per ``COPY`` write."""


def _run_floor(url: str, fresh_url: str, spill_dir: str) -> dict[str, Any]:
    """The floor: the rows the import stored, loaded raw into a fresh store of the same schema
    (indexes and foreign keys included) in one transaction — binary ``COPY`` on PostgreSQL,
    ``executemany`` on SQLite. Only the load is timed (reading the rows back and creating the
    empty store are not).

    Memory stays bounded whatever the cohort size: on PostgreSQL the rows are first copied out
    (binary ``COPY … TO STDOUT``, untimed) into one spill file per table under ``spill_dir``,
    then the timed load streams those files into ``COPY … FROM STDIN`` a block at a time
    (reading the file is part of the load, as for any bulk loader); on SQLite the rows are read
    back ``FLOOR_CHUNK_ROWS`` at a time and each chunk's ``executemany`` is timed (the clock
    runs only around the inserts; the read-back of the next chunk is outside it), all in one
    transaction on the target."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from bonepath.record.columns import TABLE_NAMES
    from bonepath.store.repository import open_store

    source = open_store(url)
    target = open_store(fresh_url)
    target.close()
    rows = 0
    spilled = 0
    # the batch row first: patients.import_batch_id refers to it
    tables_in_order = ("import_batches", *TABLE_NAMES)
    if source.engine.dialect.name == "postgresql":
        import psycopg

        files: dict[str, Path] = {}
        raw = source.engine.raw_connection()
        try:
            cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
            for name in tables_in_order:
                files[name] = Path(spill_dir) / f"{name}.copy"
                out_sql = f'COPY "{name}" TO STDOUT (FORMAT BINARY)'
                with files[name].open("wb") as out, cursor.copy(out_sql) as copy:
                    for block in copy:
                        out.write(block)
                spilled += files[name].stat().st_size
                if name != "import_batches":
                    rows += cursor.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        finally:
            raw.close()
        target_url = make_url(fresh_url).set(drivername="postgresql")
        options = target_url.query.get("options")
        dsn = target_url.set(query={}).render_as_string(hide_password=False)
        with psycopg.connect(dsn, options=str(options or "")) as conn:
            started = time.perf_counter()
            with conn.cursor() as cursor:
                for name in tables_in_order:
                    in_sql = f'COPY "{name}" FROM STDIN (FORMAT BINARY)'
                    with files[name].open("rb") as spill, cursor.copy(in_sql) as copy:
                        while block := spill.read(COPY_BLOCK):
                            copy.write(block)
            conn.commit()
            floor = time.perf_counter() - started
        for path in files.values():
            path.unlink()
    else:
        read = sqlite3.connect(make_url(url).database or "")
        write = sqlite3.connect(make_url(fresh_url).database or "", isolation_level=None)
        write.execute("PRAGMA journal_mode=WAL")
        write.execute("PRAGMA foreign_keys=ON")
        write.execute("PRAGMA cache_size=-32768")
        floor = 0.0
        started = time.perf_counter()
        write.execute("BEGIN IMMEDIATE")
        floor += time.perf_counter() - started
        for name in tables_in_order:
            cursor = read.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            insert = f'INSERT INTO "{name}" ({names}) VALUES ({marks})'
            while chunk := cursor.fetchmany(FLOOR_CHUNK_ROWS):
                rows += len(chunk) if name != "import_batches" else 0
                started = time.perf_counter()
                write.executemany(insert, chunk)
                floor += time.perf_counter() - started
        started = time.perf_counter()
        write.execute("COMMIT")
        floor += time.perf_counter() - started
        write.close()
        read.close()
    source.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "floor_s": floor,
        "rows": rows,
        "spill_mb": spilled / 1e6,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,
    }


def _child(url: str, path: Path, jobs: int | None, chunk_size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "_child", url, str(path), str(jobs or 0), str(chunk_size)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _floor_child(url: str, fresh_url: str, spill_dir: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "_floor", url, fresh_url, spill_dir],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(db: str, run: str, patients: int, result: dict[str, Any]) -> str:
    rate = patients / result["wall_s"]
    written = result["rows"] / result["write_s"] if run == "first import" else None
    return (
        f"| {db} | {run} | {patients:,} | {result['rows']:,} | {result['wall_s']:.1f} | "
        f"{result['cpu_s']:.1f} | {rate:,.0f} | {result['write_s']:.1f} | "
        f"{f'{written:,.0f}' if written else '—'} | {result['max_rss_mb']:,.0f} |"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_floor":
        print(json.dumps(_run_floor(sys.argv[2], sys.argv[3], sys.argv[4])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        url, file, jobs, chunk_size = sys.argv[2:6]
        result = _run_import(url, Path(file), int(jobs) or None, int(chunk_size))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument(
        "--no-reimport",
        action="store_true",
        help="skip the second (unchanged) import: first import and floor only",
    )
    args = parser.parse_args()

    path = _cohort(args.patients, args.seed)
    print(f"cohort: {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    rows: list[str] = []
    floors: list[str] = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for db in args.db:
        with tempfile.TemporaryDirectory(prefix="bonepath-bench-") as tmp:
            if db == "sqlite":
                url, cleanup = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None
                floor_url, floor_cleanup = f"sqlite:///{Path(tmp) / 'floor.sqlite3'}", None
            else:
                url, cleanup = _pg_schema(args.pg_url)
                floor_url, floor_cleanup = _pg_schema(args.pg_url)
            try:
                runs = ["first import"]
                if not args.no_reimport:
                    runs.append("re-import (unchanged)")
                for run in runs:
                    result = _child(url, path, args.jobs, args.chunk_size)
                    print(db, run, json.dumps(result), flush=True)
                    rows.append(_row(db, run, args.patients, result))
                    if run == "first import":
                        floor = _floor_child(url, floor_url, tmp)
                        print(db, "floor", json.dumps(floor), flush=True)
                        floors.append(
                            f"| {db} | {args.patients:,} | {floor['rows']:,} | "
                            f"{result['wall_s']:.1f} | {result['cpu_s']:.1f} | "
                            f"{result['write_s']:.1f} | {floor['floor_s']:.1f} | "
                            f"**{result['wall_s'] / floor['floor_s']:.1f}×** | "
                            f"{result['write_s'] / floor['floor_s']:.1f}× | "
                            f"{result['max_rss_mb']:,.0f} | {floor['max_rss_mb']:,.0f} | "
                            f"{os.getloadavg()[0]:.1f} |"
                        )
            finally:
                for drop in (cleanup, floor_cleanup):
                    if drop is not None:
                        drop()
    print(f"load average after: {os.getloadavg()}", flush=True)
    print()
    print(
        "| database | run | patients | rows stored | wall s | CPU s | patients/s | write s | rows/s written | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print(
        "| database | patients | rows | first import wall s | CPU s | writing s | "
        "raw load of the same rows s (floor) | import / floor | writing / floor | "
        "peak RSS MB (import) | peak RSS MB (floor) | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(floors))


def _pg_schema(base_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


if __name__ == "__main__":
    main()
