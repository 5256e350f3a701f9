"""Benchmark registry evaluation: a whole stored registry as of one day, on each backend.

Usage::

    .venv/bin/python bench/registry_bench.py [--patients 100000] [--seed 0] \\
        [--as-of 2026-11-01] [--runs duckdb-sqlite postgres duckdb-postgres] \\
        [--pg-url URL] [--reimport] [--cli]

The cohort is written once by ``bonepath synth`` to ``bench/out/`` and imported with
``bonepath import`` into an SQLite file (``bench/out/registry-N-seedS.sqlite3``) and a
PostgreSQL schema (``bench_registry_N_sS``); both are reused by later runs when they hold N
patients (``--reimport`` starts them afresh). Each measured run is a fresh child process
calling :func:`bonepath.population.registry.evaluate_registry` once, after a warm-up that
loads the compiled plan (cached on disk) and the runner:

``duckdb-sqlite``    tables read from the SQLite file into Arrow, plan run in DuckDB
``duckdb-postgres``  tables streamed from PostgreSQL (COPY … CSV) into Arrow, plan in DuckDB
``postgres``         the plan pushed down into PostgreSQL (temporary tables, one transaction)

Printed per run: wall seconds (and for DuckDB the part spent reading the tables), CPU seconds
of the evaluating process, peak RSS of that process (the PostgreSQL server's own memory is not
in it), patients, findings and findings/s. ``--cli`` also times ``bonepath worklist --format
json`` end to end. The last lines are the Markdown rows of the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RUNS = {
    "duckdb-sqlite": ("sqlite", "duckdb"),
    "duckdb-postgres": ("postgresql", "duckdb"),
    "postgres": ("postgresql", "postgres"),
}


def _bonepath(*args: str, url: str | None = None) -> None:
    env = {**os.environ, **({"BONEPATH_DATABASE_URL": url} if url else {})}
    subprocess.run([sys.executable, "-m", "bonepath", *args], check=True, env=env)


def _cohort(patients: int, seed: int) -> Path:
    path = OUT / f"cohort-{patients}-seed{seed}.ndjson"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        _bonepath("synth", "--patients", str(patients), "--seed", str(seed), "--out", str(path))
    return path


def _pg_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _stored_patients(url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM patients")).scalar_one())
    except SQLAlchemyError:
        return -1
    finally:
        engine.dispose()


def _prepare(database: str, patients: int, seed: int, pg_base: str, reimport: bool) -> str:
    """The URL of a store holding the cohort, imported with `bonepath import` if needed."""
    cohort = _cohort(patients, seed)
    if database == "sqlite":
        path = OUT / f"registry-{patients}-seed{seed}.sqlite3"
        url = f"sqlite:///{path}"
        if reimport or _stored_patients(url) != patients:
            for stale in OUT.glob(f"{path.name}*"):
                stale.unlink()
            _timed_import(cohort, url)
        return url
    from sqlalchemy import create_engine, text

    schema = f"bench_registry_{patients}_s{seed}"
    url = _pg_url(pg_base, schema)
    if reimport or _stored_patients(url) != patients:
        admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        _timed_import(cohort, url)
    return url


def _timed_import(cohort: Path, url: str) -> None:
    start = time.perf_counter()
    _bonepath("import", str(cohort), url=url)
    print(
        f"  imported {cohort.name} into {url.split('?')[0]} in {time.perf_counter() - start:.0f} s"
    )


def _child(url: str, backend: str, as_of: dt.date) -> dict[str, Any]:
    """One registry evaluation in this (fresh) process; returns its measurements."""
    from bonepath.population import registry
    from bonepath.store.repository import open_store

    store = open_store(url, migrate_schema=False)
    reading = 0.0
    read_parts = registry.read_table_parts

    def timed_parts(*args: Any, **kwargs: Any) -> Any:
        # the store is read a part at a time between evaluations: time each part's read
        nonlocal reading
        parts = read_parts(*args, **kwargs)
        while True:
            start = time.perf_counter()
            try:
                part = next(parts)
            except StopIteration:
                return
            finally:
                reading += time.perf_counter() - start
            yield part

    registry.read_table_parts = timed_parts  # type: ignore[assignment]
    # warm-up: the compiled plan (disk cache) and the DuckDB runner, as a long-lived server has
    registry.evaluate_registry(store, as_of, backend=backend, hospitals={"-"})  # type: ignore[arg-type]
    reading = 0.0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time()
    start = time.perf_counter()
    result = registry.evaluate_registry(store, as_of, backend=backend)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    items = len(result.items())
    return {
        "wall_s": wall,
        "read_s": reading,
        "cpu_s": cpu,
        "patients": len(result.patients),
        "findings": result.finding_count,
        "items": items,
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _measure(url: str, backend: str, as_of: dt.date) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, backend, as_of.isoformat()]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _cli(url: str, as_of: dt.date) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bonepath", "worklist", "--as-of", as_of.isoformat()],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "BONEPATH_DATABASE_URL": url},
    )
    return time.perf_counter() - start


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _, _, url, backend, day = sys.argv
        print(json.dumps(_child(url, backend, dt.date.fromisoformat(day))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--pg-url", default=os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--reimport", action="store_true")
    parser.add_argument("--cli", action="store_true", help="also time `bonepath worklist`")
    args = parser.parse_args()

    urls: dict[str, str] = {}
    rows: list[str] = []
    for run in args.runs:
        database, backend = RUNS[run]
        if database not in urls:
            urls[database] = _prepare(
                database, args.patients, args.seed, args.pg_url, args.reimport
            )
        m = _measure(urls[database], backend, args.as_of)
        rate = m["findings"] / m["wall_s"]
        print(
            f"{run:16} {m['patients']:>8,} patients  {m['wall_s']:7.1f} s wall "
            f"(reading {m['read_s']:.1f} s)  {m['cpu_s']:7.1f} s CPU  "
            f"{m['findings']:>9,} findings  {rate:>9,.0f} findings/s  "
            f"peak RSS {m['peak_rss_mb']:,.0f} MB (before {m['rss_before_mb']:,.0f})"
        )
        read = f"{m['read_s']:.1f}" if backend == "duckdb" else "—"
        row = (
            f"| {run} | {m['patients']:,} | {m['wall_s']:.1f} | {read} | {m['cpu_s']:.1f} | "
            f"{m['findings']:,} | **{rate:,.0f}** | {m['peak_rss_mb']:,.0f} |"
        )
        if args.cli and run != "duckdb-postgres":  # the CLI's automatic choice of backend
            seconds = _cli(urls[database], args.as_of)
            print(f"{'':16} bonepath worklist (auto backend) end to end: {seconds:.1f} s")
        rows.append(row)
    print()
    print(
        "| run | patients | wall s | of which reading s | CPU s | findings | findings/s | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
