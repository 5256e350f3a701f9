"""The distributed executor: the compiled plan run by Spark SQL (PySpark).

For networks whose registry outgrows one machine. The stages are the plan of
:mod:`bonepath.engine.plan` compiled for ibis's ``pyspark`` dialect (Spark SQL) — no rule is
written twice. The record tables reach Spark as Parquet files, never as in-memory relations: a
registry snapshot's files are read where they lie (:meth:`SparkRunner.run_snapshot`), and Arrow
tables (as :mod:`bonepath.population.tables` reads a store) are first written to a staging
directory (:meth:`SparkRunner.run`). Shipping Arrow through pandas as local relations put every
row inside the driver's task descriptions and ran out of a 2 GB heap at 100,000 patients
(bench/README.md); from files, Spark splits the scan into tasks itself. Each table becomes a
temporary view named like the store's table; each stage's result is checkpointed
(``localCheckpoint``: computed once, its lineage cut, so the next stage's plan stays small) and
registered under the stage's name; the last stage, the long findings table, comes back as Arrow.

PySpark is an optional dependency (``pip install 'bonepath[spark]'``): it is imported only when
a :class:`SparkRunner` is made.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bonepath.engine.plan import compiled_stages
from bonepath.errors import ConfigError
from bonepath.record.columns import TABLES
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import Catalogue

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DRIVER_MEMORY_ENV: Final = "BONEPATH_SPARK_DRIVER_MEMORY"
"""Environment variable sizing the local session's driver heap (default ``2g``)."""

LOCAL_SETTINGS: Final[Mapping[str, str]] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
    # dates are calendar days: nothing may shift them by a zone
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
"""Settings of the local session :func:`local_session` starts (one machine, two cores)."""

PLAN_SETTINGS: Final[Mapping[str, str]] = {
    # Spark 4 turns ANSI mode on by default; the plan is tested with it off (Spark 3's
    # default, what ibis's Spark compiler targets): an overflowing or malformed value then
    # gives NULL for that patient instead of failing the whole registry's run
    "spark.sql.ansi.enabled": "false",
}
"""Settings every session gets before the plan runs (also a session given by the caller)."""


CLUSTER_SETTINGS: Final[Mapping[str, str]] = {
    **{key: value for key, value in LOCAL_SETTINGS.items() if key != "spark.driver.memory"},
    # the driver's and the executors' JVMs read and write calendar days in UTC
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}
"""Settings of a session on a cluster (:func:`cluster_session`)."""


def cluster_session(
    master: str,
    *,
    app_name: str = "bonepath",
    driver_memory: str = "2g",
    executor_memory: str = "1g",
    executor_cores: int | None = None,
    max_cores: int | None = None,
    settings: Mapping[str, str] | None = None,
) -> SparkSession:
    """A session whose executors run on the cluster at ``master`` (``spark://host:7077``).

    This process is the driver: it plans the stages and receives the findings; the executors
    the cluster's workers start read the Parquet files and run every task, so the snapshot
    must lie at the same path on every worker (a shared mount, or HDFS/S3 URLs).
    ``driver_memory`` takes effect only when this call starts the JVM (a new process).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("the spark backend needs PySpark: pip install 'bonepath[spark]'") from exc
    if not master.startswith("spark://"):
        raise ConfigError(f"a cluster master is spark://HOST:PORT, not {master!r}")
    conf: dict[str, str] = {
        **CLUSTER_SETTINGS,
        "spark.driver.memory": driver_memory,
        "spark.executor.memory": executor_memory,
    }
    if executor_cores is not None:
        conf["spark.executor.cores"] = str(executor_cores)
    if max_cores is not None:
        conf["spark.cores.max"] = str(max_cores)
    conf.update(settings or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def local_session(
    master: str = "local[2]", app_name: str = "bonepath", driver_memory: str | None = None
) -> SparkSession:
    """A local Spark session (or the active one) with :data:`LOCAL_SETTINGS`, quiet.

    ``driver_memory`` (a JVM size such as ``"6g"``; default: ``$BONEPATH_SPARK_DRIVER_MEMORY``,
    else ``2g``) is the heap of the one local JVM, which runs every task; it takes effect only
    when this call starts the JVM.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("the spark backend needs PySpark: pip install 'bonepath[spark]'") from exc
    settings = dict(LOCAL_SETTINGS)
    memory = driver_memory or os.environ.get(DRIVER_MEMORY_ENV, "").strip()
    if memory:
        settings["spark.driver.memory"] = memory
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


