"""VAL: evaluation conventions (rules.md §0) — VAL-04 and VAL-05 findings, VAL-01 point in
time, and our documented choices (docs/clarifications.md C-01 deceased, C-02 late confirmation).
"""

from __future__ import annotations

import pytest

from bonepath.errors import RecordRefused
from rules.builders import D, Patient, confirmed_man, lesion, scenario

# ---- VAL-04: a denosumab dose other than 120 mg -------------------------------------------------

VAL04 = scenario("val04.deno_60mg", confirmed_man().dose("2026-09-05", "denosumab", 60), on="2026-09-06")
VAL04_TWO = scenario(
    "val04.two_off_doses",
    confirmed_man().dose("2026-09-05", "denosumab", 60).dose("2026-10-03", "denosumab", 240),
    on="2026-10-04",
)
VAL04_120 = scenario("val04.deno_120mg", confirmed_man().dose("2026-09-05", "denosumab", 120), on="2026-09-06")
VAL04_ZOL = scenario("val04.zoledronic", confirmed_man().dose("2026-09-05", "zoledronic_acid", 3.5), on="2026-09-06")


def test_val04_denosumab_60mg_is_kept_but_not_counted(then) -> None:
    t = then(VAL04)
    t.fires("VAL-04", {"drug": "denosumab", "dose_mg": 60.0, "date": D("2026-09-05")}, kind="alert", severity="medium")
    # not a BTA dose: the start is still due, no course, no reminders
    t.fires("BTA-01", {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 5})
    t.silent("ADH-01", "ADH-02", "ADH-04", "SAFE-06", "TX-04")


def test_val04_fires_once_per_dose(then) -> None:
    then(VAL04_TWO).fires_items(
        "VAL-04",
        [
            {"drug": "denosumab", "dose_mg": 60.0, "date": D("2026-09-05")},
            {"drug": "denosumab", "dose_mg": 240.0, "date": D("2026-10-03")},
        ],
    )


@pytest.mark.parametrize("name", [VAL04_120, VAL04_ZOL])
def test_val04_silent_for_the_regimen_dose_and_for_bisphosphonates(then, name: str) -> None:
    t = then(name)
    t.silent("VAL-04", "BTA-01")


def test_val04_unknown_drug_is_refused_with_its_path() -> None:
    data = confirmed_man().data
    data["events"]["bta"] = [{"date": "2026-09-05", "drug": "alendronate", "dose_mg": 70, "route": "iv"}]
    with pytest.raises(RecordRefused) as refused:
        Patient(data).record()
    assert "/events/bta/0/drug" in {p.path for p in refused.value.problems}


# ---- VAL-05: recorded "none" contradicts DX-07 ----------------------------------------------------

VAL05_BIOPSY = scenario(
    "val05.biopsy",
    Patient.man().no_bone_mets().weight("2026-02-01", 70).creatinine("2026-02-01", 1.0).biopsy("2026-03-01", "femur"),
    on="2026-03-02",
)
VAL05_IMAGING = scenario(
    "val05.scan_and_ct",
    Patient.man()
    .no_bone_mets()
    .bone_scan("2026-02-01", "positive", "pelvis")
    .ct("2026-02-10", "positive", "pelvis", region="pelvis"),
    on="2026-02-12",
)
VAL05_PLAN = scenario(
    "val05.plan_zoledronic_low_crcl",
    Patient.man().no_bone_mets().weight("2026-02-01", 26.91).creatinine("2026-02-01", 1.0)
    .biopsy("2026-03-01", "femur").plan("zoledronic_acid"),
    on="2026-03-02",
)
VAL05_ABSENT = scenario(
    "val05.status_absent", Patient.man().biopsy("2026-03-01", "femur"), on="2026-03-02"
)
VAL05_SUSPECTED = scenario(
    "val05.status_suspected", Patient.man().suspected().biopsy("2026-03-01", "femur"), on="2026-03-02"
)
VAL05_NO_EVIDENCE = scenario(
    "val05.none_and_scan_only",
    Patient.man().no_bone_mets().bone_scan("2026-02-01", "positive", "pelvis"),
    on="2026-02-12",
)


def test_val05_contradiction_alert_holds_every_bta_start_rule(then) -> None:
    t = then(VAL05_BIOPSY)
    t.fires(
        "VAL-05",
        {"recorded_status": "none", "derived_status": "confirmed", "derived_date": D("2026-03-01")},
        kind="alert",
        severity="high",
    )
    # "No BTA rule fires until the record is reconciled" (start, dose, no-prophylaxis note)
    t.silent("BTA-01", "BTA-01b", "BTA-01c", "BTA-03", "BTA-06", "SAFE-04", "SAFE-08", "DX-07")


def test_val05_safety_alert_on_the_plan_stays_but_no_alternative_start(then) -> None:
    # clarifications C-13: SAFE-04 (a safety alert on the recorded plan) still fires; the
    # denosumab alternative (BTA-06) is a start and waits for the reconciliation
    t = then(VAL05_PLAN)
    t.fires("VAL-05")
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": 29.9, "scr_mg_dl": 1.0, "dialysis": False})
    t.silent("BTA-06", "BTA-01", "BTA-01b")


