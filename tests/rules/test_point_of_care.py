"""Every scenario gives the same findings at the point of care as in the batch.

``bonepath evaluate`` (and so ``check-vignettes``) runs the compiled plan in SQLite, one patient
at a time; the scenarios here are evaluated in one DuckDB batch. The boundary cases of the rule
tests are exactly where two SQL dialects could part (date arithmetic, rounding, nulls).
"""

from __future__ import annotations

from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation
from rules.builders import SCENARIOS


def test_sqlite_point_of_care_equals_the_duckdb_batch(evaluations: dict[str, Evaluation]) -> None:
    differ = []
    for name, batch in evaluations.items():
        record, day = SCENARIOS[name]
        single = evaluate(record, day)
        got = [(f.item, f.to_json()) for f in single.findings]
        want = [(f.item, f.to_json()) for f in batch.findings]
        if got != want:
            differ.append(name)
    assert not differ, differ