class SparkRunner:
    """Runs the compiled plan in a Spark session over record tables as Parquet (thread-safe)."""

    def __init__(
        self, session: SparkSession | None = None, *, staging_dir: Path | None = None
    ) -> None:
        """``session``: any Spark session (default: :func:`local_session`, started on first use);
        ``staging_dir``: where :meth:`run` writes the tables it hands to Spark (default: the
        system's temporary directory)."""
        self.catalogue: Catalogue = load_catalogue()
        self._stages = compiled_stages("pyspark")
        self._session = session
        self._staging_dir = staging_dir
        self._lock = threading.Lock()

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            self._session = local_session()
        return self._session

    def run(self, tables: Mapping[str, pa.Table], context: pa.Table) -> pa.Table:
        """The long findings table for the patients and days in ``context``.

        The Arrow tables are written as Parquet to a staging directory (removed afterwards)
        that Spark then reads: on a cluster, give the runner a ``staging_dir`` every executor
        sees (a shared mount), or use :meth:`run_snapshot` on a snapshot kept there.
        """
        with self._lock:
            staging = Path(tempfile.mkdtemp(prefix="bonepath-spark-", dir=self._staging_dir))
            try:
                files: dict[str, Path] = {}
                for name, table in [*tables.items(), ("context", context)]:
                    files[name] = staging / f"{name}.parquet"
                    pq.write_table(table, files[name])
                spark = self.session
                frames = {name: spark.read.parquet(str(path)) for name, path in files.items()}
                return self._run_frames(frames)
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def run_snapshot(
        self,
        directory: Path,
        days: Sequence[dt.date],
        *,
        hospitals: Collection[str] = (),
        departments: Collection[str] = (),
    ) -> pa.Table:
        """The findings of every patient of the snapshot at ``directory`` on ``days``.

        The snapshot's Parquet files (:mod:`bonepath.population.snapshot`, already checked
        by the caller) are read by Spark where they lie; nothing of the registry passes through
        Python. All days run in one pass: day ``i``'s copy of a patient has the key
        ``pk + i * (max pk + 1)``. Returned: ``as_of`` and the plan's findings columns, as
        :func:`bonepath.population.registry.registry_findings` gives them. ``hospitals`` /
        ``departments`` keep only those patients (filtered in Spark, before the plan).
        """
        from pyspark.sql import functions as F  # noqa: N812 - PySpark's convention

        if not days:
            raise ValueError("no as-of day given")
        with self._lock:
            spark = self.session
            files = {
                name: spark.read.parquet(str(Path(directory) / f"{name}.parquet"))
                for name in TABLES
            }
            if hospitals or departments:
                files = _selected(files, hospitals, departments)
            stride = key_stride(files["patients"])
            frames = {name: _repeated(frame, len(days), stride) for name, frame in files.items()}
            people = files["patients"].select("pk")
            context = None
            for i, day in enumerate(days):
                part = people.select(
                    (F.col("pk") + F.lit(i * stride)).cast("bigint").alias("pk"),
                    F.lit(day).cast("date").alias("as_of"),
                )
                context = part if context is None else context.unionByName(part)
            assert context is not None
            frames["context"] = context
            found = self._run_frames(frames)
        keys = found["pk"]
        day_index = pc.divide(keys, pa.scalar(stride, pa.int64()))
        as_of = pc.take(pa.array(list(days), pa.date32()), day_index)
        original = pc.subtract(keys, pc.multiply(day_index, pa.scalar(stride, pa.int64())))
        found = found.set_column(found.schema.get_field_index("pk"), "pk", original)
        return found.add_column(0, "as_of", as_of)

    def _run_frames(self, frames: Mapping[str, DataFrame]) -> pa.Table:
        """Run the plan's stages over ``frames`` (record tables and ``context``) as views."""
        return _to_arrow(self.run_sql_stages(frames, self._stages))

    def run_sql_stages(
        self,
        frames: Mapping[str, DataFrame],
        stages: Sequence[tuple[str, str]],
        *,
        result: str | None = None,
    ) -> DataFrame:
        """Run ``(name, Spark SQL)`` stages in order over ``frames`` registered as views; each
        stage is checkpointed and registered under its name for the next. Returns stage
        ``result`` (default: the last), checkpointed: it outlives the views, which are dropped.
        (The quality pass runs its stages through this too, :mod:`bonepath.population.spark_job`.)
        """
        spark = self.session
        for key, value in PLAN_SETTINGS.items():
            spark.conf.set(key, value)
        views: list[str] = []
        try:
            for name, frame in frames.items():
                frame.createOrReplaceTempView(name)
                views.append(name)
            kept: DataFrame | None = None
            for name, sql in stages:
                frame = spark.sql(sql).localCheckpoint(eager=True)
                frame.createOrReplaceTempView(name)
                views.append(name)
                if result is None or name == result:
                    kept = frame
                if name == result:
                    break
            if kept is None:
                raise ValueError(f"no stage {result!r} among the stages")
            return kept
        finally:
            for name in views:
                spark.catalog.dropTempView(name)

    def snapshot_frames(self, directory: Path) -> dict[str, DataFrame]:
        """Every record table of the snapshot at ``directory`` as a DataFrame over its file."""
        spark = self.session
        return {
            name: spark.read.parquet(str(Path(directory) / f"{name}.parquet")) for name in TABLES
        }


