"""The public worked examples (shared/spec/examples), checked the way check-vignettes checks them,
inside the test suite: fires / not_fires / values (numbers within 0.05) / refusals by path."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bonepath.engine.evaluate import evaluate
from bonepath.errors import RecordRefused
from bonepath.record.parse import parse_record

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "examples"
CASES = sorted(p.name[: -len(".expected.json")] for p in EXAMPLES.glob("*.expected.json"))
TODAY = dt.date(2026, 11, 23)
TOLERANCE = 0.05


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return abs(expected - got) <= TOLERANCE + 1e-9
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(a, b) for a, b in zip(expected, got, strict=True))
    return bool(expected == got)


@pytest.mark.skipif(not CASES, reason="shared examples not beside the checkout")
@pytest.mark.parametrize("name", CASES)
def test_shared_example(name: str) -> None:
    expected = json.loads((EXAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))
    data = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    if expected.get("refused"):
        with pytest.raises(RecordRefused) as refused:
            parse_record(data, today=TODAY)
        paths = {p.path for p in refused.value.problems}
        for error in expected.get("errors", []):
            assert error["path"] in paths
        return
    result = evaluate(parse_record(data, today=TODAY), dt.date.fromisoformat(expected["as_of"])).to_json()
    fired = {f["rule"] for f in result["findings"]}
    assert set(expected["fires"]) <= fired
    assert not set(expected["not_fires"]) & fired
    for rule, values in expected.get("values", {}).items():
        candidates = [f["values"] for f in result["findings"] if f["rule"] == rule]
        assert any(all(k in c and same(v, c[k]) for k, v in values.items()) for c in candidates), (
            rule,
            candidates,
        )
