"""Helpers of the record tests: a pinned "today", a minimal valid record, refusal helpers."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from bonepath.errors import Problem, RecordRefused
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)

MINIMAL: dict[str, Any] = {
    "format": "bonepath-record/1",
    "id": "P0001",
    "sex": "male",
    "birth_date": "1958-03-02",
    "cancer": {
        "diagnosis_date": "2026-01-05",
        "histology": "adenocarcinoma",
        "stage": "IV",
        "setting": "advanced",
    },
}


def minimal() -> dict[str, Any]:
    """A fresh copy of the minimal valid record of record-format.md."""
    return copy.deepcopy(MINIMAL)


def refusal(record: object, today: dt.date = TODAY) -> tuple[Problem, ...]:
    """The problems of a record that must be refused."""
    with pytest.raises(RecordRefused) as caught:
        parse_record(record, today=today)
    return caught.value.problems


def only_problem(record: object, today: dt.date = TODAY) -> Problem:
    """The single problem of a record that must be refused for exactly one reason."""
    problems = refusal(record, today)
    assert len(problems) == 1, problems
    return problems[0]
