"""The distributed executor: the compiled plan run by Spark SQL (PySpark).

For networks whose registry outgrows one machine. The stages are the plan of
:mod:`bonepath.engine.plan` compiled for ibis's ``pyspark`` dialect (Spark SQL) — no rule is
written twice. The record tables (Arrow, as :mod:`bonepath.population.tables` reads them) become
Spark temporary views named like the store's tables; each stage's result is checkpointed
(``localCheckpoint``: computed once, its lineage cut, so the next stage's plan stays small) and
registered under the stage's name; the last stage, the long findings table, comes back as Arrow.

PySpark is an optional dependency (``pip install 'bonepath[spark]'``): it is imported only when
a :class:`SparkRunner` is made.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa

from bonepath.engine.plan import compiled_stages
from bonepath.errors import ConfigError
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import Catalogue

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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


def local_session(master: str = "local[2]", app_name: str = "bonepath") -> SparkSession:
    """A local Spark session (or the active one) with :data:`LOCAL_SETTINGS`, quiet."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("the spark backend needs PySpark: pip install 'bonepath[spark]'") from exc
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in LOCAL_SETTINGS.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


class SparkRunner:
    """Runs the compiled plan in a Spark session over Arrow record tables (thread-safe)."""

    def __init__(self, session: SparkSession | None = None) -> None:
        self.catalogue: Catalogue = load_catalogue()
        self._stages = compiled_stages("pyspark")
        self._session = session
        self._lock = threading.Lock()

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            self._session = local_session()
        return self._session

    def run(self, tables: Mapping[str, pa.Table], context: pa.Table) -> pa.Table:
        """The long findings table for the patients and days in ``context``."""
        with self._lock:
            spark = self.session
            for key, value in PLAN_SETTINGS.items():
                spark.conf.set(key, value)
            views: list[str] = []
            try:
                for name, table in [*tables.items(), ("context", context)]:
                    _frame(spark, table).createOrReplaceTempView(name)
                    views.append(name)
                result: Any = None
                for name, sql in self._stages:
                    result = spark.sql(sql).localCheckpoint(eager=True)
                    result.createOrReplaceTempView(name)
                    views.append(name)
                assert result is not None
                return _to_arrow(result)
            finally:
                for name in views:
                    spark.catalog.dropTempView(name)


def _frame(spark: SparkSession, table: pa.Table) -> Any:
    """A Spark DataFrame of an Arrow table, with the table's column types."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(table.schema)
    if table.num_rows == 0:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(table.to_pandas(date_as_object=True), schema)


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
