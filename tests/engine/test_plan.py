"""The compiled plan: stage layout, value slots, and the compile cache key."""

from __future__ import annotations

from bonepath.engine.plan import FINDINGS, _fingerprint, compiled_stages, slot_columns, slot_schema
from bonepath.rules import load_catalogue


def test_stages_end_with_the_findings_table_and_names_are_unique() -> None:
    stages = compiled_stages("duckdb")
    names = [name for name, _ in stages]
    assert names[-1] == FINDINGS
    assert len(names) == len(set(names))
    assert names[0].startswith("scoped_")


def test_both_executors_have_the_same_stages() -> None:
    assert [n for n, _ in compiled_stages("duckdb")] == [n for n, _ in compiled_stages("sqlite")]


def test_every_values_key_has_a_slot_of_its_type() -> None:
    catalogue = load_catalogue()
    schema = slot_schema(catalogue)
    for rule in catalogue:
        slots = slot_columns(rule)
        assert len(set(slots.values())) == len(slots), rule.id  # no two keys share a slot
        for column in slots.values():
            assert column in schema, (rule.id, column)
    # BTA-03 carries drug (string), dose_mg and crcl_ml_min (floats), infusion_min (int)
    assert slot_columns(catalogue["BTA-03"]) == {
        "drug": "v_string_0",
        "dose_mg": "v_float_0",
        "crcl_ml_min": "v_float_1",
        "infusion_min": "v_int_0",
    }


def test_cache_key_depends_on_dialect_and_is_stable() -> None:
    assert _fingerprint("duckdb") == _fingerprint("duckdb")
    assert _fingerprint("duckdb") != _fingerprint("sqlite")
