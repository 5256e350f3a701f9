"""A million-patient registry as of one day on the embedded backend, against one-by-one.

Usage::

    .venv/bin/python bench/registry_scale_bench.py [--patients 1000000] [--base 100000] \\
        [--data /work/benchdata] [--one-by-one 10000] [--modes columnar objects]

The registry is the seeded synthetic cohort (``bonepath synth``, seed 0, as-of 2026-11-01) in
the engine's Arrow layout. Generating and validating a million records takes ~25 CPU-minutes
and importing them into SQLite about half an hour on this machine, so (as
``bench/quality_bench.py``) a base cohort of ``--base`` distinct patients (cached as Parquet
under ``--data/quality``) is repeated with new patient keys and ids up to ``--patients`` and
written once as a registry snapshot (:mod:`bonepath.population.snapshot`) under
``--data/registry``. Every row is still evaluated (the SQL knows nothing of the repetition);
only the clinical content repeats.

Each mode is a fresh child process (its peak RSS is its own), after a warm-up on 1,000
patients (plan from the disk cache, DuckDB started, as in a long-running service):

``columnar``        :func:`snapshot_findings`: each part of 200,000 patients read from the
                    snapshot's files on its own and evaluated (findings stay an Arrow table)
``columnar-whole``  the whole snapshot read into memory, then :func:`registry_findings` in parts
                    (how session 2 measured it)
``objects``         :func:`evaluate_snapshot`: parts as ``columnar``, plus a :class:`Finding`
                    per finding and an :class:`Evaluation` per patient (``bonepath worklist``)

``--one-by-one N`` times :func:`bonepath.engine.evaluate.evaluate` (the point-of-care path, one
patient at a time) on the first N patients of the base cohort (parsing not timed) and scales
to ``--patients``. The load average is printed next to every number: the machine has two
cores shared with other work.
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

AS_OF = dt.date(2026, 11, 1)


def _snapshot(data: Path, patients: int, base: int, seed: int) -> Path:
    directory = data / "registry" / f"snapshot-{patients}-base{base}-seed{seed}"
    if (directory / "snapshot.json").exists():
        return directory
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pyarrow as pa
    import pyarrow.compute as pc
    from quality_bench import build_base, load

    from bonepath.population.snapshot import write_tables

    base_dir = data / "quality" / f"base-{base}-seed{seed}"
    if not (base_dir / "patients.parquet").exists():
        build_base(base, seed, base_dir)
    tables = load(base_dir, patients, base)
    people = tables["patients"]
    # copies get ids of their own ("<id>~k"), so every (source, id) names one patient
    copy = pc.cast(pc.divide(pc.subtract(people["pk"], 1), base), pa.string())
    unique = pc.if_else(
        pc.equal(copy, "0"), people["id"], pc.binary_join_element_wise(people["id"], copy, "~")
    )
    tables["patients"] = people.set_column(people.schema.get_field_index("id"), "id", unique)
    write_tables(tables, directory)
    return directory


def _child(mode: str, directory: Path, as_of: dt.date, chunk: int | None = None) -> None:
    from bonepath.engine.evaluate import default_runner
    from bonepath.population.registry import (
        evaluate_snapshot,
        registry_findings,
        snapshot_findings,
    )
    from bonepath.population.snapshot import read_snapshot, snapshot_info, snapshot_parts

    runner = default_runner()
    # warm-up on the first 1,000 patients, read as a part (reading the whole snapshot here,
    # as before 2026-12-07, put the whole registry's Arrow tables into the peak RSS)
    keep = next(snapshot_parts(directory, 1000))
    registry_findings(keep, as_of, runner=runner)
    del keep
    load_before = os.getloadavg()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if mode == "columnar":
        # every part read from the files on its own (snapshot_parts): memory follows the part
        found = snapshot_findings(
            directory, as_of, runner=runner, **({"chunk_patients": chunk} if chunk else {})
        )
        read_s = float("nan")
        findings = found.num_rows
        patients = snapshot_info(directory).patients
    elif mode == "columnar-whole":
        # the whole snapshot read into memory first, then evaluated in parts (session 2)
        tables = read_snapshot(directory)
        read_s = time.perf_counter() - t0
        found = registry_findings(tables, as_of, runner=runner)
        findings = found.num_rows
        patients = tables["patients"].num_rows
    else:
        read_s = float("nan")
        result = evaluate_snapshot(directory, as_of, runner=runner)
        findings = result.finding_count
        patients = len(result.patients)
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "mode": mode,
                "chunk": chunk,
                "patients": patients,
                "findings": findings,
                "wall_s": round(wall, 1),
                "read_s": round(read_s, 1),
                "cpu_s": round(time.process_time() - cpu0, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "load_before": [round(x, 1) for x in load_before],
                "load_after": [round(x, 1) for x in os.getloadavg()],
            }
        ),
        flush=True,
    )


def _one_by_one(count: int, seed: int, as_of: dt.date) -> tuple[float, float, int]:
    from bonepath.engine.evaluate import evaluate
    from bonepath.record.parse import parse_record
    from bonepath.synth import generate_record

    records = [parse_record(generate_record(i, seed, as_of), today=as_of) for i in range(count)]
    evaluate(records[0], as_of)  # warm-up
    findings = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for record in records:
        findings += len(evaluate(record, as_of).findings)
    return time.perf_counter() - t0, time.process_time() - cpu0, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--modes", nargs="*", default=["columnar", "objects"])
    parser.add_argument("--one-by-one", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=None, help="patients per part (columnar)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    directory = _snapshot(args.data, args.patients, args.base, args.seed)
    if args.child:
        _child(args.child, directory, args.as_of, args.chunk)
        return
    print(f"snapshot: {directory}", flush=True)
    for mode in args.modes:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--patients",
                str(args.patients),
                "--base",
                str(args.base),
                "--seed",
                str(args.seed),
                "--data",
                str(args.data),
                "--as-of",
                args.as_of.isoformat(),
                "--child",
                mode,
                *(["--chunk", str(args.chunk)] if args.chunk else []),
            ],
            check=True,
        )
    if args.one_by_one:
        load_before = os.getloadavg()
        seconds, cpu, findings = _one_by_one(args.one_by_one, args.seed, args.as_of)
        per = seconds / args.one_by_one
        print(
            f"one by one: {args.one_by_one:,} patients in {seconds:.1f} s wall, {cpu:.1f} s CPU "
            f"({per * 1000:.1f} ms each, {findings:,} findings); "
            f"scaled to {args.patients:,}: {per * args.patients / 60:.0f} min wall, "
            f"{cpu / args.one_by_one * args.patients / 60:.0f} min CPU; "
            f"load {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
