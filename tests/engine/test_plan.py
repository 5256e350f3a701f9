"""The compiled plan: stage layout, value slots, and the compile cache key."""

from __future__ import annotations

import itertools

import duckdb

from bonepath.engine.plan import (
    FINDINGS,
    _fingerprint,
    compiled_stages,
    last_uses,
    slot_columns,
    slot_schema,
)
from bonepath.rules import load_catalogue
from quality.support import record, scan, tables


def test_stages_end_with_the_findings_table_and_names_are_unique() -> None:
    stages = compiled_stages("duckdb")
    names = [name for name, _ in stages]
    assert names[-1] == FINDINGS
    assert len(names) == len(set(names))
    assert names[0] == "living_context"
    assert names[1].startswith("scoped_")


def test_only_the_living_are_scoped_so_no_stage_works_for_the_deceased() -> None:
    """VAL-09: the deceased get no finding, so the plan drops them before scoping any table:
    patient 1 died before the day, 2 dies after it (alive then), 3 has no death date."""

    people = [
        record("DEAD", death="2026-03-01", imaging=[scan("2026-02-01")]),
        record("LATER", death="2026-09-01", imaging=[scan("2026-02-01")]),
        record("ALIVE", imaging=[scan("2026-02-01")]),
    ]
    con = duckdb.connect(":memory:")
    for name, table in tables(people).items():
        con.register(name, table)
    con.execute(
        "CREATE TABLE context AS SELECT * FROM (VALUES (1, DATE '2026-06-01'), "
        "(2, DATE '2026-06-01'), (3, DATE '2026-06-01')) t(pk, as_of)"
    )
    scoped: dict[str, list[int]] = {}
    for name, sql in compiled_stages("duckdb"):
        con.register(name, con.sql(sql).to_arrow_table())
        if name in ("living_context", "scoped_patients", "scoped_imaging"):
            scoped[name] = sorted(row[0] for row in con.sql(f'SELECT pk FROM "{name}"').fetchall())
    assert scoped == {"living_context": [2, 3], "scoped_patients": [2, 3], "scoped_imaging": [2, 3]}


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


def test_a_stage_result_is_kept_until_the_last_stage_that_reads_it() -> None:
    """Runners let a stage's result go after its last reader: a name read as part of a longer
    name does not count, and a result nothing reads is let go at once."""
    stages = [
        ("a", "SELECT 1 AS x"),
        ("b", 'SELECT x FROM "a"'),
        ("ab", "SELECT x FROM b"),
        ("unused", "SELECT 2 AS y"),
        ("c", "SELECT x FROM ab JOIN b USING (x)"),
    ]
    assert last_uses(stages) == {"a": 1, "b": 4, "ab": 4, "unused": 3, "c": 4}


def test_the_compiled_plan_keeps_the_scoped_tables_for_the_findings_stage() -> None:
    stages = compiled_stages("duckdb")
    uses = last_uses(stages)
    final = len(stages) - 1
    assert stages[final][0] == "findings"
    assert uses["scoped_lesions"] == final  # rules read lesion rows directly
    facts = [name for name, _ in stages if name.startswith("facts_")]
    for earlier, later in itertools.pairwise(facts):  # each facts stage only feeds the next
        assert uses[earlier] == [n for n, _ in stages].index(later)
