"""The one local Spark session of the test run (started on first use, stopped at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bonepath.engine.spark_runner import SparkRunner


@pytest.fixture(scope="session")
def spark_runner() -> Iterator[SparkRunner]:
    """A :class:`SparkRunner` on a local[2] session (UI off, 4 shuffle partitions, quiet)."""
    from bonepath.engine.spark_runner import SparkRunner, local_session

    # 4 GB heap: the 5,000-patient x 3-day differential sits at the edge of the 2 GB default
    # (SparkOutOfMemoryError in localCheckpoint seen on some runs); the machine has 24 GB
    session = local_session(driver_memory="4g")
    try:
        yield SparkRunner(session)
    finally:
        session.stop()
