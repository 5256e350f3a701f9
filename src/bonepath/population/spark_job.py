"""The registry pass and the quality pass on a Spark cluster: the driver program.

A region that keeps its registry snapshot (:mod:`bonepath.population.snapshot`) where every
Spark worker can read it runs::

    spark-submit --master spark://MASTER:7077 --driver-memory 2g --executor-memory 4g \\
        "$(python -c 'import bonepath.population.spark_job as m; print(m.__file__)')" \\
        --snapshot /shared/registry/snapshot --as-of 2026-11-01 \\
        --quality-from 2026-01-01 --quality-to 2026-11-01 --out /shared/registry/out

or, without ``spark-submit``, ``python -m bonepath.population.spark_job --master spark://…``
with the same arguments (the Python process starts the driver JVM itself). This process is
the driver: it plans the compiled stages (the same plan as every other executor,
:mod:`bonepath.engine.plan`) and receives the results; the executors on the workers read
the Parquet files and run every task. Written to ``--out``:

- ``findings.parquet``: the long findings table of every patient on every ``--as-of`` day,
  as :func:`bonepath.population.registry.snapshot_findings` gives it (``as_of`` first);
- ``quality_strata.parquet``: the quality pass's ``qc_strata`` rows (every measure, every
  stratum), as :func:`bonepath.quality.run.run_stages` gives them, when ``--quality-from``
  and ``--quality-to`` are given;
- ``job.json``: the days, the period, rows written and seconds per part.

Findings and strata equal the embedded (DuckDB) backend's row for row
(tests/population/test_spark_cluster.py runs this on a master and two workers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from bonepath.engine.plan import spark_options
from bonepath.population.snapshot import check_snapshot
from bonepath.quality.compute import (
    MDT_STAGE,
    REPLAY,
    REPLAY_DAYS,
    REPLAY_KEYS,
    STRATA_TABLE,
    Period,
    quality_stages,
    replay_keys_sql,
    replay_stages,
)
from bonepath.record.columns import TABLES

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from bonepath.engine.spark_runner import SparkRunner

FINDINGS_FILE = "findings.parquet"
STRATA_FILE = "quality_strata.parquet"
JOB_FILE = "job.json"


def spark_quality_strata(runner: SparkRunner, directory: Path, period: Period) -> pa.Table:
    """The quality pass (:func:`bonepath.quality.run.run_stages`'s ``qc_strata``) on Spark,
    over the snapshot at ``directory``: QC-09's replay pass first, then the main pass with its
    triggers as the :data:`~bonepath.quality.compute.REPLAY` input."""
    with spark_options("pyspark"):  # ibis's Spark compiler without the PySpark backend
        first = replay_stages(period, "pyspark")
        main = quality_stages(period, "pyspark", replay=True)
    frames = runner.snapshot_frames(directory)
    replay = _replay(runner, frames, first)
    strata = runner.run_sql_stages({**frames, REPLAY: replay}, main, result=STRATA_TABLE)
    table: pa.Table = strata.toArrow()
    return table


def _replay(
    runner: SparkRunner, frames: dict[str, DataFrame], stages: list[tuple[str, str]]
) -> DataFrame:
    """QC-09's replay pass, each replay day under its own key (quality/compute.py "each replay
    day its own key"): the record frames joined to the days' keys, the engine's stages over
    them, the trigger rows mapped back to the patients' keys."""
    from pyspark.sql import functions as F  # noqa: N812 - PySpark's convention

    from bonepath.engine.spark_runner import key_stride

    (first, context_sql), *engine = stages
    assert first == "context", first
    keys = runner.run_sql_stages(
        frames, [(REPLAY_DAYS, context_sql), (REPLAY_KEYS, replay_keys_sql())]
    )
    stride = key_stride(frames["patients"])
    day_keys = keys.select(F.col("pk").alias("_day_pk"), F.col("i").alias("_day_i"))

    def day_key(pk: str, i: str) -> Column:
        return (F.col(pk) + F.col(i) * F.lit(stride)).cast("bigint")

    rekeyed: dict[str, DataFrame] = {}
    for name, frame in frames.items():
        if name not in TABLES:
            rekeyed[name] = frame
            continue
        joined = frame.join(day_keys, frame["pk"] == day_keys["_day_pk"])
        rekeyed[name] = joined.select(
            *(day_key("pk", "_day_i").alias("pk") if c == "pk" else F.col(c) for c in frame.columns)
        )
    context = keys.select(day_key("pk", "i").alias("pk"), F.col("as_of"))
    found = runner.run_sql_stages({**rekeyed, "context": context}, engine, result=MDT_STAGE)
    return found.select(
        F.expr(f"MOD(pk, {stride})").cast("bigint").alias("pk"), "mdt_any", "mdt_first_trigger"
    )


def run_job(
    runner: SparkRunner,
    directory: Path,
    out: Path,
    days: Sequence[dt.date],
    period: Period | None,
) -> dict[str, object]:
    """Run the registry pass (and the quality pass when ``period``) and write ``out``."""
    check_snapshot(directory)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"snapshot": str(directory), "days": [d.isoformat() for d in days]}
    if days:
        started = time.perf_counter()
        findings = runner.run_snapshot(directory, days)
        pq.write_table(findings, out / FINDINGS_FILE)
        report["findings"] = findings.num_rows
        report["registry_s"] = round(time.perf_counter() - started, 3)
    if period is not None:
        started = time.perf_counter()
        strata = spark_quality_strata(runner, directory, period)
        pq.write_table(strata, out / STRATA_FILE)
        report["period"] = [period.start.isoformat(), period.end.isoformat()]
        report["strata_rows"] = strata.num_rows
        report["quality_s"] = round(time.perf_counter() - started, 3)
    (out / JOB_FILE).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    from bonepath.engine.spark_runner import (
        CLUSTER_SETTINGS,
        SparkRunner,
        cluster_session,
        local_session,
    )

    parser = argparse.ArgumentParser(
        prog="bonepath.population.spark_job", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, action="append", default=[])
    parser.add_argument("--quality-from", type=dt.date.fromisoformat)
    parser.add_argument("--quality-to", type=dt.date.fromisoformat)
    parser.add_argument(
        "--master",
        default=None,
        help="spark://HOST:PORT (omit under spark-submit, which gives it; local[N] runs here)",
    )
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--executor-memory", default="1g")
    parser.add_argument("--executor-cores", type=int, default=None)
    args = parser.parse_args(argv)
    if (args.quality_from is None) != (args.quality_to is None):
        parser.error("--quality-from and --quality-to go together")
    if not args.as_of and args.quality_from is None:
        parser.error("nothing to do: give --as-of and/or --quality-from/--quality-to")
    period = None if args.quality_from is None else Period(args.quality_from, args.quality_to)
    master = args.master
    if master is None:  # under spark-submit, which set the master and the memory
        from pyspark.sql import SparkSession

        session = SparkSession.builder.appName("bonepath").getOrCreate()
        for key, value in CLUSTER_SETTINGS.items():
            if key.startswith("spark.sql."):
                session.conf.set(key, value)
    elif master.startswith("spark://"):
        session = cluster_session(
            master,
            driver_memory=args.driver_memory,
            executor_memory=args.executor_memory,
            executor_cores=args.executor_cores,
        )
    else:
        session = local_session(master, driver_memory=args.driver_memory)
    try:
        report = run_job(SparkRunner(session), args.snapshot, args.out, args.as_of, period)
    finally:
        session.stop()
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
