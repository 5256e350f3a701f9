"""The generated records: deterministic, valid, dated within life and as_of, clinically shaped."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import pytest

from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.synth import DEFAULT_PARAMS, generate_record

from .conftest import AS_OF
from .support import all_dates, course_gaps, day, dx07_date, events, interval_class

Cohort = list[dict[str, Any]]


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_and_index_give_equal_records() -> None:
    assert generate_record(17, 5, AS_OF) == generate_record(17, 5, AS_OF)


def test_another_seed_gives_another_patient() -> None:
    assert generate_record(17, 5, AS_OF) != generate_record(17, 6, AS_OF)


def test_ids_number_patients_from_one() -> None:
    assert [generate_record(i, 0, AS_OF)["id"] for i in (0, 1, 41)] == [
        "S0000001",
        "S0000002",
        "S0000042",
    ]


def test_default_as_of_is_the_fixed_cohort_date_not_today() -> None:
    assert generate_record(3, 1) == generate_record(3, 1, dt.date(2026, 11, 1))


# ---- validity ------------------------------------------------------------------------------


def test_every_record_validates_as_a_format_v1_record(cohort: Cohort) -> None:
    for record in cohort:
        Record.model_validate(record)


def test_records_pass_the_parser_with_its_plausibility_and_date_checks(cohort: Cohort) -> None:
    for record in cohort[:3000]:
        parse_record(record, today=AS_OF)


def test_no_date_lies_after_as_of(cohort: Cohort) -> None:
    late = [(r["id"], where) for r in cohort for where, d in all_dates(r) if d > AS_OF]
    assert late == []


def test_no_date_lies_before_birth(cohort: Cohort) -> None:
    early = [
        (r["id"], where) for r in cohort for where, d in all_dates(r) if d < day(r["birth_date"])
    ]
    assert early == []


def test_no_event_after_death(cohort: Cohort) -> None:
    after = [
        (r["id"], where)
        for r in cohort
        if "death_date" in r
        for where, d in all_dates(r)
        if d > day(r["death_date"])
    ]
    assert after == []


def test_an_earlier_as_of_bounds_every_date() -> None:
    as_of = dt.date(2021, 6, 30)
    records = [generate_record(i, 9, as_of) for i in range(1500)]
    assert max(d for r in records for _, d in all_dates(r)) <= as_of
    assert min(day(r["cancer"]["diagnosis_date"]) for r in records) >= DEFAULT_PARAMS.cohort.start


def test_confirmed_date_is_the_dx07_date_of_the_imaging(cohort: Cohort) -> None:
    """The record never contradicts itself (no VAL-05): status and date follow the exams."""
    mismatched = []
    for record in cohort:
        bone = record.get("bone_metastasis") or {}
        derived = dx07_date(record)
        if bone.get("status") == "confirmed":
            if derived != day(bone["confirmed_date"]):
                mismatched.append(record["id"])
        elif derived is not None:
            mismatched.append(record["id"])
    assert mismatched == []


def test_lab_values_are_positive_and_within_val02(cohort: Cohort) -> None:
    ranges = {
        ("creatinine", "mg/dL"): (0.1, 20.0),
        ("creatinine", "umol/L"): (9.0, 1768.0),
        ("calcium", "mmol/L"): (1.0, 5.0),
        ("calcium", "mg/dL"): (4.0, 20.0),
        ("albumin", "g/L"): (10.0, 60.0),
        ("albumin", "g/dL"): (1.0, 6.0),
    }
    bad = []
    for record in cohort:
        for lab in events(record, "labs"):
            low, high = ranges.get((lab["test"], lab["unit"]), (0.0, float("inf")))
            if not (lab["value"] > 0 and low <= lab["value"] <= high):
                bad.append((record["id"], lab))
    assert bad == []


def test_weights_are_within_val02(cohort: Cohort) -> None:
    weights = [v["weight_kg"] for r in cohort for v in events(r, "vitals")]
    assert min(weights) >= 25 and max(weights) <= 250


# ---- mixed units -----------------------------------------------------------------------------


def test_creatinine_comes_mostly_in_umol_l_and_sometimes_in_mg_dl(cohort: Cohort) -> None:
    units = collections.Counter(
        lab["unit"] for r in cohort for lab in events(r, "labs") if lab["test"] == "creatinine"
    )
    share_mg_dl = units["mg/dL"] / (units["mg/dL"] + units["umol/L"])
    assert 0.05 < share_mg_dl < 0.25


@pytest.mark.parametrize(
    ("test", "units"),
    [
        ("calcium", {"mmol/L", "mg/dL"}),
        ("albumin", {"g/L", "g/dL"}),
        ("ctx", {"ng/mL", "pg/mL"}),
        ("vitamin_d", {"ng/mL", "nmol/L"}),
    ],
)
def test_both_accepted_units_occur(cohort: Cohort, test: str, units: set[str]) -> None:
    seen = {lab["unit"] for r in cohort for lab in events(r, "labs") if lab["test"] == test}
    assert seen == units


def test_one_patient_can_have_creatinine_in_both_units(cohort: Cohort) -> None:
    mixed = [
        r["id"]
        for r in cohort
        if len({lab["unit"] for lab in events(r, "labs") if lab["test"] == "creatinine"}) == 2
    ]
    assert len(mixed) > 100


# ---- clinical shape --------------------------------------------------------------------------


def test_between_half_and_sixty_percent_are_stage_iv_at_diagnosis(cohort: Cohort) -> None:
    share = sum(r["cancer"]["stage"] == "IV" for r in cohort) / len(cohort)
    assert 0.50 <= share <= 0.60


def test_adenocarcinoma_is_the_majority_histology(cohort: Cohort) -> None:
    share = sum(r["cancer"]["histology"] == "adenocarcinoma" for r in cohort) / len(cohort)
    assert 0.55 <= share <= 0.65


def test_egfr_is_positive_in_forty_to_fifty_percent_of_tested_adenocarcinomas(
    cohort: Cohort,
) -> None:
    tested = [
        r["cancer"]["drivers"]
        for r in cohort
        if r["cancer"]["histology"] == "adenocarcinoma"
        and r["cancer"].get("drivers", {}).get("EGFR") in ("positive", "negative")
    ]
    egfr = sum(d["EGFR"] == "positive" for d in tested) / len(tested)
    alk = sum(d["ALK"] == "positive" for d in tested) / len(tested)
    assert 0.40 <= egfr <= 0.50
    assert 0.03 <= alk <= 0.07


def test_about_half_of_advanced_patients_have_bone_metastasis(cohort: Cohort) -> None:
    advanced = [r for r in cohort if r["cancer"].get("setting") == "advanced"]
    with_bone = sum(
        (r.get("bone_metastasis") or {}).get("status") in ("suspected", "confirmed")
        for r in advanced
    )
    assert 0.42 <= with_bone / len(advanced) <= 0.55


def test_resected_patients_carry_a_surgery_date_after_diagnosis(cohort: Cohort) -> None:
    resected = [r["cancer"] for r in cohort if r["cancer"].get("setting") == "resected"]
    assert resected
    assert all(day(c["surgery_date"]) > day(c["diagnosis_date"]) for c in resected)


def test_recurrences_turn_the_setting_to_advanced(cohort: Cohort) -> None:
    recurred = [r["cancer"] for r in cohort if "recurrence_date" in r["cancer"]]
    assert len(recurred) > 500
    assert {c["setting"] for c in recurred} == {"advanced"}


def test_spine_pelvis_and_rib_are_the_most_frequent_lesion_sites(cohort: Cohort) -> None:
    sites = collections.Counter(
        lesion["site"]
        for r in cohort
        for lesion in (r.get("bone_metastasis") or {}).get("lesions", [])
    )
    top = {site for site, _ in sites.most_common(4)}
    assert top == {"thoracic_spine", "lumbar_spine", "pelvis", "rib"}


def test_spine_lesions_name_a_vertebra_of_their_segment(cohort: Cohort) -> None:
    prefix = {"cervical_spine": "C", "thoracic_spine": "T", "lumbar_spine": "L", "sacrum": "S"}
    lesions = [
        lesion
        for r in cohort
        for lesion in (r.get("bone_metastasis") or {}).get("lesions", [])
        if lesion["site"] in prefix
    ]
    assert lesions
    assert all(lesion["level"][0] == prefix[lesion["site"]] for lesion in lesions)


def test_suspected_and_confirmed_statuses_both_occur(cohort: Cohort) -> None:
    statuses = collections.Counter((r.get("bone_metastasis") or {}).get("status") for r in cohort)
    assert statuses["suspected"] > 50
    assert statuses["confirmed"] > 4000


def test_zoledronic_acid_is_the_most_used_first_bta(cohort: Cohort) -> None:
    first = collections.Counter(events(r, "bta")[0]["drug"] for r in cohort if events(r, "bta"))
    assert first.most_common(1)[0][0] == "zoledronic_acid"
    assert {"denosumab", "ibandronate", "incadronate"} <= set(first)


def test_renal_adjusted_and_wrong_doses_occur_but_label_doses_dominate(cohort: Cohort) -> None:
    doses = collections.Counter(
        d["dose_mg"] for r in cohort for d in events(r, "bta") if d["drug"] == "zoledronic_acid"
    )
    total = sum(doses.values())
    assert doses[4.0] / total > 0.7
    assert all(doses[x] > 0 for x in (3.5, 3.3, 3.0))
    assert doses[5.0] > 0


def test_twelve_weekly_zoledronic_acid_occurs(cohort: Cohort) -> None:
    assert any(
        d.get("interval_days") == 84
        for r in cohort
        for d in events(r, "bta")
        if d["drug"] == "zoledronic_acid"
    )


def test_denosumab_is_always_given_subcutaneously_every_four_weeks(cohort: Cohort) -> None:
    doses = [d for r in cohort for d in events(r, "bta") if d["drug"] == "denosumab"]
    assert {d["route"] for d in doses} == {"sc"}
    assert {d.get("interval_days", 28) for d in doses} == {28}


def test_stop_reasons_include_those_the_whitepaper_calls_wrong(cohort: Cohort) -> None:
    reasons = {s["reason"] for r in cohort for s in events(r, "bta_stop")}
    assert {"pain_relief", "disease_stable", "cost"} <= reasons


def test_most_courses_of_four_doses_or_more_have_an_extended_interval(cohort: Cohort) -> None:
    stretched = total = 0
    for record in cohort:
        gaps = [interval_class(*g) for g in course_gaps(record)]
        if len(gaps) >= 3:
            total += 1
            stretched += "extended" in gaps
    assert stretched / total > 0.5


def test_sres_of_every_kind_occur_with_their_treatments(cohort: Cohort) -> None:
    kinds = collections.Counter(s["kind"] for r in cohort for s in events(r, "sre"))
    assert set(kinds) == {
        "pathologic_fracture",
        "spinal_cord_compression",
        "radiation_to_bone",
        "surgery_to_bone",
        "hypercalcemia",
    }
    treatments = collections.Counter(t["kind"] for r in cohort for t in events(r, "treatments"))
    assert treatments["radiotherapy_bone"] + treatments["sbrt_bone"] > 0
    assert treatments["surgery_bone"] == kinds["surgery_to_bone"]


def test_no_patient_has_sres_without_bone_metastasis(cohort: Cohort) -> None:
    assert all(
        (r.get("bone_metastasis") or {}).get("status") in ("suspected", "confirmed")
        for r in cohort
        if events(r, "sre")
    )


def test_the_cohort_spans_forty_hospitals_in_both_tiers_and_types(cohort: Cohort) -> None:
    hospitals = {r["hospital"]["id"]: r["hospital"] for r in cohort}
    assert sorted(hospitals) == [f"H{i:02d}" for i in range(1, 41)]
    assert {h["city_tier"] for h in hospitals.values()} == {"tier1-2", "tier3-4"}
    assert {h["type"] for h in hospitals.values()} == {"general", "cancer"}


def test_an_as_of_before_the_cohort_start_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 2019-02-01"):
        generate_record(0, 0, dt.date(2019, 1, 31))


def test_an_as_of_beyond_the_date_table_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        generate_record(0, 0, dt.date(2250, 1, 1))


def test_a_cohort_can_end_on_its_first_possible_day() -> None:
    record = generate_record(0, 0, DEFAULT_PARAMS.cohort.start)
    assert record["cancer"]["diagnosis_date"] == "2019-02-01"
