"""Evaluate every registered rule scenario once, in one columnar pass.

Test modules register ``(name, record, as_of)`` scenarios at import time
(:func:`rules.builders.scenario`); by the time the first test asks for ``then`` collection has
imported every module, so one :func:`~bonepath.engine.evaluate.evaluate_many` call evaluates
them all (an evaluation costs about a second whatever the batch size).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from bonepath.engine.evaluate import evaluate_many
from bonepath.engine.findings import Evaluation
from rules.builders import SCENARIOS, Then


def register_all() -> None:
    """Import every scenario module (as pytest names them), so that the registry is complete
    whichever test files were selected; already-imported modules are not run twice."""
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        importlib.import_module(f"rules.{path.stem}")


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    register_all()
    names = list(SCENARIOS)
    results = evaluate_many([SCENARIOS[name] for name in names])
    return dict(zip(names, results, strict=True))


@pytest.fixture(scope="session")
def then(evaluations: dict[str, Evaluation]) -> Callable[[str], Then]:
    """``then(name)``: assertions on the evaluation of scenario ``name``."""

    def lookup(name: str) -> Then:
        return Then(name, evaluations[name])

    return lookup
