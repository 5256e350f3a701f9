"""Spark's per-stage overhead: session settings and fused stages, measured in one session.

Usage::

    .venv/bin/python bench/spark_stage_overhead.py [--patients 60] \\
        base,base,base,base,base,noprop,both,noaqe,fuse-once,fuse-chain,base,noprop,...

A snapshot of ``--patients`` seeded synthetic patients (seed 2026, as the cluster test) is
written once under the system's temporary directory; one Spark ``local[2]`` session then runs
the registry plan (``SparkRunner.run_snapshot``, as of 2026-11-01) once per variant named, in
the order given (name the shipped ``base`` a few times first: the JVM compiles its hot code
during the first runs). Printed per run: wall seconds, the CPU seconds of the JVM (from
``/proc``; the fairer figure on shared cores), the findings and whether they equal the first
run's row for row, and the load average.

Variants: ``base`` (as shipped), ``noprop`` (``spark.sql.constraintPropagation.enabled`` off),
``noaqe`` (``spark.sql.adaptive.enabled`` off), ``both``; ``fuse-once`` (every stage used by
one later stage is left as a view of its SQL, not checkpointed: Spark plans it inside its
consumer), ``fuse-chain`` (only the stages used once outside the scoped tables and the facts
stage); ``window`` (the plan before session 10: "latest per patient" as a ``row_number()``
window and one join per selection, not ``max_by`` and one grouped pass per source table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bonepath.engine import spark_runner as sr
from bonepath.engine.duckdb_runner import to_arrow
from bonepath.population.snapshot import write_tables
from bonepath.record.columns import to_columns
from bonepath.record.parse import parse_record
from bonepath.synth import generate_record

AS_OF = dt.date(2026, 11, 1)
DEFAULTS = {
    "spark.sql.constraintPropagation.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
}
SETTINGS: dict[str, dict[str, str]] = {
    "base": {},
    "noprop": {"spark.sql.constraintPropagation.enabled": "false"},
    "noaqe": {"spark.sql.adaptive.enabled": "false"},
    "both": {
        "spark.sql.constraintPropagation.enabled": "false",
        "spark.sql.adaptive.enabled": "false",
    },
    "fuse-once": {},
    "fuse-chain": {},
    "window": {},
}
_fuse = {"mode": "base"}


_window: dict[str, str] = {}


def _window_stages() -> dict[str, str]:
    """The registry plan's Spark SQL with "latest per patient" as a window (the portable form
    every dialect without a struct ``max_by`` runs), by stage name."""
    if not _window:
        import ibis

        from bonepath.engine.plan import default_plan, spark_options

        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # as Plan.sql does
        with spark_options("pyspark"):
            _window.update(
                (name, ibis.to_sql(expr, dialect="pyspark", pretty=False))
                for name, expr in default_plan().stages
            )
    return _window


def _inline(name: str, uses: int, result: str | None) -> bool:
    if uses != 1 or name == result:
        return False
    if _fuse["mode"] == "fuse-once":
        return True
    if _fuse["mode"] == "fuse-chain":
        return not name.startswith(("scoped_", "facts_19"))
    return False


def _run_sql_stages(
    self: sr.SparkRunner,
    frames: Mapping[str, Any],
    stages: Sequence[tuple[str, str]],
    *,
    result: str | None = None,
) -> Any:
    """``SparkRunner.run_sql_stages`` with the fused variants (a stage inlined as a view)."""
    spark = self.session
    if _fuse["mode"] == "window":
        stages = [(name, _window_stages().get(name, sql)) for name, sql in stages]
    for key, value in sr.PLAN_SETTINGS.items():
        spark.conf.set(key, value)
    uses = {
        name: sum(1 for _, later in stages[i + 1 :] if re.search(rf"\b{re.escape(name)}\b", later))
        for i, (name, _) in enumerate(stages)
    }
    views: list[str] = []
    try:
        for name, frame in frames.items():
            frame.createOrReplaceTempView(name)
            views.append(name)
        kept = None
        for name, sql in stages:
            frame = spark.sql(sql)
            if not _inline(name, uses[name], result):
                frame = frame.localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            views.append(name)
            if result is None or name == result:
                kept = frame
            if name == result:
                break
        return kept
    finally:
        for name in views:
            spark.catalog.dropTempView(name)


def _jvm_cpu_s() -> float:
    """CPU seconds of this process's children (the JVM)."""
    me, total = os.getpid(), 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
            except OSError:
                continue
            if int(stat[3]) == me:
                total += (int(stat[13]) + int(stat[14])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("variants", help="comma-separated, in order: " + ", ".join(SETTINGS))
    args = parser.parse_args()
    directory = Path(tempfile.gettempdir()) / f"bonepath-spark-overhead-{args.patients}"
    if not directory.exists():
        today = dt.date(2026, 11, 23)
        records = [
            parse_record(generate_record(i, 2026), today=today) for i in range(args.patients)
        ]
        write_tables(to_arrow(to_columns((i + 1, r) for i, r in enumerate(records))), directory)
    sr.SparkRunner.run_sql_stages = _run_sql_stages  # type: ignore[method-assign]
    runner = sr.SparkRunner()
    spark = runner.session
    first: list[str] | None = None
    for name in args.variants.split(","):
        for key, value in {**DEFAULTS, **SETTINGS[name]}.items():
            spark.conf.set(key, value)
        _fuse["mode"] = name
        started, jvm = time.perf_counter(), _jvm_cpu_s()
        found = runner.run_snapshot(directory, [AS_OF])
        rows = sorted(map(str, found.to_pylist()))
        first = rows if first is None else first
        print(
            f"{name}: wall {time.perf_counter() - started:.1f} s, "
            f"JVM CPU {_jvm_cpu_s() - jvm:.1f} s, {found.num_rows} findings, "
            f"same as the first run: {rows == first}, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
