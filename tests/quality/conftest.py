"""A 20,000-patient synthetic cohort (seed 20260101, the synth tests' cohort) as records and as
the Arrow tables of the registry, built once per session (about 30 s)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from bonepath.engine.duckdb_runner import to_arrow
from bonepath.record.columns import to_columns
from bonepath.record.parse import parse_record
from bonepath.synth import DEFAULT_PARAMS, generate_record

COHORT_SIZE = 20_000
COHORT_SEED = 20260101
AS_OF: dt.date = DEFAULT_PARAMS.cohort.default_as_of
EVER = dt.date(2019, 1, 1)
"""A period start before every date of the cohort."""


@dataclass(frozen=True)
class Cohort:
    records: list[dict[str, Any]]
    tables: dict[str, pa.Table]


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    records = [generate_record(i, COHORT_SEED, AS_OF) for i in range(COHORT_SIZE)]
    parsed = [(i + 1, parse_record(r, today=AS_OF)) for i, r in enumerate(records)]
    return Cohort(records, to_arrow(to_columns(parsed)))
