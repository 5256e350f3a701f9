"""The semantic checks (rules.md VAL-01..VAL-05): one test per rule, exact path, code, accepted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonepath.record import problems as codes
from bonepath.record.checks import CHECKS, RawRecord, as_date, as_number, run_checks
from bonepath.record.parse import parse_record
from bonepath.vocab import VERTEBRA_LEVELS

from .support import TODAY, only_problem, refusal


def _with_lab(data: dict[str, Any], test: str, value: Any, unit: str, **extra: Any) -> None:
    lab = {"date": "2026-10-01", "test": test, "value": value, "unit": unit, **extra}
    data["events"] = {"labs": [lab]}


# ---- units (VAL-03) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "unit", "accepted"),
    [
        ("creatinine", "mmol/L", ("umol/L", "mg/dL")),
        ("calcium", "mg%", ("mmol/L", "mg/dL")),
        ("albumin", "g/l", ("g/L", "g/dL")),
        ("alp", "IU/L", ("U/L",)),
        ("ntx", "nmol/mmol", ("nmol BCE/mmol Cr",)),
        ("vitamin_d", "ug/L", ("ng/mL", "nmol/L")),
    ],
)
def test_unit_not_listed_for_the_test_is_unknown(
    data: dict[str, Any], test: str, unit: str, accepted: tuple[str, ...]
) -> None:
    _with_lab(data, test, 1.5, unit)
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/labs/0/unit",
        codes.UNKNOWN_UNIT,
        accepted,
    )
    assert "never guessed" in problem.problem


def test_unit_of_an_unknown_test_is_not_judged(data: dict[str, Any]) -> None:
    _with_lab(data, "ldh", 200, "U/L")
    assert only_problem(data).path == "/events/labs/0/test"


# ---- plausibility (VAL-02) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "unit", "value"),
    [
        ("creatinine", "mg/dL", 0.1),
        ("creatinine", "mg/dL", 20),
        ("creatinine", "umol/L", 9),
        ("creatinine", "umol/L", 1768),
        ("calcium", "mmol/L", 1.0),
        ("calcium", "mmol/L", 5.0),
        ("calcium", "mg/dL", 4),
        ("calcium", "mg/dL", 20),
        ("albumin", "g/L", 10),
        ("albumin", "g/L", 60),
        ("albumin", "g/dL", 1.0),
        ("albumin", "g/dL", 6.0),
    ],
)
def test_val02_bounds_are_inclusive(
    data: dict[str, Any], test: str, unit: str, value: float
) -> None:
    _with_lab(data, test, value, unit)
    assert parse_record(data, today=TODAY).events.labs[0].value == value


@pytest.mark.parametrize(
    ("test", "unit", "value", "accepted"),
    [
        ("creatinine", "mg/dL", 0.09, ("0.1-20 mg/dL", "9-1768 umol/L")),
        ("creatinine", "mg/dL", 97, ("0.1-20 mg/dL", "9-1768 umol/L")),  # umol/L written as mg/dL
        ("creatinine", "umol/L", 1.1, ("0.1-20 mg/dL", "9-1768 umol/L")),  # mg/dL written as umol/L
        ("creatinine", "umol/L", 1769, ("0.1-20 mg/dL", "9-1768 umol/L")),
        ("calcium", "mmol/L", 9.2, ("1-5 mmol/L", "4-20 mg/dL")),
        ("calcium", "mg/dL", 2.3, ("1-5 mmol/L", "4-20 mg/dL")),
        ("albumin", "g/L", 4.0, ("10-60 g/L", "1-6 g/dL")),
        ("albumin", "g/dL", 40, ("10-60 g/L", "1-6 g/dL")),
    ],
)
def test_lab_value_outside_val02_is_implausible(
    data: dict[str, Any], test: str, unit: str, value: float, accepted: tuple[str, ...]
) -> None:
    _with_lab(data, test, value, unit)
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/labs/0/value",
        codes.IMPLAUSIBLE_VALUE,
        accepted,
    )
    assert "VAL-02" in problem.problem


def test_value_with_an_unknown_unit_is_not_judged_for_plausibility(data: dict[str, Any]) -> None:
    _with_lab(data, "creatinine", 5000, "mmol/L")
    assert only_problem(data).code == codes.UNKNOWN_UNIT


def test_markers_without_a_val02_range_need_only_be_positive(data: dict[str, Any]) -> None:
    _with_lab(data, "alp", 2500, "U/L")
    assert parse_record(data, today=TODAY).events.labs[0].value == 2500


@pytest.mark.parametrize("weight", [24.9, 250.1, 0.06])
def test_weight_outside_25_to_250_kg_is_implausible(data: dict[str, Any], weight: float) -> None:
    data["events"] = {"vitals": [{"date": "2026-10-01", "weight_kg": weight}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/vitals/0/weight_kg",
        codes.IMPLAUSIBLE_VALUE,
        ("25-250 kg",),
    )


def _with_dose(data: dict[str, Any], drug: str, dose_mg: Any) -> None:
    route = "sc" if drug == "denosumab" else "iv"
    data["events"] = {"bta": [{"date": "2026-10-01", "drug": drug, "dose_mg": dose_mg, "route": route}]}


@pytest.mark.parametrize(
    ("drug", "dose_mg", "ceiling"),
    [
        ("zoledronic_acid", 8.1, "0-8 mg"),
        ("zoledronic_acid", 40, "0-8 mg"),  # a typo of 4.0 mg
        ("zoledronic_acid", 1e308, "0-8 mg"),
        ("ibandronate", 12.5, "0-12 mg"),
        ("incadronate", 20.5, "0-20 mg"),
        ("pamidronate", 181, "0-180 mg"),
        ("denosumab", 241, "0-240 mg"),
    ],
)
def test_a_bta_dose_above_twice_the_labelled_single_dose_is_refused(
    data: dict[str, Any], drug: str, dose_mg: float, ceiling: str
) -> None:
    # rules 1.1 VAL-02: a 10x typo would otherwise be taken as a course "above the recommendation"
    _with_dose(data, drug, dose_mg)
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/bta/0/dose_mg",
        codes.IMPLAUSIBLE_VALUE,
        (ceiling,),
    )


@pytest.mark.parametrize(
    ("drug", "dose_mg"),
    [("zoledronic_acid", 8.0), ("ibandronate", 12), ("incadronate", 20), ("pamidronate", 180), ("denosumab", 240)],
)
def test_a_bta_dose_at_twice_the_labelled_dose_is_accepted(data: dict[str, Any], drug: str, dose_mg: float) -> None:
    _with_dose(data, drug, dose_mg)
    assert parse_record(data, today=TODAY).events.bta[0].dose_mg == dose_mg


@pytest.mark.parametrize("drug", [["zoledronic_acid"], {"name": "zoledronic_acid"}])
def test_a_bta_drug_that_is_not_a_text_is_refused_not_a_crash(
    data: dict[str, Any], drug: Any
) -> None:
    # found by the import fast path's differential test: the dose check looked the list up
    data["events"] = {"bta": [{"date": "2026-10-01", "drug": drug, "dose_mg": 4.0}]}
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/bta/0/drug", codes.UNKNOWN_CODE)


@pytest.mark.parametrize("weight", [25, 250, 61.5])
def test_weight_inside_the_range_is_accepted(data: dict[str, Any], weight: float) -> None:
    data["events"] = {"vitals": [{"date": "2026-10-01", "weight_kg": weight}]}
    assert parse_record(data, today=TODAY).events.vitals[0].weight_kg == weight


@pytest.mark.parametrize(
    ("list_name", "item", "field"),
    [
        ("labs", {"test": "creatinine", "unit": "mg/dL", "value": 1.0}, "value"),
        ("labs", {"test": "calcium", "unit": "mmol/L", "value": 2.3, "lln": 2.1}, "lln"),
        ("labs", {"test": "calcium", "unit": "mmol/L", "value": 2.3, "uln": 2.6}, "uln"),
        ("vitals", {"weight_kg": 60}, "weight_kg"),
        ("vitals", {"height_cm": 170}, "height_cm"),
        ("bta", {"drug": "zoledronic_acid", "dose_mg": 4}, "dose_mg"),
        ("treatments", {"kind": "radiotherapy_bone", "dose_gy": 8}, "dose_gy"),
        ("treatments", {"kind": "radiotherapy_bone", "fractions": 1}, "fractions"),
    ],
)
@pytest.mark.parametrize("bad", [0, -1, -0.5])
def test_zero_or_negative_measured_value_is_not_positive(
    data: dict[str, Any], list_name: str, item: dict[str, Any], field: str, bad: float
) -> None:
    data["events"] = {list_name: [{"date": "2026-10-01", **item, field: bad}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        f"/events/{list_name}/0/{field}",
        codes.NOT_POSITIVE,
        ("> 0",),
    )


def test_zero_lesion_size_is_not_positive(data: dict[str, Any]) -> None:
    data["bone_metastasis"] = {"status": "none", "lesions": [{"site": "femur", "size_mm": -3}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/bone_metastasis/lesions/0/size_mm",
        codes.NOT_POSITIVE,
        ("> 0",),
    )


@pytest.mark.parametrize("pain", [-1, 11])
def test_bone_pain_outside_0_to_10_is_implausible(data: dict[str, Any], pain: int) -> None:
    data["events"] = {"symptoms": [{"date": "2026-10-01", "bone_pain": pain}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/symptoms/0/bone_pain",
        codes.IMPLAUSIBLE_VALUE,
        tuple(range(11)),
    )


def test_bone_pain_zero_and_ten_are_accepted(data: dict[str, Any]) -> None:
    data["events"] = {
        "symptoms": [
            {"date": "2026-10-01", "bone_pain": 0},
            {"date": "2026-10-02", "bone_pain": 10},
        ]
    }
    assert [s.bone_pain for s in parse_record(data, today=TODAY).events.symptoms] == [0, 10]


@pytest.mark.parametrize("ecog", [-1, 5])
def test_ecog_outside_0_to_4_is_implausible(data: dict[str, Any], ecog: int) -> None:
    data["events"] = {"performance": [{"date": "2026-10-01", "ecog": ecog}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/performance/0/ecog",
        codes.IMPLAUSIBLE_VALUE,
        (0, 1, 2, 3, 4),
    )


def test_whole_float_ecog_is_not_an_integer(data: dict[str, Any]) -> None:
    data["events"] = {"performance": [{"date": "2026-10-01", "ecog": 1.0}]}
    assert only_problem(data).code == codes.NOT_AN_INTEGER


@pytest.mark.parametrize("kps", [35, 110, -10, 5])
def test_kps_not_a_multiple_of_10_in_0_to_100_is_implausible(
    data: dict[str, Any], kps: int
) -> None:
    data["events"] = {"performance": [{"date": "2026-10-01", "kps": kps}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/performance/0/kps",
        codes.IMPLAUSIBLE_VALUE,
        (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100),
    )


@pytest.mark.parametrize("kps", [0, 40, 100])
def test_kps_multiples_of_10_are_accepted(data: dict[str, Any], kps: int) -> None:
    data["events"] = {"performance": [{"date": "2026-10-01", "kps": kps}]}
    assert parse_record(data, today=TODAY).events.performance[0].kps == kps


def test_age_under_18_at_diagnosis_is_implausible(data: dict[str, Any]) -> None:
    data["birth_date"] = "2008-01-06"  # 17 on 2026-01-05
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/birth_date",
        codes.IMPLAUSIBLE_VALUE,
        ("on or before 2008-01-05",),
    )
    assert "age of 17" in problem.problem


def test_age_exactly_18_at_diagnosis_is_accepted(data: dict[str, Any]) -> None:
    data["birth_date"] = "2008-01-05"
    assert parse_record(data, today=TODAY).birth_date == dt.date(2008, 1, 5)


def test_age_over_120_today_is_implausible(data: dict[str, Any]) -> None:
    data["birth_date"] = "1905-11-22"  # 121 on 2026-11-23
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/birth_date",
        codes.IMPLAUSIBLE_VALUE,
        ("after 1905-11-23",),
    )


def test_age_exactly_120_today_is_accepted(data: dict[str, Any]) -> None:
    data["birth_date"] = "1906-11-23"
    assert parse_record(data, today=TODAY).birth_date == dt.date(1906, 11, 23)


# ---- dates (VAL-01) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "place"),
    [
        ("/birth_date", lambda d: d.__setitem__("birth_date", "2026-11-24")),
        ("/death_date", lambda d: d.__setitem__("death_date", "2026-11-24")),
        (
            "/cancer/diagnosis_date",
            lambda d: d["cancer"].__setitem__("diagnosis_date", "2026-11-24"),
        ),
        ("/cancer/surgery_date", lambda d: d["cancer"].__setitem__("surgery_date", "2026-11-24")),
        (
            "/cancer/recurrence_date",
            lambda d: d["cancer"].__setitem__("recurrence_date", "2026-11-24"),
        ),
        (
            "/bone_metastasis/confirmed_date",
            lambda d: d.__setitem__(
                "bone_metastasis", {"status": "confirmed", "confirmed_date": "2026-11-24"}
            ),
        ),
        (
            "/events/imaging/0/date",
            lambda d: d.__setitem__(
                "events", {"imaging": [{"date": "2026-11-24T00:10:00", "modality": "ct"}]}
            ),
        ),
    ],
)
def test_any_date_after_today_is_a_future_date(data: dict[str, Any], path: str, place: Any) -> None:
    place(data)
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        path,
        codes.FUTURE_DATE,
        ("on or before 2026-11-23",),
    )


def test_event_before_birth_is_refused(data: dict[str, Any]) -> None:
    data["events"] = {"dental": [{"date": "1958-03-01", "result": "ok"}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/dental/0/date",
        codes.BEFORE_BIRTH,
        ("on or after 1958-03-02",),
    )


def test_event_on_the_birth_date_is_accepted(data: dict[str, Any]) -> None:
    data["events"] = {"dental": [{"date": "1958-03-02", "result": "ok"}]}
    assert parse_record(data, today=TODAY).events.dental[0].date == dt.date(1958, 3, 2)


def test_diagnosis_before_birth_is_refused_without_an_age_problem(data: dict[str, Any]) -> None:
    data["cancer"]["diagnosis_date"] = "1950-01-01"
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/cancer/diagnosis_date", codes.BEFORE_BIRTH)


def test_future_birth_date_is_reported_once_not_for_every_event(data: dict[str, Any]) -> None:
    data["birth_date"] = "2030-01-01"
    data["events"] = {"dental": [{"date": "2026-01-01", "result": "ok"}]}
    assert [(p.path, p.code) for p in refusal(data)] == [("/birth_date", codes.FUTURE_DATE)]


# ---- contradictions and shapes -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspected", "none", None])
def test_confirmed_date_without_confirmed_status_is_a_contradiction(
    data: dict[str, Any], status: str | None
) -> None:
    bone: dict[str, Any] = {"confirmed_date": "2026-02-01"}
    if status is not None:
        bone["status"] = status
    data["bone_metastasis"] = bone
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/bone_metastasis/confirmed_date",
        codes.CONTRADICTION,
        None,
    )
    assert "VAL-05" in problem.problem


def test_lln_not_below_uln_is_a_contradiction(data: dict[str, Any]) -> None:
    _with_lab(data, "calcium", 2.3, "mmol/L", lln=2.6, uln=2.1)
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/events/labs/0/lln",
        codes.CONTRADICTION,
        ("< 2.1",),
    )


def test_unknown_vertebra_level_lists_the_levels(data: dict[str, Any]) -> None:
    data["bone_metastasis"] = {
        "status": "suspected",
        "lesions": [{"site": "thoracic_spine", "level": "T13"}],
    }
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/bone_metastasis/lesions/0/level",
        codes.UNKNOWN_CODE,
        VERTEBRA_LEVELS,
    )
    assert len(VERTEBRA_LEVELS) == 29


def test_level_of_another_spine_segment_is_a_contradiction(data: dict[str, Any]) -> None:
    data["bone_metastasis"] = {
        "status": "suspected",
        "lesions": [{"site": "thoracic_spine", "level": "L3"}],
    }
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/bone_metastasis/lesions/0/level", codes.CONTRADICTION)
    assert problem.accepted == tuple(f"T{i}" for i in range(1, 13))


def test_level_on_a_non_spine_site_is_a_contradiction(data: dict[str, Any]) -> None:
    data["bone_metastasis"] = {"status": "suspected", "lesions": [{"site": "femur", "level": "T7"}]}
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/bone_metastasis/lesions/0/level",
        codes.CONTRADICTION,
        None,
    )


@pytest.mark.parametrize(
    ("site", "level"), [("cervical_spine", "C2"), ("sacrum", "S1"), ("lumbar_spine", "L5")]
)
def test_level_matching_its_spine_site_is_accepted(
    data: dict[str, Any], site: str, level: str
) -> None:
    data["bone_metastasis"] = {"status": "suspected", "lesions": [{"site": site, "level": level}]}
    assert parse_record(data, today=TODAY).bone_metastasis is not None


@pytest.mark.parametrize(
    "tnm", ["T2aN1M1c", "cT2a N1 M1c", "pT1bN0M0", "TisN0M0", "TxNxM1", "ypT0N0M0"]
)
def test_usual_tnm_strings_are_accepted(data: dict[str, Any], tnm: str) -> None:
    data["cancer"]["tnm"] = tnm
    assert parse_record(data, today=TODAY).cancer.tnm == tnm


@pytest.mark.parametrize("tnm", ["stage four", "", "T2aN1M1c" * 5, "T2<script>", "IV"])
def test_tnm_that_is_not_tnm_is_wrong_format(data: dict[str, Any], tnm: str) -> None:
    data["cancer"]["tnm"] = tnm
    problem = only_problem(data)
    assert (problem.path, problem.code, problem.accepted) == (
        "/cancer/tnm",
        codes.WRONG_FORMAT,
        ("T2aN1M1c",),
    )


# ---- the check machinery ---------------------------------------------------------------------


def test_checks_skip_values_of_the_wrong_type() -> None:
    raw = {
        "birth_date": 5,
        "cancer": "lung",
        "bone_metastasis": [],
        "events": {"labs": "none", "vitals": [None, {"weight_kg": "60"}]},
    }
    assert run_checks(raw, TODAY) == []


def test_checks_run_on_anything_decoded_from_json() -> None:
    decoded: tuple[object, ...] = (None, [], "text", 3)
    assert [run_checks(data, TODAY) for data in decoded] == [[], [], [], []]


def test_every_check_is_a_named_function_with_a_docstring() -> None:
    assert all(check.__name__.startswith("check_") and check.__doc__ for check in CHECKS)


def test_raw_record_lists_every_readable_date() -> None:
    raw = RawRecord.of(
        {
            "birth_date": "1958-03-02",
            "cancer": {"diagnosis_date": "2026-01-05", "surgery_date": "bad"},
            "events": {"labs": [{"date": "2026-10-01"}], "sre": [{"date": "2026-02-30"}]},
        },
        TODAY,
    )
    assert list(raw.dates()) == [
        ("/birth_date", dt.date(1958, 3, 2)),
        ("/cancer/diagnosis_date", dt.date(2026, 1, 5)),
        ("/events/labs/0/date", dt.date(2026, 10, 1)),
    ]


def test_as_number_accepts_only_finite_json_numbers() -> None:
    assert [as_number(v) for v in (1, 2.5, True, "3", float("nan"), float("inf"), None)] == [
        1.0,
        2.5,
        None,
        None,
        None,
        None,
        None,
    ]


def test_as_date_reads_record_dates_or_gives_none() -> None:
    assert as_date("2026-10-01T08:00:00") == dt.date(2026, 10, 1)
    assert as_date("2026-02-30") is None
    assert as_date(20261001) is None
