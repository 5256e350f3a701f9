"""The registry pass and the quality pass on a real Spark standalone cluster equal the embedded
(DuckDB) backend row for row (issue 19).

A master and two workers run as JVM processes of their own (``spark-class …Master`` /
``…Worker``, :class:`~bonepath.engine.spark_cluster.StandaloneCluster`) on free ports with
1 GB workers; the driver is a separate Python process (``python -m
bonepath.population.spark_job --master spark://…``, what a region runs under
``spark-submit``) that reads the registry snapshot's Parquet files through the executors the
workers start. A small cohort keeps it to a few minutes: Spark's cost here is planning the
stages, not rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bonepath.engine.duckdb_runner import to_arrow
from bonepath.engine.spark_cluster import StandaloneCluster
from bonepath.population.registry import snapshot_findings
from bonepath.population.snapshot import read_snapshot, write_tables
from bonepath.quality.compute import STRATA_TABLE, Period
from bonepath.quality.run import run_stages
from bonepath.record.columns import to_columns
from bonepath.record.parse import parse_record
from bonepath.synth import generate_record

pytestmark = pytest.mark.slow

DAYS = (dt.date(2025, 6, 1), dt.date(2026, 11, 1))
PERIOD = Period(dt.date(2024, 1, 1), dt.date(2026, 11, 1))
PATIENTS = 60


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """A master and two 1-core, 1 GB workers, stopped (every process) after the module."""
    with StandaloneCluster(tmp_path_factory.mktemp("spark-cluster"), workers=2) as started:
        yield started


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    today = dt.date(2026, 11, 23)
    records = [parse_record(generate_record(i, 2026), today=today) for i in range(PATIENTS)]
    directory = tmp_path_factory.mktemp("snapshot") / "registry"
    write_tables(to_arrow(to_columns((i + 1, r) for i, r in enumerate(records))), directory)
    return directory


@pytest.fixture(scope="module")
def job(
    cluster: StandaloneCluster, snapshot: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The driver, submitted to the cluster: the registry on both days and the quality pass."""
    out = tmp_path_factory.mktemp("spark-job")
    command = [
        sys.executable,
        "-m",
        "bonepath.population.spark_job",
        "--master",
        cluster.url,
        "--snapshot",
        str(snapshot),
        "--out",
        str(out),
        *(f"--as-of={day.isoformat()}" for day in DAYS),
        f"--quality-from={PERIOD.start.isoformat()}",
        f"--quality-to={PERIOD.end.isoformat()}",
        "--driver-memory=1g",
        "--executor-memory=768m",
    ]
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, _diagnosis(done.stderr)
    return out


def _diagnosis(stderr: str) -> str:
    """What a failed driver said: its first error lines (the cause, which a Java stack trace
    pushes far above the tail) and the tail."""
    causes = [
        line
        for line in stderr.splitlines()
        if ("Exception" in line or "Error" in line or "Caused by" in line)
        and not line.lstrip().startswith("at ")
    ]
    return "\n".join(causes[:20]) + "\n...\n" + stderr[-3000:]


def _sorted_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    rows = table.to_pylist()
    names = table.column_names
    return sorted((tuple(row[n] for n in names) for row in rows), key=repr)


def test_registry_findings_on_the_cluster_equal_the_embedded_backend(
    job: Path, snapshot: Path
) -> None:
    on_cluster = pq.read_table(job / "findings.parquet")
    embedded = snapshot_findings(snapshot, list(DAYS), backend="duckdb")
    assert on_cluster.num_rows > PATIENTS  # the cohort fires findings on both days
    assert set(on_cluster.column("as_of").to_pylist()) == set(DAYS)
    on_cluster = on_cluster.select(embedded.column_names).cast(embedded.schema)
    assert _sorted_rows(on_cluster) == _sorted_rows(embedded)


def test_quality_strata_on_the_cluster_equal_the_embedded_backend(
    job: Path, snapshot: Path
) -> None:
    on_cluster = pq.read_table(job / "quality_strata.parquet")
    embedded = run_stages(read_snapshot(snapshot), PERIOD)[STRATA_TABLE]
    assert embedded.num_rows > 0
    on_cluster = on_cluster.select(embedded.column_names).cast(embedded.schema)
    assert _sorted_rows(on_cluster) == _sorted_rows(embedded)


def test_the_job_ran_on_both_workers_as_separate_processes(
    job: Path, cluster: StandaloneCluster
) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.master_ui_port}/json/") as answer:
        status = json.load(answer)
    assert status["aliveworkers"] == 2
    assert [app["name"] for app in status["completedapps"]] == ["bonepath"]
    # each worker started an executor for the job: its work directory holds the app's folder
    for index in range(2):
        assert list((cluster.directory / f"worker-{index}").glob("app-*/*/stderr")), index
    assert len(set(cluster.pids())) == 3 and os.getpid() not in cluster.pids()
    report = json.loads((job / "job.json").read_text(encoding="utf-8"))
    assert report["days"] == [day.isoformat() for day in DAYS]
