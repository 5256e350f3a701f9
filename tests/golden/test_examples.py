"""Golden vignettes: the shared worked examples (shared/spec/examples) and our own richer cases
(tests/golden/cases), each a record + ``NAME.expected.json`` (format: shared/spec/examples/README.md).

Checked the way ``shared/tools/check-vignettes`` checks them (fires / not_fires / values with
numbers within 0.05 / refusals by error path), but in-process: every non-refused record is
evaluated in ONE ``evaluate_many`` batch. ``check-vignettes tests/golden/cases`` runs the same
cases through the command line.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bonepath.engine.evaluate import evaluate_many
from bonepath.errors import RecordRefused
from bonepath.record.parse import parse_record
from bonepath.rules import load_catalogue

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "spec" / "examples"
FOLDERS = {"shared": SHARED, "cases": HERE / "cases"}
TODAY = dt.date(2026, 11, 23)
TOLERANCE = 0.05


def _cases() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    cases = {}
    for label, folder in FOLDERS.items():
        for expected_path in sorted(folder.glob("*.expected.json")):
            name = expected_path.name[: -len(".expected.json")]
            record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            expected = json.loads(expected_path.read_text(encoding="utf-8"))
            cases[f"{label}/{name}"] = (record, expected)
    return cases


CASES = _cases()
EVALUATED = [cid for cid, (_, exp) in CASES.items() if not exp.get("refused")]
REFUSED = [cid for cid, (_, exp) in CASES.items() if exp.get("refused")]


def same(expected: Any, got: Any) -> bool:
    """check-vignettes' comparison: numbers within 0.05, everything else equal."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected is got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return abs(expected - got) <= TOLERANCE + 1e-9
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(a, b) for a, b in zip(expected, got, strict=True))
    if isinstance(expected, dict) and isinstance(got, dict):
        return all(k in got and same(v, got[k]) for k, v in expected.items())
    return bool(expected == got)


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    """Every non-refused case, evaluated in one batch, as interfaces.md JSON."""
    items = [
        (parse_record(CASES[cid][0], today=TODAY), dt.date.fromisoformat(CASES[cid][1]["as_of"])) for cid in EVALUATED
    ]
    return {cid: ev.to_json() for cid, ev in zip(EVALUATED, evaluate_many(items), strict=True)}


def test_the_case_folders_are_populated() -> None:
    ours = [cid for cid in CASES if cid.startswith("cases/")]
    assert 5 <= len(ours) <= 12
    if SHARED.exists():
        assert len([cid for cid in CASES if cid.startswith("shared/")]) >= 6


@pytest.mark.parametrize("cid", EVALUATED)
def test_vignette(results: dict[str, dict[str, Any]], cid: str) -> None:
    expected = CASES[cid][1]
    out = results[cid]
    assert out["as_of"] == expected["as_of"] and out["rules_version"]
    fired = {f["rule"] for f in out["findings"]}
    assert set(expected["fires"]) <= fired, (cid, sorted(set(expected["fires"]) - fired))
    assert not set(expected["not_fires"]) & fired, (cid, sorted(set(expected["not_fires"]) & fired))
    for rule, values in expected.get("values", {}).items():
        candidates = [f["values"] for f in out["findings"] if f["rule"] == rule]
        assert any(same(values, c) for c in candidates), (cid, rule, candidates)


@pytest.mark.parametrize("cid", REFUSED)
def test_refused_vignette(cid: str) -> None:
    record, expected = CASES[cid]
    with pytest.raises(RecordRefused) as refused:
        parse_record(record, today=TODAY)
    reported = {p.path for p in refused.value.problems}
    for error in expected.get("errors", []):
        path = error["path"]
        assert path in reported or path.rsplit("/", 1)[0] in reported, (path, reported)


@pytest.mark.parametrize("cid", list(CASES))
def test_vignette_is_well_formed(cid: str) -> None:
    """README rules: values only for fired rules, known rule ids, a derivation for people."""
    expected = CASES[cid][1]
    catalogue = load_catalogue()
    named = set(expected.get("fires", [])) | set(expected.get("not_fires", [])) | set(expected.get("values", {}))
    assert all(rule in catalogue for rule in named), sorted(r for r in named if r not in catalogue)
    assert set(expected.get("values", {})) <= set(expected.get("fires", []))
    assert not set(expected.get("fires", [])) & set(expected.get("not_fires", []))
    dt.date.fromisoformat(expected["as_of"])
    if cid.startswith("cases/"):
        assert len(expected.get("derivation", "")) > 80  # names the rules and sources it exercises
