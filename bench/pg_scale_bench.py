"""A million-patient registry pushed down into PostgreSQL (and DuckDB reading it), as of one day.

Usage::

    .venv/bin/python bench/pg_scale_bench.py [--patients 1000000] [--base 100000] \\
        [--data /work/benchdata] [--pg-url URL] [--runs postgres duckdb-postgres] [--reload]

The registry is the snapshot of ``bench/registry_scale_bench.py`` (seeded synthetic cohort, seed
0; ``--base`` distinct patients repeated with new keys and ids up to ``--patients``), built there
if missing. ``bonepath import`` stores about 330 patients/s into PostgreSQL here (bench/README.md,
"Import"): ~50 minutes for a million. So this bench creates a migrated store in the schema
``bench_scale_<patients>_b<base>_s<seed>`` and bulk-loads the snapshot's rows with ``COPY``
(CSV written by Arrow), with foreign-key triggers off during the load
(``session_replication_role = replica``: the keys are consistent by construction) and
``ANALYZE`` after. The record tables then hold exactly what an import of the same records would
write; only the provenance columns of ``patients`` differ (``record`` is ``{}`` and
``import_source`` says ``bench:snapshot``), and no backend reads those. The schema is reused by
later runs unless ``--reload``.

Each run is ``bench/registry_bench.py``'s measurement: a fresh child process, a warm-up
evaluation of no patient, then ``evaluate_registry(store, as_of, backend=...)`` with wall and CPU
seconds of the client, findings and peak RSS of the client.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 1)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH_ROWS = 500_000


def _load(url: str, directory: Path) -> None:
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from sqlalchemy.engine import make_url

    from bonepath.record.columns import TABLES
    from bonepath.store.repository import open_store

    open_store(url).close()  # creates the schema's tables at the newest migration
    sa_url = make_url(url)
    schema = sa_url.query["options"].split("=", 1)[1]  # type: ignore[union-attr]
    dsn = sa_url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET session_replication_role = replica")
        for name in TABLES:
            table = pq.read_table(directory / f"{name}.parquet")
            columns = list(table.column_names)
            if name == "patients":
                rows = table.num_rows
                table = table.append_column("record", pa.array(["{}"] * rows))
                table = table.append_column("content_hash", pa.array(["0" * 64] * rows))
                table = table.append_column(
                    "imported_at", pa.array(["2026-11-23T00:00:00+00:00"] * rows)
                )
                table = table.append_column("import_source", pa.array(["bench:snapshot"] * rows))
                columns = list(table.column_names)
            quoted = ", ".join(f'"{c}"' for c in columns)
            t0 = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN (FORMAT csv)') as copy,
            ):
                for batch in table.to_batches(BATCH_ROWS):
                    buffer = io.BytesIO()
                    pacsv.write_csv(
                        pa.Table.from_batches([batch]),
                        buffer,
                        pacsv.WriteOptions(include_header=False),
                    )
                    copy.write(buffer.getvalue())
            print(
                f"  COPY {name}: {table.num_rows:,} rows in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("ANALYZE")
    print(f"  loaded and analyzed in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--pg-url", default=os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--runs", nargs="*", choices=["postgres", "duckdb-postgres"], default=["postgres"]
    )
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from registry_bench import _measure, _pg_url, _stored_patients
    from registry_scale_bench import _snapshot
    from sqlalchemy import create_engine, text

    directory = _snapshot(args.data, args.patients, args.base, args.seed)
    schema = f"bench_scale_{args.patients}_b{args.base}_s{args.seed}"
    url = _pg_url(args.pg_url, schema)
    if args.reload or _stored_patients(url) != args.patients:
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        _load(url, directory)
    for run in args.runs:
        backend = "postgres" if run == "postgres" else "duckdb"
        load = os.getloadavg()[0]
        m = _measure(url, backend, args.as_of)
        print(
            f"{run}: {m['patients']:,} patients, {m['wall_s']:.1f} s wall "
            f"(reading {m['read_s']:.1f} s), {m['cpu_s']:.1f} s client CPU, "
            f"{m['findings']:,} findings, {m['findings'] / m['wall_s']:,.0f} findings/s, "
            f"client peak RSS {m['peak_rss_mb']:,.0f} MB; load {load:.1f} -> "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
