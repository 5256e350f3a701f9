"""The registry plan on Spark (local[2]) against DuckDB, on the same synthetic patients.

Usage::

    .venv/bin/python bench/spark_bench.py [--patients 10000] [--days 1]

The patients are the seeded synthetic cohort (``bonepath.synth``, seed 0, as of 2026-11-01 and
the days before it, 30 days apart) in the engine's Arrow layout, evaluated by
:class:`bonepath.engine.spark_runner.SparkRunner` (local[2], the settings of
``local_session``) after a warm-up run on 200 patients (session started, plan compiled and
cached, as in a long-running service), and by the DuckDB runner on the same tables. Printed:
wall seconds, findings, findings/s, the peak resident memory of the Python process and of its
JVM (sampled from /proc every 0.2 s), and the load average before and after (the machine has
two cores shared with other work).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 1)


def _tree_rss_mb(root: int) -> dict[str, float]:
    """Resident MB of ``root`` and of each descendant, by command name."""
    out: dict[str, float] = {}
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
                if int(stat[3]) == root:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out[name] = out.get(name, 0.0) + int(line.split()[1]) / 1024
    return out


class PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for name, mb in _tree_rss_mb(os.getpid()).items():
                self.peak[name] = max(self.peak.get(name, 0.0), mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()

    from bonepath.engine.duckdb_runner import context_table, to_arrow
    from bonepath.engine.evaluate import default_runner
    from bonepath.engine.spark_runner import SparkRunner
    from bonepath.record.columns import to_columns
    from bonepath.record.parse import parse_record
    from bonepath.synth import generate_record

    today = dt.date(2026, 11, 23)
    records = [parse_record(generate_record(i, 0), today=today) for i in range(args.patients)]
    days = [AS_OF - dt.timedelta(days=30 * i) for i in range(args.days)]
    # several days: one pass, the patient copied per day under a new key (as the backend does)
    keyed = [
        (i * args.patients + n + 1, record)
        for i in range(len(days))
        for n, record in enumerate(records)
    ]
    tables = to_arrow(to_columns(keyed))
    context = context_table(
        [(i * args.patients + n + 1, day) for i, day in enumerate(days) for n in range(len(records))]
    )
    warm_tables = to_arrow(to_columns(list(enumerate(records[:200], start=1))))
    warm_context = context_table([(pk, AS_OF) for pk in range(1, min(200, len(records)) + 1)])

    sampler = PeakSampler()
    sampler.start()
    spark = SparkRunner()
    spark.run(warm_tables, warm_context)
    duck = default_runner()
    duck.run(warm_tables, warm_context)
    for name, runner in (("duckdb", duck), ("spark local[2]", spark)):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        found = runner.run(tables, context)
        wall = time.perf_counter() - start
        print(
            f"{name}: {args.patients:,} patients x {len(days)} day(s): {wall:.1f} s, "
            f"{found.num_rows:,} findings, {found.num_rows / wall:,.0f} findings/s, "
            f"load {load:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    sampler.stop.set()
    sampler.join()
    peaks = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in sorted(sampler.peak.items()))
    print(f"peak RSS (process tree): {peaks}")


if __name__ == "__main__":
    main()
