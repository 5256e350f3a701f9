"""The registry plan on Spark (local[2]) against DuckDB, both reading the same snapshot.

Usage::

    .venv/bin/python bench/spark_bench.py [--patients 100000] [--base 100000] \\
        [--data /work/benchdata] [--driver-memory 8g] [--modes duckdb spark]

The registry is the snapshot of ``bench/registry_scale_bench.py`` (the seeded synthetic cohort,
seed 0, as of 2026-11-01; a base cohort of ``--base`` distinct patients repeated with new keys
and ids up to ``--patients``), built there if missing. Each mode runs in a fresh child process
after a warm-up on a 1,000-patient snapshot of the same cohort (Spark session up and the plan
compiled and cached, as in a long-running service) and times
:func:`bonepath.population.registry.snapshot_findings` — the columnar findings table:

``duckdb``  the snapshot read into Arrow, evaluated in process in parts of 200,000 patients
``spark``   the snapshot's Parquet files read by Spark ``local[2]`` where they lie
            (``SparkRunner.run_snapshot``), the driver heap ``--driver-memory``

Printed as JSON per mode: wall and CPU seconds of the Python process, findings, findings/s,
the peak resident memory of the Python process and of its JVM (sampled from /proc every
0.2 s), and the load average before and after (the machine has two cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 1)


def _tree_rss_mb(root: int) -> dict[str, float]:
    """Resident MB of ``root`` and of each child, by command name."""
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


def _child(mode: str, directory: Path, warm: Path) -> None:
    from bonepath.engine.evaluate import default_runner
    from bonepath.population.registry import snapshot_findings

    sampler = PeakSampler()
    sampler.start()
    kwargs: dict[str, object] = {}
    if mode == "spark":
        from bonepath.engine.spark_runner import SparkRunner

        kwargs["spark_runner"] = SparkRunner()
        kwargs["backend"] = "spark"
    else:
        kwargs["runner"] = default_runner()
    snapshot_findings(warm, AS_OF, **kwargs)  # type: ignore[arg-type]
    load_before = os.getloadavg()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    found = snapshot_findings(directory, AS_OF, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    sampler.stop.set()
    sampler.join()
    print(
        json.dumps(
            {
                "mode": mode,
                "findings": found.num_rows,
                "wall_s": round(wall, 1),
                "python_cpu_s": round(cpu, 1),
                "findings_per_s": round(found.num_rows / wall),
                "peak_rss_mb": {k: round(v) for k, v in sorted(sampler.peak.items())},
                "load_before": [round(x, 1) for x in load_before],
                "load_after": [round(x, 1) for x in os.getloadavg()],
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--modes", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, directory, warm = args.child
        _child(mode, Path(directory), Path(warm))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from registry_scale_bench import _snapshot

    directory = _snapshot(args.data, args.patients, args.base, args.seed)
    warm = _snapshot(args.data, 1000, args.base, args.seed)
    print(f"snapshot: {directory}", flush=True)
    env = {**os.environ, "BONEPATH_SPARK_DRIVER_MEMORY": args.driver_memory}
    for mode in args.modes:
        subprocess.run(
            [sys.executable, __file__, "--child", mode, str(directory), str(warm)],
            check=True,
            env=env,
        )


if __name__ == "__main__":
    main()