def key_stride(patients: DataFrame) -> int:
    """The highest patient key + 1 (1 for no patients): day ``i``'s copy of patient ``pk`` is
    evaluated under ``pk + i * stride``."""
    from pyspark.sql import functions as F  # noqa: N812

    highest = patients.agg(F.max("pk")).first()
    return (int(highest[0]) if highest is not None and highest[0] is not None else 0) + 1


def _selected(
    files: dict[str, DataFrame], hospitals: Collection[str], departments: Collection[str]
) -> dict[str, DataFrame]:
    """The tables of only the patients of ``hospitals`` / ``departments``."""
    from pyspark.sql import functions as F  # noqa: N812

    people = files["patients"]
    if hospitals:
        people = people.where(F.col("hospital_id").isin(sorted(hospitals)))
    if departments:
        people = people.where(F.col("department").isin(sorted(departments)))
    keys = people.select("pk")
    return {
        name: people if name == "patients" else frame.join(keys, on="pk", how="left_semi")
        for name, frame in files.items()
    }


def _repeated(frame: DataFrame, copies: int, stride: int) -> DataFrame:
    """``frame`` once per day, day ``i``'s rows with ``i * stride`` added to ``pk``."""
    from pyspark.sql import functions as F  # noqa: N812

    if copies == 1:
        return frame
    out = frame
    for i in range(1, copies):
        out = out.unionByName(frame.withColumn("pk", F.col("pk") + F.lit(i * stride)))
    return out


def _to_arrow(frame: Any) -> pa.Table:
    return frame.toArrow()


_default: SparkRunner | None = None
_default_lock = threading.Lock()


def default_spark_runner() -> SparkRunner:
    """The shared runner on the local session (started on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SparkRunner()
        return _default