def test_val05_dated_by_the_later_of_scan_and_ct(then) -> None:
    then(VAL05_IMAGING).fires(
        "VAL-05", {"recorded_status": "none", "derived_status": "confirmed", "derived_date": D("2026-02-10")}
    )


@pytest.mark.parametrize("name", [VAL05_ABSENT, VAL05_SUSPECTED])
def test_val05_silent_when_status_absent_or_suspected_dx07_instead(then, name: str) -> None:
    t = then(name)
    t.silent("VAL-05")
    t.fires("DX-07", {"confirmed_date": D("2026-03-01"), "site": "femur"})
    t.fires("BTA-01", {"confirmed_date": D("2026-03-01"), "days_since_confirmation": 1})


def test_val05_silent_without_dx07(then) -> None:
    then(VAL05_NO_EVIDENCE).silent("VAL-05", "DX-07", "BTA-01")


# ---- VAL-01: the record as it stood on the day ----------------------------------------------------

LATER = (
    confirmed_man()
    .dose("2026-09-20", "zoledronic_acid", 3.5)
    .creatinine("2026-09-15", 3.5)
    .event("sre", "2026-09-18", kind="pathologic_fracture")
    .symptoms("2026-09-16", 8, "rib", neuro=True)
    .died("2026-10-01")
)
VAL01_BEFORE = scenario("val01.later_events_ignored", LATER, on="2026-09-10")
VAL01_AFTER = scenario("val01.later_events_seen", LATER, on="2026-09-21")


def test_val01_events_after_the_day_are_ignored(then) -> None:
    t = then(VAL01_BEFORE)
    # no dose yet, SCr still 1.0 (CrCl 60.0), no pain, no SRE, alive
    t.fires("BTA-01", {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 9})
    t.fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})
    t.silent("SAFE-04", "SAFE-13", "PAIN-04", "RT-05", "BTA-07")


def test_val01_the_same_record_later_sees_them(then) -> None:
    t = then(VAL01_AFTER)
    t.silent("BTA-01")
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": 17.1, "scr_mg_dl": 3.5, "dialysis": False})
    t.fires("PAIN-04", {"nrs": 8})


# ---- C-01: deceased patients get no findings (our documented choice) -----------------------------

DEAD = confirmed_man().died("2026-09-04")
ALIVE_EVE = scenario("c01.day_before_death", DEAD, on="2026-09-03")
DEAD_DAY = scenario("c01.day_of_death", DEAD, on="2026-09-04")
DEAD_AFTER = scenario("c01.after_death", DEAD, on="2026-11-20")


def test_deceased_patient_gets_no_findings(then) -> None:
    assert then(ALIVE_EVE).rules >= {"BTA-01", "SCORE-CG", "PAIN-01"}
    assert then(DEAD_DAY).evaluation.findings == ()
    assert then(DEAD_AFTER).evaluation.findings == ()


# ---- C-02: a recorded confirmation dated after the day is not yet established ---------------------

LATE = Patient.man().diagnosed("2026-06-01").confirmed("2026-09-01", lesion("rib")).weight("2026-06-01", 70)
LATE_BEFORE = scenario("c02.before_confirmation", LATE.bone_scan("2026-08-10", "positive", "rib"), on="2026-08-20")
LATE_ON = scenario("c02.on_confirmation", LATE.bone_scan("2026-08-10", "positive", "rib"), on="2026-09-01")
LATE_NO_IMAGING = scenario("c02.before_confirmation_no_imaging", LATE.bone_scan("2026-06-05"), on="2026-08-20")


def test_c02_confirmation_after_the_day_is_ignored(then) -> None:
    t = then(LATE_BEFORE)
    t.silent("BTA-01", "PAIN-01", "SCORE-CG")
    t.fires("BTA-01b", {"status": "suspected"})  # the positive scan visible on the day
    t.fires("DX-01", {"site": "rib", "modality": "ct"})


def test_c02_confirmation_counts_from_its_date(then) -> None:
    t = then(LATE_ON)
    t.fires("BTA-01", {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 0})
    t.silent("BTA-01b", "DX-01")


def test_c02_without_imaging_the_patient_is_not_yet_a_bone_met_patient(then) -> None:
    t = then(LATE_NO_IMAGING)
    t.silent("BTA-01", "BTA-01b", "SCORE-CG")
    # surveillance of a not-confirmed advanced patient continues: scan 2026-06-05 + 6 months
    # is not due yet, chest CT is (diagnosis + 3 months = 2026-09-01 > 2026-08-20: not yet)
    t.silent("SCR-02", "SCR-03")


# ---- VAL-07: "latest" = the most recent; same day, the last in list order -------------------------

SAME_DAY_HIGH_LAST = scenario(
    "val07.same_day_high_last", confirmed_man().creatinine("2026-09-04", 1.0).creatinine("2026-09-04", 3.0), on="2026-09-05"
)
SAME_DAY_HIGH_FIRST = scenario(
    "val07.same_day_high_first", confirmed_man().creatinine("2026-09-04", 3.0).creatinine("2026-09-04", 1.0), on="2026-09-05"
)


def test_val07_same_day_values_last_in_list_order_wins(then) -> None:
    then(SAME_DAY_HIGH_LAST).fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": 20.0, "scr_mg_dl": 3.0, "dialysis": False})
    t = then(SAME_DAY_HIGH_FIRST)
    t.silent("SAFE-04")
    t.fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})
