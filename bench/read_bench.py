"""Benchmark reading a SQLite store's record tables into Arrow (population/tables.py).

Usage::

    .venv/bin/python bench/read_bench.py [--patients 100000] [--seed 0] [--runs 3] \\
        [--modes child parts in-process python]

The store is the one of ``bench/registry_bench.py`` (``bench/out/registry-N-seedS.sqlite3``,
built with ``bonepath synth`` + ``bonepath import`` when missing). Each measured read is a
fresh process after the imports a server has already done:

``child``       ``read_tables``: the ADBC driver in its own child process (the default path),
                the tables back as Arrow IPC streams through a pipe
``parts``       ``read_table_parts``: the same, a part of 200,000 patients at a time
``in-process``  the ADBC driver inside the reading process — how it was read before the
                store's split (docs/operations.md, "The store's concurrency model"); kept
                here only to measure what the child process costs
``python``      the fallback: Python's ``sqlite3`` cursor, rows into Arrow in chunks

Printed per read: wall seconds, CPU seconds of the reading process and of its children (the
reader process), peak RSS of the reading process, rows read; the last lines are the Markdown
rows of bench/README.md. Imports are done before the clock starts, as in a running server.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODES = ("child", "parts", "in-process", "python")


def _read(url: str, mode: str) -> int:
    """Rows read from the store at ``url`` in ``mode``."""
    from sqlalchemy import create_engine

    from bonepath.population import tables
    from bonepath.record.columns import TABLES

    engine = create_engine(url)
    try:
        if mode == "child":
            return sum(t.num_rows for t in tables.read_tables(engine).values())
        if mode == "parts":
            return sum(
                t.num_rows for part in tables.read_table_parts(engine) for t in part.values()
            )
        if mode == "python":
            with engine.connect() as conn, conn.begin():
                return sum(tables._read_sqlite(conn, name, ()).num_rows for name in TABLES)
        import adbc_driver_sqlite.dbapi as adbc_sqlite  # the old in-process path

        path = tables.sqlite_file(engine)
        connection = adbc_sqlite.connect(f"file:{path}?mode=ro", autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                rows = 0
                for name in TABLES:
                    cursor.execute(tables._adbc_query(engine, name, ()))
                    rows += tables._from_adbc(name, cursor.fetch_arrow_table()).num_rows
                cursor.execute("ROLLBACK")
                return rows
        finally:
            connection.close()
    finally:
        engine.dispose()


def _child(url: str, mode: str) -> dict[str, Any]:
    # imported before timing, as in a running server
    import pyarrow  # noqa: F401
    import sqlalchemy  # noqa: F401

    import bonepath.population.tables  # noqa: F401

    if mode == "in-process":
        import adbc_driver_sqlite.dbapi  # noqa: F401
    cpu = time.process_time()
    start = time.perf_counter()
    rows = _read(url, mode)
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu,
        "child_cpu_s": children.ru_utime + children.ru_stime,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="reads per mode (median shown)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()

    import registry_bench

    url = registry_bench._prepare("sqlite", args.patients, args.seed, "", reimport=False)
    rows: list[str] = []
    for mode in args.modes:
        runs = []
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, __file__, "--child", url, mode],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(mode, runs[-1], flush=True)
        wall = statistics.median(r["wall_s"] for r in runs)
        last = runs[-1]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
        rows.append(
            f"| {mode} | {args.patients:,} | {last['rows']:,} | {wall:.2f} "
            f"({walls}) | {last['cpu_s']:.1f} "
            f"| {last['child_cpu_s']:.1f} | {last['peak_rss_mb']:.0f} |"
        )
    print(
        "| read | patients | rows | wall s, median (runs) | CPU s | CPU s of children "
        "| peak RSS MB (reading process) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
