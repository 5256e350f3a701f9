"""The rule catalogue against rules.md, and every finding of every scenario against the catalogue.

- catalogue ids = the ids of rules.md's rows that produce findings (parsed from its tables);
- each rule: a source, zh + en title and explanation, typed values keys, the kind / default
  severity / per-item of its rules.md row, the values keys of its rules.md row;
- every finding the scenarios produced: exactly its rule's values keys for its kind, values of
  the declared types, its rule's sources and titles; every (rule, kind) is exercised somewhere;
- the rules version is in the output.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bonepath.engine.findings import Evaluation
from bonepath.rules import RULES_VERSION, load_catalogue
from bonepath.rules.catalogue import VALUE_TYPES, ValueType
from bonepath.vocab import FindingKind, Severity
from rules.builders import SCENARIOS

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "rules.md"
CATALOGUE = load_catalogue()
KINDS = {k.value for k in FindingKind}
SEVERITIES = {s.value for s in Severity}
ID = re.compile(r"[A-Z]+-[0-9A-Z]+[a-z]?")

needs_spec = pytest.mark.skipif(not SPEC.exists(), reason="shared/spec/rules.md not beside the checkout")


SECTION_ADDED_KEYS = {"SCR-02": {"purpose"}, "SCR-03": {"purpose"}}
"""values keys a section's text adds to its rows (rules.md §2, v1.1)."""


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _strip_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            return stripped
        text = stripped


def _keys(text: str) -> set[str]:
    """The backticked identifiers of a values cell, outside parentheses."""
    return set(re.findall(r"`([a-z_]+)`", _strip_parentheses(text)))


def spec_rows() -> dict[str, dict[str, str]]:
    """Rows of rules.md that produce findings: id -> {"kind": cell, "values": cell}."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if not ID.fullmatch(cells[0]):
            continue
        kind_col = next((i for i, h in enumerate(header) if h.startswith("kind")), None)
        values_col = next((i for i, h in enumerate(header) if h == "values"), None)
        if kind_col is not None and values_col is not None:
            if cells[kind_col] not in ("—", "-", ""):
                rows[cells[0]] = {"kind": cells[kind_col], "values": cells[values_col]}
        elif header[:2] == ["id", "convention"]:
            # §0 conventions that yield a finding say so: "(`alert`, `medium`, item; values `a`, `b`)"
            found = re.search(r"`(action|reminder|alert|data_needed|info)`,? `(\w+)`,? (item|1)", cells[1])
            listed = re.search(r"values ((?:`\w+`(?: \(`[^`]*`\))?(?:, )?)+)", cells[1])
            if found and listed:
                rows[cells[0]] = {"kind": f"{found[1]} / {found[2]} / {found[3]}", "values": listed[1]}
    return rows


@needs_spec
def test_catalogue_ids_equal_the_finding_rules_of_rules_md() -> None:
    spec = set(spec_rows())
    assert len(spec) == 71  # rules version 1.1 added SAFE-17
    assert spec == {r.id for r in CATALOGUE}


@needs_spec
@pytest.mark.parametrize("rule_id", sorted(r.id for r in CATALOGUE))
def test_kind_severity_and_item_as_in_rules_md(rule_id: str) -> None:
    rule = CATALOGUE[rule_id]
    parts = [p.strip() for p in _strip_parentheses(spec_rows()[rule_id]["kind"]).split(" / ")]
    first_kind = parts[0].split()[0]
    assert first_kind == rule.kind.value
    if parts[1] in SEVERITIES:  # a plain default severity (not "G1 low, G2 medium, …")
        assert parts[1] == rule.severity.value
    assert rule.per_item == (parts[-1] == "item")
    mentioned = {w for p in parts for w in re.findall(r"[a-z_]+", p) if w in KINDS}
    assert mentioned <= {k.value for k in rule.possible_kinds}


@needs_spec
@pytest.mark.parametrize("rule_id", sorted(r.id for r in CATALOGUE))
def test_values_keys_as_in_rules_md(rule_id: str) -> None:
    rule = CATALOGUE[rule_id]
    spec = _keys(spec_rows()[rule_id]["values"])
    code = set(rule.values).union(*(set(keys) for _, keys in rule.kind_values))
    assert spec <= code
    # the data_needed forms of SURG-01/02/03 add `missing` (rules.md names it in the computation);
    # SCR-02/03 add `purpose` in the section's text ("their `values` add `purpose`", v1.1)
    added = SECTION_ADDED_KEYS.get(rule_id, set())
    for key in added:
        assert f"`values` add `{key}`" in SPEC.read_text(encoding="utf-8")
    assert code - spec <= {"missing"} | added


@pytest.mark.parametrize("rule_id", sorted(r.id for r in CATALOGUE))
def test_every_rule_is_documented_and_typed(rule_id: str) -> None:
    rule = CATALOGUE[rule_id]
    assert rule.sources and all(s.render() for s in rule.sources)
    assert rule.title.zh and rule.title.en and rule.logic_text.zh and rule.logic_text.en
    assert all(key in VALUE_TYPES for key in rule.values)
    for kind, keys in rule.kind_values:
        assert kind in rule.possible_kinds
        assert all(key in VALUE_TYPES for key in keys)
    assert rule.id.startswith(rule.family.value + "-")


# ---- every finding of every scenario --------------------------------------------------------------

PY_TYPES: dict[ValueType, tuple[type, ...]] = {
    ValueType.STRING: (str,),
    ValueType.INT: (int,),
    ValueType.FLOAT: (float,),
    ValueType.BOOL: (bool,),
    ValueType.DATE: (dt.date,),
    ValueType.STRINGS: (list,),
}


def test_findings_carry_exactly_their_rules_values_keys_and_types(evaluations: dict[str, Evaluation]) -> None:
    for name, evaluation in evaluations.items():
        assert evaluation.rules_version == RULES_VERSION
        for f in evaluation.findings:
            rule = CATALOGUE[f.rule]
            assert f.kind in rule.possible_kinds, (name, f.rule, f.kind)
            assert tuple(f.values) == rule.values_for(f.kind), (name, f.rule, f.values)
            for key, value in f.values.items():
                if value is not None:
                    expected = PY_TYPES[VALUE_TYPES[key]]
                    assert isinstance(value, expected) and not (
                        isinstance(value, bool) and bool not in expected
                    ), (name, f.rule, key, value)
            assert list(f.sources) == rule.rendered_sources
            assert (f.title_zh, f.title_en) == (rule.title.zh, rule.title.en)


def test_every_rule_and_kind_is_exercised_by_some_scenario(evaluations: dict[str, Evaluation]) -> None:
    seen = {(f.rule, f.kind) for e in evaluations.values() for f in e.findings}
    wanted = {(r.id, k) for r in CATALOGUE for k in r.possible_kinds}
    assert wanted - seen == set()


def test_rules_version_in_the_json_output(evaluations: dict[str, Evaluation]) -> None:
    out = next(iter(evaluations.values())).to_json()
    assert out["rules_version"] == RULES_VERSION == CATALOGUE.version
    assert RULES_VERSION.split(".")[0] == "1"  # rules.md "rules version 1"
    assert {"patient", "as_of", "rules_version", "findings"} <= set(out)


def test_scenarios_are_many_and_named_by_family(evaluations: dict[str, Evaluation]) -> None:
    families = {name.split(".")[0].rstrip("0123456789") for name in SCENARIOS}
    assert len(SCENARIOS) > 300 and len(families) > 10
