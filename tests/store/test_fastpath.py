"""The import's fast path against the slow path (issue 19): the same rows, hashes and refusals.

:func:`bonepath.store.fastpath.fast_prepared` may only certify: whenever it returns a record,
``prepare_record(parse_record(...))`` must accept the same data and give the same document,
hash and rows; whenever the slow path refuses, the fast path must not certify. The importer's
:func:`validate_batch` (fast path, then the slow path for the rest) must therefore give exactly
what the slow path alone gives, refusals included (codes, paths, messages).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bonepath.errors import Problem, RecordRefused
from bonepath.interop.importer import validate_batch
from bonepath.record.parse import parse_record
from bonepath.store.fastpath import fast_prepared
from bonepath.store.repository import PreparedRecord, prepare_record
from bonepath.synth import generate_record
from bonepath.vocab import Department, Drug, LabTest, Site

TODAY = dt.date(2026, 11, 1)
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = next(
    (
        path
        for path in (REPO / "shared/spec/examples", REPO.parent / "shared/spec/examples")
        if path.is_dir()
    ),
    REPO.parent / "shared/spec/examples",
)
COHORT = [generate_record(index, 7, TODAY) for index in range(120)]


def slow(data: Any, today: dt.date = TODAY) -> PreparedRecord | tuple[Problem, ...]:
    try:
        return prepare_record(parse_record(data, today=today))
    except RecordRefused as refused:
        return refused.problems


def assert_same(data: Any, today: dt.date = TODAY) -> PreparedRecord | None:
    """The fast path certifies only what the slow path stores, and stores it identically; the
    importer's validation equals the slow path's (refusals included)."""
    expected = slow(copy.deepcopy(data), today)
    fast = fast_prepared(copy.deepcopy(data), today)
    if fast is not None:
        assert isinstance(expected, PreparedRecord), expected
        assert fast.document == expected.document
        assert fast.content_hash == expected.content_hash
        assert fast.key == expected.key
        assert fast.rows == expected.rows
        assert list(fast.rows) == list(expected.rows)
        for table, rows in expected.rows.items():
            for mine, theirs in zip(fast.rows[table], rows, strict=True):
                assert [type(v) for v in mine] == [type(v) for v in theirs], table
    assert validate_batch([copy.deepcopy(data)], today) == [expected]
    return fast


def test_the_synthetic_cohort_is_certified_with_the_same_rows_and_hashes() -> None:
    certified = [assert_same(record) for record in COHORT]
    assert all(prepared is not None for prepared in certified)
    tables = {table for prepared in certified if prepared for table in prepared.rows}
    assert {"patients", "lesions", "imaging", "imaging_sites", "labs", "bta", "mdt"} <= tables


def _examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.json") if ".expected" not in p.name)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared spec examples not present")
@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_the_spec_examples_give_the_slow_paths_result(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    fast = assert_same(data)
    refused = isinstance(slow(data), tuple)
    assert (fast is None) == refused or (fast is None and not refused)
    if not refused and path.stem != "refused_bad_unit":
        assert fast is not None  # the valid examples take the fast path


def test_a_refused_example_keeps_its_problems() -> None:
    data = json.loads((EXAMPLES / "refused_bad_unit.json").read_text(encoding="utf-8"))
    assert fast_prepared(data, TODAY) is None
    (result,) = validate_batch([data], TODAY)
    assert isinstance(result, tuple)
    assert [p.code for p in result] == [p.code for p in slow(data)]  # type: ignore[union-attr]


def test_records_the_fast_path_normalises_like_the_model() -> None:
    """Defaults and conversions the stored document must carry as the model gives them."""
    record = copy.deepcopy(COHORT[0])
    del record["source"]  # the model's default "manual"
    record["cancer"]["pd_l1_tps"] = 50  # an integer read as a float: 50.0
    record["bone_metastasis"] = {"status": "suspected", "lesions": []}
    record["hospital"] = {}
    record["identity"] = {"name": "张三", "phone": "+86 (10) 1234-5678"}
    record["events"]["mdt"] = [{"date": "2024-01-02", "attendees": ["orthopedics"]}]
    record["events"]["dental"] = []
    prepared = assert_same(record)
    assert prepared is not None
    document = json.loads(prepared.document)
    assert document["source"] == "manual"
    assert document["cancer"]["pd_l1_tps"] == 50.0
    assert document["bone_metastasis"]["lesions"] == []
    assert document["events"]["mdt"][0]["decisions"] == []
    assert "dental" not in document["events"]


# ---- hypothesis: spoil one or more values of a valid record --------------------------------

TRICKY: list[Any] = [
    None,
    "",
    " ",
    "x",
    "\x00",
    "a\nb",
    "ok/slash",
    0,
    -1,
    1,
    4,
    5,
    10,
    11,
    18,
    21,
    25,
    100,
    101,
    250,
    251,
    2**53 + 1,
    2**63,
    -(2**63),
    0.0,
    -0.0,
    1e-300,
    0.5,
    2.5,
    99.99,
    100.0,
    100.00001,
    1e308,
    True,
    False,
    [],
    {},
    ["rib"],
    {"EGFR": "positive"},
    "2026-02-30",
    "2026-11-01",
    "2026-11-02",
    "2020-01-01T10:00:00Z",
    " 2020-01-01",
    "1900-01-01",
    "2008-11-02",
    "1906-10-31",
    "T2N0M0",
    "T9",
    "L3",
    "T13",
    "C1",
    "mg/dL",
    "umol/L",
    "mmol/L",
    "g/L",
    "confirmed",
    "suspected",
    "bonepath-record/2",
    "class_",
    *(member.value for member in (*Site, *Drug, *LabTest, *Department)),
]


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) of a decoded record, depth first."""
    if isinstance(value, dict):
        for key in value:
            out.append((value, key))
            _slots(value[key], out)
    elif isinstance(value, list):
        for index in range(len(value)):
            out.append((value, index))
            _slots(value[index], out)
    return out


