"""Quality indicators over a large registry: time and memory of all measures and all strata.

    python bench/quality_bench.py --patients 1000000 [--base 100000] [--data /work/benchdata/quality]
        [--source snapshot|memory] [--chunk 100000]

The registry is the seeded synthetic cohort (`bonepath synth`, seed 0, as-of 2026-11-01) in
the record tables' Arrow layout. Generating and validating a million records takes ~25 CPU-
minutes on this machine, so a base cohort of ``--base`` distinct patients is generated once
(cached as Parquet under ``--data``) and repeated with new patient keys up to ``--patients``:
every row is still computed (the SQL knows nothing of the repetition), only the clinical
content repeats. Timed: the whole QC pass (engine facts + MDT triggers + ADH-03 of the
candidates, every measure's units, every stratum), then the outcome analyses (Kaplan-Meier
fits) on top. Peak RSS is the process's maximum.

``--source snapshot`` (the default, issue 19) reads the registry snapshot that
``bench/registry_scale_bench.py`` evaluates (``--data``'s sibling ``registry/``, written here
when missing) a part of ``--chunk`` patients at a time, as the registry pass does: the same
data as that pass, and only a part in memory. ``--source memory`` holds the whole registry's
Arrow tables in memory first (how sessions 1–6 measured it) and times ``compute_quality`` over
them (in parts of ``--chunk`` too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bonepath.quality.compute import Period
from bonepath.quality.results import QualityReport
from bonepath.record.columns import TABLES

AS_OF = dt.date(2026, 11, 1)


def build_base(count: int, seed: int, directory: Path) -> None:
    from bonepath.engine.duckdb_runner import to_arrow
    from bonepath.record.columns import to_columns
    from bonepath.record.parse import parse_record
    from bonepath.synth import generate_record

    directory.mkdir(parents=True, exist_ok=True)
    chunk = 20_000
    writers: dict[str, pq.ParquetWriter] = {}
    started = time.perf_counter()
    for low in range(0, count, chunk):
        parsed = [
            (i + 1, parse_record(generate_record(i, seed, AS_OF), today=AS_OF))
            for i in range(low, min(count, low + chunk))
        ]
        for name, table in to_arrow(to_columns(parsed)).items():
            if name not in writers:
                writers[name] = pq.ParquetWriter(
                    directory / f"{name}.parquet.partial", table.schema
                )
            writers[name].write_table(table)
        print(
            f"  base: {min(count, low + chunk):,} patients, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    for name, writer in writers.items():
        writer.close()
        os.replace(directory / f"{name}.parquet.partial", directory / f"{name}.parquet")


def load(directory: Path, patients: int, base: int) -> dict[str, pa.Table]:
    """The base tables repeated with pk offsets up to ``patients`` patients."""
    tables = {name: pq.read_table(directory / f"{name}.parquet") for name in TABLES}
    copies = -(-patients // base)
    out: dict[str, pa.Table] = {}
    for name, table in tables.items():
        parts = []
        for k in range(copies):
            shifted = table.set_column(
                table.schema.get_field_index("pk"), "pk", pc.add(table["pk"], k * base)
            )
            if copies * base > patients and k == copies - 1:
                shifted = shifted.filter(pc.less_equal(shifted["pk"], patients))
            parts.append(shifted)
        out[name] = pa.concat_tables(parts).combine_chunks()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("/work/benchdata/quality"))
    parser.add_argument("--from", dest="start", default="2019-01-01")
    parser.add_argument("--to", dest="end", default=AS_OF.isoformat())
    parser.add_argument("--outcomes", action="store_true", help="also time the outcome analyses")
    parser.add_argument("--source", choices=("snapshot", "memory"), default="snapshot")
    parser.add_argument("--chunk", type=int, default=None, help="patients per part")
    args = parser.parse_args()

    directory = args.data / f"base-{args.base}-seed{args.seed}"
    if not (directory / "patients.parquet").exists():
        print(f"generating the base cohort ({args.base:,} patients) into {directory}")
        build_base(args.base, args.seed, directory)
    if args.source == "snapshot":
        _from_snapshot(args)
        return
    started = time.perf_counter()
    tables = load(directory, args.patients, args.base)
    rows = sum(t.num_rows for t in tables.values())
    size = sum(t.nbytes for t in tables.values())
    print(
        f"registry: {tables['patients'].num_rows:,} patients, {rows:,} rows, "
        f"{size / 2**20:,.0f} MiB of Arrow, loaded in {time.perf_counter() - started:.1f} s"
    )
    print(f"load average before: {os.getloadavg()}")

    from bonepath.quality.compute import engine_stages, replay_stages
    from bonepath.quality.run import QUALITY_CHUNK_PATIENTS, compute_quality, report_with_outcomes

    engine_stages("duckdb")  # compiled once and cached on disk (as the CLI finds it)
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    chunk = args.chunk or QUALITY_CHUNK_PATIENTS
    replay_stages(Period(start, end), "duckdb")  # ibis loaded, as in a running service
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    report = compute_quality(tables, start, end, chunk_patients=chunk)
    _print_report(report, time.perf_counter() - t0, time.process_time() - cpu0)
    if args.outcomes:
        t0 = time.perf_counter()
        _, outcomes = report_with_outcomes(tables, start, end)
        print(
            f"measures + outcomes (KM): {time.perf_counter() - t0:.1f} s wall, {outcomes.patients:,} confirmed patients"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB; load average after: {os.getloadavg()}")


def _print_report(report: QualityReport, wall: float, cpu: float) -> None:
    strata = sum(len(m.strata) for m in report.measures)
    print(f"all measures, all strata: {wall:.1f} s wall, {cpu:.1f} s CPU, {strata:,} strata rows")
    for m in report.measures:
        rate = "—" if m.rate is None else f"{m.rate:.3f}"
        print(
            f"  {m.id:7s} {m.numerator if m.numerator is not None else '—':>10} / {m.denominator:<10,} {rate}"
        )


def _from_snapshot(args: argparse.Namespace) -> None:
    """The quality pass over the registry pass's snapshot, read a part at a time."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from registry_scale_bench import _snapshot

    from bonepath.population.quality import measure_snapshot
    from bonepath.population.snapshot import snapshot_info
    from bonepath.quality.compute import engine_stages, quality_stages, replay_stages
    from bonepath.quality.run import QUALITY_CHUNK_PATIENTS

    directory = _snapshot(args.data.parent, args.patients, args.base, args.seed)
    info = snapshot_info(directory)
    chunk = args.chunk or QUALITY_CHUNK_PATIENTS
    print(
        f"snapshot: {directory}: {info.patients:,} patients, {sum(info.rows.values()):,} rows; "
        f"parts of {chunk:,}"
    )
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    engine_stages("duckdb")  # compiled once and cached on disk (as the CLI finds it)
    # compiled before timing, as the registry pass's plan is (a warm service): ≈ 1 s of ibis
    replay_stages(Period(start, end), "duckdb")
    quality_stages(Period(start, end), "duckdb", replay=True)
    print(f"load average before: {os.getloadavg()}")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    report = measure_snapshot(directory, start, end, chunk_patients=chunk)
    _print_report(report, time.perf_counter() - t0, time.process_time() - cpu0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
