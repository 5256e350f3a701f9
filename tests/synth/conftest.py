"""A 20,000-patient cohort shared by the synth tests (about 6 s to generate, once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonepath.synth import DEFAULT_PARAMS, generate_record

COHORT_SIZE = 20_000
COHORT_SEED = 20260101
AS_OF: dt.date = DEFAULT_PARAMS.cohort.default_as_of


@pytest.fixture(scope="session")
def cohort() -> list[dict[str, Any]]:
    return [generate_record(i, COHORT_SEED, AS_OF) for i in range(COHORT_SIZE)]
