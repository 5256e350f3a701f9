"""Benchmark `bonepath import`: a synthetic cohort into SQLite and PostgreSQL, timed.

Usage::

    .venv/bin/python bench/import_bench.py [--patients 100000] [--seed 0] \\
        [--db sqlite postgresql] [--pg-url URL] [--jobs N] [--chunk-size N]

The cohort is written once by ``bonepath synth`` to ``bench/out/`` (reused when present).
For each database the import runs in a fresh child process (so its peak RSS is its own),
through :func:`bonepath.interop.importer.import_paths` exactly as ``bonepath import`` runs
it, into an empty store (a new SQLite file; a new PostgreSQL schema, dropped afterwards); then
the same file is imported again (every record ``unchanged``: no writes). Printed per run:
wall time, CPU time of the importing process, patients/s (over wall time), the seconds spent
writing (inside ``Store.upsert_prepared``: executemany on SQLite, COPY on PostgreSQL), the
rows written per second of that, and the peak RSS. The last lines are the Markdown rows of
the table in bench/README.md.
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


def _child(url: str, path: Path, jobs: int | None, chunk_size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "_child", url, str(path), str(jobs or 0), str(chunk_size)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
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
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        url, path, jobs, chunk_size = sys.argv[2:6]
        result = _run_import(url, Path(path), int(jobs) or None, int(chunk_size))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=2000)
    args = parser.parse_args()

    path = _cohort(args.patients, args.seed)
    print(f"cohort: {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    rows = []
    for db in args.db:
        with tempfile.TemporaryDirectory(prefix="bonepath-bench-") as tmp:
            if db == "sqlite":
                url, cleanup = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None
            else:
                url, cleanup = _pg_schema(args.pg_url)
            try:
                for run in ("first import", "re-import (unchanged)"):
                    result = _child(url, path, args.jobs, args.chunk_size)
                    print(db, run, json.dumps(result), flush=True)
                    rows.append(_row(db, run, args.patients, result))
            finally:
                if cleanup is not None:
                    cleanup()
    print()
    print(
        "| database | run | patients | rows stored | wall s | patients/s | write s | rows/s written | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


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
