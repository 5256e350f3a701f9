"""Benchmark `bonepath synth`: generate N patients, time it, extrapolate to 1,000,000.

Usage::

    .venv/bin/python bench/synth_bench.py [--patients 100000] [--workers 1 2] [--seed 0]

For each worker count it generates the cohort exactly as ``bonepath synth`` does (same
chunks, same order), counts the bytes instead of writing them, and prints the wall time, the
CPU time of this process and its workers, and two extrapolations to 1,000,000 patients:
``wall x 1e6 / N`` (what this machine did, under whatever else it was running) and
``cpu / workers`` (what an otherwise idle machine with that many cores would take). It also
checks that every worker count produced the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import time

from bonepath.synth import CohortSpec, iter_chunks

MILLION = 1_000_000


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(patients: int, workers: int, seed: int) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, bytes and SHA-256 of one generation."""
    spec = CohortSpec(patients=patients, seed=seed, as_of=dt.date(2026, 11, 1))
    digest = hashlib.sha256()
    size = 0
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    for _, data in iter_chunks(spec, workers=workers):
        digest.update(data)
        size += len(data)
    return time.perf_counter() - wall0, _cpu_seconds() - cpu0, size, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    digests = set()
    for workers in args.workers:
        wall, cpu, size, digest = run(args.patients, workers, args.seed)
        digests.add(digest)
        per_patient_us = cpu / args.patients * 1e6
        print(
            f"workers={workers} patients={args.patients} wall={wall:.1f}s cpu={cpu:.1f}s "
            f"({per_patient_us:.0f} us CPU/patient) size={size / 1e6:.0f} MB | 1M extrapolated: "
            f"wall {wall * MILLION / args.patients / 60:.1f} min here, "
            f"{cpu * MILLION / args.patients / workers / 60:.1f} min on {workers} idle core(s)"
        )
    print("identical output for every worker count:", len(digests) == 1)


if __name__ == "__main__":
    main()
