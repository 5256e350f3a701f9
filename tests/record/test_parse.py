"""The record parser: structural refusals, problem paths and codes, the shared examples."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bonepath.errors import Problem, RecordRefused
from bonepath.record import problems as codes
from bonepath.record.model import Record
from bonepath.record.parse import parse_json, parse_record, pointer, sort_problems
from bonepath.vocab import Drug, LabTest, Sex

from .support import MINIMAL, TODAY, minimal, only_problem, refusal

REPO = Path(__file__).resolve().parents[2]
# The shared spec lives beside the checkout (or inside it, on a copied working tree).
EXAMPLES = next(
    (
        path
        for path in (REPO / "shared/spec/examples", REPO.parent / "shared/spec/examples")
        if path.is_dir()
    ),
    REPO.parent / "shared/spec/examples",
)


def _example_names() -> list[str]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(
        p.name[: -len(".json")] for p in EXAMPLES.glob("*.json") if ".expected" not in p.name
    )


# ---- the shared examples ------------------------------------------------------------------


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared spec examples not present")
@pytest.mark.parametrize("name", _example_names())
def test_shared_example_is_refused_or_parsed_as_expected(name: str) -> None:
    record = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    expected = json.loads((EXAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))
    if expected["refused"]:
        paths = {p.path for p in refusal(record, TODAY)}
        for error in expected["errors"]:
            assert error["path"] in paths
    else:
        parsed = parse_record(record, today=TODAY)
        assert parsed.id == record["id"]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared spec examples not present")
def test_refused_bad_unit_example_names_path_code_and_units() -> None:
    record = json.loads((EXAMPLES / "refused_bad_unit.json").read_text(encoding="utf-8"))
    problem = only_problem(record)
    assert problem.path == "/events/labs/0/unit"
    assert problem.code == codes.UNKNOWN_UNIT
    assert problem.accepted == ("umol/L", "mg/dL")


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared spec examples not present")
@pytest.mark.parametrize("name", ["zoledronic_renal_dose", "hypocalcaemia_hold"])
def test_parsed_record_round_trips_through_its_json(name: str) -> None:
    record = parse_json((EXAMPLES / f"{name}.json").read_bytes(), today=TODAY)
    assert parse_record(record.to_json_dict(), today=TODAY) == record


# ---- what a valid record becomes -----------------------------------------------------------


def test_minimal_record_parses_to_typed_values(data: dict[str, Any]) -> None:
    record = parse_record(data, today=TODAY)
    assert record.sex is Sex.MALE
    assert record.birth_date == dt.date(1958, 3, 2)
    assert record.cancer.diagnosis_date == dt.date(2026, 1, 5)
    assert record.source == "manual"
    assert record.events.labs == ()


def test_datetime_is_truncated_to_its_date(data: dict[str, Any]) -> None:
    data["events"] = {
        "labs": [
            {
                "date": "2026-10-01T23:30:00+08:00",
                "test": "creatinine",
                "value": 80,
                "unit": "umol/L",
            }
        ],
        "dental": [{"date": "2026-10-02T08:00:00Z", "result": "ok"}],
    }
    record = parse_record(data, today=TODAY)
    assert record.events.labs[0].date == dt.date(2026, 10, 1)
    assert record.events.dental[0].date == dt.date(2026, 10, 2)


def test_record_dated_today_is_accepted(data: dict[str, Any]) -> None:
    data["events"] = {"dental": [{"date": TODAY.isoformat(), "result": "ok"}]}
    assert parse_record(data, today=TODAY).events.dental[0].date == TODAY


# ---- one test per structural refusal code -------------------------------------------------


def test_malformed_json_is_refused_at_the_root() -> None:
    with pytest.raises(RecordRefused, match="not valid JSON") as caught:
        parse_json('{"format": "bonepath-record/1",', today=TODAY)
    (problem,) = caught.value.problems
    assert (problem.path, problem.code, problem.accepted) == ("", codes.MALFORMED_JSON, None)


def test_nan_is_not_json() -> None:
    text = (
        json.dumps(MINIMAL)[:-1]
        + ', "events": {"labs": [{"date": "2026-10-01", '
        + ('"test": "alp", "value": NaN, "unit": "U/L"}]}}')
    )
    with pytest.raises(RecordRefused) as caught:
        parse_json(text, today=TODAY)
    assert [p.code for p in caught.value.problems] == [codes.MALFORMED_JSON]


def test_utf8_byte_order_mark_is_tolerated() -> None:
    text = b"\xef\xbb\xbf" + json.dumps(MINIMAL).encode("utf-8")
    assert parse_json(text, today=TODAY).id == "P0001"


def test_record_that_is_not_an_object_is_wrong_type() -> None:
    problem = only_problem([MINIMAL])
    assert (problem.path, problem.code, problem.accepted) == ("", codes.WRONG_TYPE, None)
    assert "must be an object" in problem.problem


def test_event_list_given_as_object_is_wrong_type(data: dict[str, Any]) -> None:
    data["events"] = {"labs": {"date": "2026-10-01", "test": "alp", "value": 80, "unit": "U/L"}}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/labs",
        codes.WRONG_TYPE,
        None,
    )
    assert "must be a list" in problem.problem


def test_missing_required_field_names_the_field_and_its_codes(data: dict[str, Any]) -> None:
    del data["sex"]
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/sex", codes.MISSING_FIELD)
    assert problem.accepted == ("female", "male")


def test_missing_nested_field_has_its_full_path(data: dict[str, Any]) -> None:
    del data["cancer"]["diagnosis_date"]
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/cancer/diagnosis_date",
        codes.MISSING_FIELD,
        None,
    )


def test_unknown_field_is_refused_with_the_accepted_fields(data: dict[str, Any]) -> None:
    data["events"] = {
        "labs": [{"date": "2026-10-01", "test": "alp", "value": 80, "unit": "U/L", "flag": "H"}]
    }
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/labs/0/flag", codes.UNKNOWN_FIELD)
    assert problem.accepted == ("date", "test", "value", "unit", "lln", "uln")
    assert "unknown fields are refused" in problem.problem


def test_unknown_top_level_field_lists_the_record_fields(data: dict[str, Any]) -> None:
    data["name"] = "Zhang San"
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/name", codes.UNKNOWN_FIELD)
    assert problem.accepted is not None and "birth_date" in problem.accepted


def test_medication_class_alias_is_the_accepted_field_name(data: dict[str, Any]) -> None:
    data["events"] = {"medications": [{"date": "2026-10-01", "klass": "nsaid", "action": "start"}]}
    problems = refusal(data)
    unknown = next(p for p in problems if p.code == codes.UNKNOWN_FIELD)
    assert unknown.accepted == ("date", "class", "action")


def test_unknown_drug_is_refused_with_the_drug_list(data: dict[str, Any]) -> None:
    # VAL-04: a drug outside the vocabulary is refused, path …/drug.
    data["events"] = {"bta": [{"date": "2026-10-01", "drug": "alendronate", "dose_mg": 70}]}
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/bta/0/drug", codes.UNKNOWN_CODE)
    assert problem.accepted == tuple(d.value for d in Drug)


def test_unknown_gene_key_is_refused_at_the_key(data: dict[str, Any]) -> None:
    data["cancer"]["drivers"] = {"EGFX": "positive"}
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/cancer/drivers/EGFX", codes.UNKNOWN_CODE)
    assert problem.accepted is not None and problem.accepted[:2] == ("EGFR", "ALK")


def test_literal_interval_is_an_unknown_code(data: dict[str, Any]) -> None:
    data["bta_plan"] = {"drug": "zoledronic_acid", "interval_days": 30}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/bta_plan/interval_days",
        codes.UNKNOWN_CODE,
        (21, 28, 84),
    )


def test_unknown_lab_test_lists_the_tests(data: dict[str, Any]) -> None:
    data["events"] = {"labs": [{"date": "2026-10-01", "test": "ldh", "value": 200, "unit": "U/L"}]}
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/labs/0/test", codes.UNKNOWN_CODE)
    assert problem.accepted == tuple(t.value for t in LabTest)


def test_other_format_version_is_unsupported(data: dict[str, Any]) -> None:
    data["format"] = "bonepath-record/2"
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/format",
        codes.UNSUPPORTED_FORMAT,
        ("bonepath-record/1",),
    )


def test_string_lab_value_is_refused_not_coerced(data: dict[str, Any]) -> None:
    data["events"] = {
        "labs": [{"date": "2026-10-01", "test": "creatinine", "value": "1.2", "unit": "mg/dL"}]
    }
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/labs/0/value",
        codes.NOT_A_NUMBER,
        None,
    )
    assert '"1.2"' in problem.problem


def test_boolean_lab_value_is_not_a_number(data: dict[str, Any]) -> None:
    data["events"] = {"labs": [{"date": "2026-10-01", "test": "alp", "value": True, "unit": "U/L"}]}
    assert only_problem(data).code == codes.NOT_A_NUMBER


def test_fractional_ecog_is_not_an_integer(data: dict[str, Any]) -> None:
    data["events"] = {"performance": [{"date": "2026-10-01", "ecog": 1.5}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/performance/0/ecog",
        codes.NOT_AN_INTEGER,
        None,
    )


def test_empty_id_is_wrong_format(data: dict[str, Any]) -> None:
    data["id"] = ""
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/id",
        codes.WRONG_FORMAT,
        ("at least 1 characters",),
    )


def test_too_long_id_is_wrong_format(data: dict[str, Any]) -> None:
    data["id"] = "x" * 65
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/id",
        codes.WRONG_FORMAT,
        ("at most 64 characters",),
    )


def test_pd_l1_over_100_percent_is_out_of_range(data: dict[str, Any]) -> None:
    data["cancer"]["pd_l1_tps"] = 150
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/cancer/pd_l1_tps",
        codes.OUT_OF_RANGE,
        (">= 0", "<= 100"),
    )


def test_ctcae_grade_6_is_out_of_range(data: dict[str, Any]) -> None:
    data["events"] = {"adverse_events": [{"date": "2026-10-01", "kind": "onj", "grade": 6}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/adverse_events/0/grade",
        codes.OUT_OF_RANGE,
        (">= 1", "<= 5"),
    )


# ---- dates ----------------------------------------------------------------------------------


def test_date_that_does_not_exist_is_refused_with_its_path(data: dict[str, Any]) -> None:
    data["cancer"]["diagnosis_date"] = "2026-02-30"
    with pytest.raises(RecordRefused, match="2026-02-30") as caught:
        parse_record(data, today=TODAY)
    (problem,) = caught.value.problems
    assert (problem.path, problem.code, problem.accepted) == (
        "/cancer/diagnosis_date",
        codes.INVALID_DATE,
        ("YYYY-MM-DD",),
    )


@pytest.mark.parametrize("text", ["2026/01/05", "05-01-2026", "2026-W02-1", "20260105", "2026-1-5"])
def test_non_iso_date_shapes_are_invalid_dates(data: dict[str, Any], text: str) -> None:
    data["events"] = {"dental": [{"date": text, "result": "ok"}]}
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/dental/0/date", codes.INVALID_DATE)


def test_date_given_as_number_is_an_invalid_date(data: dict[str, Any]) -> None:
    data["birth_date"] = 19580302
    assert (only_problem(data).path, only_problem(data).code) == ("/birth_date", codes.INVALID_DATE)


# ---- every problem, in order -----------------------------------------------------------------


def test_structural_and_semantic_problems_are_reported_together(data: dict[str, Any]) -> None:
    # A bad unit (semantic) and a future date (semantic) next to an unknown code (structural).
    data["events"] = {
        "labs": [{"date": "2026-12-01", "test": "creatinine", "value": 1.1, "unit": "mmol/L"}],
        "bta": [{"date": "2026-10-01", "drug": "aspirin", "dose_mg": 4}],
    }
    found = {(p.path, p.code) for p in refusal(data)}
    assert found == {
        ("/events/labs/0/unit", codes.UNKNOWN_UNIT),
        ("/events/labs/0/date", codes.FUTURE_DATE),
        ("/events/bta/0/drug", codes.UNKNOWN_CODE),
    }


def test_every_independent_problem_is_listed_in_one_refusal(data: dict[str, Any]) -> None:
    data["sex"] = "unknown"
    data["cancer"]["diagnosis_date"] = "2026-02-30"
    data["bone_metastasis"] = {"status": "suspected", "confirmed_date": "2026-03-01"}
    data["events"] = {
        "labs": [
            {"date": "2026-10-01", "test": "creatinine", "value": "1.2", "unit": "mg/dL"},
            {"date": "2026-10-01", "test": "calcium", "value": 2.3, "unit": "mmol"},
        ],
        "vitals": [{"date": "2026-10-01", "weight_kg": -60}],
        "bta": [{"date": "2027-01-01", "drug": "zoledronic_acid", "dose_mg": 0}],
        "performance": [{"date": "2026-10-01", "kps": 35}],
    }
    problems = refusal(data)
    assert {(p.path, p.code) for p in problems} == {
        ("/bone_metastasis/confirmed_date", codes.CONTRADICTION),
        ("/cancer/diagnosis_date", codes.INVALID_DATE),
        ("/events/bta/0/date", codes.FUTURE_DATE),
        ("/events/bta/0/dose_mg", codes.NOT_POSITIVE),
        ("/events/labs/0/value", codes.NOT_A_NUMBER),
        ("/events/labs/1/unit", codes.UNKNOWN_UNIT),
        ("/events/performance/0/kps", codes.IMPLAUSIBLE_VALUE),
        ("/events/vitals/0/weight_kg", codes.NOT_POSITIVE),
        ("/sex", codes.UNKNOWN_CODE),
    }
    assert len({p.path for p in problems}) >= 5
    assert list(problems) == sort_problems(problems)


def test_refusal_json_has_the_interfaces_shape(data: dict[str, Any]) -> None:
    data["events"] = {"labs": [{"date": "2026-10-01", "test": "calcium", "value": 9, "unit": "mg"}]}
    with pytest.raises(RecordRefused) as caught:
        parse_record(data, today=TODAY)
    assert caught.value.to_dict() == {
        "errors": [
            {
                "path": "/events/labs/0/unit",
                "code": "UNKNOWN_UNIT",
                "problem": caught.value.problems[0].problem,
                "accepted": ["mmol/L", "mg/dL"],
            }
        ]
    }


def test_problems_are_sorted_with_numeric_list_indices(data: dict[str, Any]) -> None:
    labs = [{"date": "2026-10-01", "test": "alp", "value": 80, "unit": "U/L"} for _ in range(12)]
    labs[2]["unit"] = "IU"
    labs[10]["unit"] = "IU"
    data["events"] = {"labs": labs}
    assert [p.path for p in refusal(data)] == ["/events/labs/2/unit", "/events/labs/10/unit"]


def test_structural_problem_is_superseded_by_the_semantic_one_at_its_path(
    data: dict[str, Any],
) -> None:
    # size_mm > 0 is both a model constraint and a VAL-02 check: reported once, as NOT_POSITIVE.
    data["bone_metastasis"] = {"status": "none", "lesions": [{"site": "rib", "size_mm": 0}]}
    problem = only_problem(data)
    assert (problem.path, problem.code) == (
        "/bone_metastasis/lesions/0/size_mm",
        codes.NOT_POSITIVE,
    )


def test_sort_problems_drops_exact_duplicates() -> None:
    a = Problem("/b", codes.FUTURE_DATE, "x")
    b = Problem("/a", codes.FUTURE_DATE, "y")
    assert sort_problems([a, b, a]) == [b, a]


def test_pointer_escapes_slash_and_tilde() -> None:
    assert pointer(("events", "labs", 0, "a/b~c")) == "/events/labs/0/a~1b~0c"


def test_a_record_object_is_revalidated_with_its_checks(data: dict[str, Any]) -> None:
    record = parse_record(data, today=TODAY)
    problem = only_problem(record, dt.date(2025, 1, 1))
    assert (problem.path, problem.code) == ("/cancer/diagnosis_date", codes.FUTURE_DATE)


def test_default_today_is_the_real_date_for_a_far_future_event(data: dict[str, Any]) -> None:
    # The only place a test relies on the real date: 2999 is after it whenever this runs.
    data["events"] = {"dental": [{"date": "2999-01-01", "result": "ok"}]}
    with pytest.raises(RecordRefused, match="after today"):
        parse_record(data)


# ---- public codes ----------------------------------------------------------------------------


def test_every_code_constant_is_its_own_name_and_listed() -> None:
    constants = {
        name: value
        for name, value in vars(codes).items()
        if name.isupper() and isinstance(value, str)
    }
    assert all(name == value for name, value in constants.items())
    assert set(constants.values()) == codes.ALL_CODES


def test_every_code_is_documented() -> None:
    doc = (REPO / "docs" / "record-validation.md").read_text(encoding="utf-8")
    assert {c for c in codes.ALL_CODES if f"`{c}`" not in doc} == set()


# ---- properties ------------------------------------------------------------------------------

CREATININE_RANGES = {"mg/dL": (0.1, 20.0), "umol/L": (9.0, 1768.0)}


def _lab_record(test: str, value: float, unit: str) -> dict[str, Any]:
    record = minimal()
    record["events"] = {
        "labs": [{"date": "2026-10-01", "test": test, "value": value, "unit": unit}]
    }
    return record


def _outside(unit: str) -> st.SearchStrategy[tuple[str, float]]:
    low, high = CREATININE_RANGES[unit]
    below = st.floats(min_value=-1e6, max_value=low, exclude_max=True, allow_nan=False)
    above = st.floats(min_value=high, max_value=1e9, exclude_min=True, allow_nan=False)
    return st.tuples(st.just(unit), below | above)


@settings(max_examples=150, deadline=None)
@given(case=_outside("mg/dL") | _outside("umol/L"))
def test_parser_never_accepts_creatinine_outside_val02(case: tuple[str, float]) -> None:
    unit, value = case
    problem = only_problem(_lab_record("creatinine", value, unit))
    assert problem.path == "/events/labs/0/value"
    assert problem.code in (codes.IMPLAUSIBLE_VALUE, codes.NOT_POSITIVE)


@settings(max_examples=100, deadline=None)
@given(unit=st.sampled_from(sorted(CREATININE_RANGES)), fraction=st.floats(0, 1))
def test_parser_accepts_creatinine_inside_val02(unit: str, fraction: float) -> None:
    low, high = CREATININE_RANGES[unit]
    value = min(high, max(low, low + fraction * (high - low)))
    record = parse_record(_lab_record("creatinine", value, unit), today=TODAY)
    assert record.events.labs[0].value == value


POSITIVE_FIELDS = [
    ("labs", {"test": "alp", "unit": "U/L", "value": 80}, "value"),
    ("labs", {"test": "vitamin_d", "unit": "ng/mL", "value": 30}, "value"),
    ("labs", {"test": "calcium", "unit": "mmol/L", "value": 2.3, "lln": 2.1}, "lln"),
    ("labs", {"test": "calcium", "unit": "mmol/L", "value": 2.3, "uln": 2.6}, "uln"),
    ("vitals", {"weight_kg": 60}, "weight_kg"),
    ("vitals", {"height_cm": 170}, "height_cm"),
    ("bta", {"drug": "denosumab", "dose_mg": 120}, "dose_mg"),
    ("treatments", {"kind": "radiotherapy_bone", "dose_gy": 8}, "dose_gy"),
]


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(POSITIVE_FIELDS),
    value=st.floats(max_value=0, allow_nan=False, allow_infinity=False) | st.integers(max_value=0),
)
def test_parser_never_accepts_zero_or_negative_measured_values(
    case: tuple[str, dict[str, Any], str], value: float
) -> None:
    list_name, item, field = case
    record = minimal()
    record["events"] = {list_name: [{"date": "2026-10-01", **item, field: value}]}
    problem = only_problem(record)
    assert (problem.path, problem.code) == (f"/events/{list_name}/0/{field}", codes.NOT_POSITIVE)


def test_parsed_records_are_frozen(data: dict[str, Any]) -> None:
    record = parse_record(data, today=TODAY)
    assert isinstance(record, Record)
    with pytest.raises(ValidationError, match="frozen"):
        record.id = "other"  # type: ignore[misc]