@st.composite
def spoiled(draw: st.DrawFn) -> dict[str, Any]:
    record = copy.deepcopy(draw(st.sampled_from(COHORT[:40])))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(record, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "scale"]))
        if action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            name = draw(st.sampled_from(["unknown", "class_", "date", "sites", "level", "lln"]))
            container[name] = copy.deepcopy(draw(st.sampled_from(TRICKY)))
        elif action == "scale" and type(container[key]) in (int, float):
            container[key] = container[key] * draw(st.sampled_from([-1, 0, 0.5, 2, 10, 1000]))
        else:
            container[key] = copy.deepcopy(draw(st.sampled_from(TRICKY)))
    return record


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=spoiled())
def test_spoiled_records_get_the_slow_paths_result(record: dict[str, Any]) -> None:
    assert_same(record)


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, 119), today=st.dates(dt.date(2024, 1, 1), dt.date(2027, 1, 1)))
def test_any_today_gives_the_slow_paths_result(index: int, today: dt.date) -> None:
    """Records with dates after ``today`` (FUTURE_DATE) and ages near the bounds."""
    assert_same(COHORT[index], today)


# ---- guards: a rule or field added to the parser must be mirrored -----------------------------


def test_the_fast_path_mirrors_every_semantic_check() -> None:
    from bonepath.record.checks import CHECKS
    from bonepath.store.fastpath import MIRRORED_CHECKS

    assert tuple(check.__name__ for check in CHECKS) == MIRRORED_CHECKS


def test_the_fast_path_knows_every_field_of_the_model_and_which_are_required() -> None:
    from pydantic import BaseModel

    from bonepath.record import model
    from bonepath.store import fastpath as fp

    specs: dict[type[BaseModel], Any] = {
        model.Record: fp._RECORD,
        model.Hospital: fp._HOSPITAL,
        model.Physician: fp._PHYSICIAN,
        model.Identity: fp._IDENTITY,
        model.Cancer: fp._CANCER,
        model.Lesion: fp._LESION,
        model.BoneMetastasis: fp._BONE,
        model.BtaPlan: fp._PLAN,
    }
    for name, info in model.Events.model_fields.items():
        (item,) = [a for a in info.annotation.__args__ if a is not Ellipsis]  # type: ignore[union-attr]
        specs[item] = fp._EVENT_SPECS[name]
    assert set(fp._EVENT_SPECS) == set(model.Events.model_fields)
    for cls, spec in specs.items():
        wire = {info.alias or name: info.is_required() for name, info in cls.model_fields.items()}
        assert set(spec.fields) == set(wire), cls.__name__
        assert spec.required == {name for name, required in wire.items() if required}, cls.__name__
