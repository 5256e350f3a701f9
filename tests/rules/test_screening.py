"""SCR: screening and surveillance (rules.md §2), with VAL-06 calendar months clamped to month end.

Default patient: a man with stage IV (advanced) adenocarcinoma diagnosed 2026-01-10.
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, lesion, scenario

P = Patient.man()

# ---- SCR-01: baseline bone scan within 90 days of diagnosis ------------------------------------

S01_DAY0 = scenario("scr01.diagnosis_day", P, on="2026-01-10")
S01_DAY90 = scenario("scr01.day_90", P, on="2026-04-10")
S01_DAY91 = scenario("scr01.day_91", P, on="2026-04-11")
S01_MINUS60 = scenario("scr01.scan_dx_minus_60", P.bone_scan("2025-11-11"), on="2026-02-20")
S01_MINUS61 = scenario("scr01.scan_dx_minus_61", P.bone_scan("2025-11-10"), on="2026-02-20")
S01_PLUS30 = scenario("scr01.pet_dx_plus_30", P.pet_ct("2026-02-09"), on="2026-02-20")
S01_PLUS31 = scenario("scr01.scan_dx_plus_31", P.bone_scan("2026-02-10"), on="2026-02-20")
S01_CT = scenario("scr01.ct_is_not_a_survey", P.ct("2026-01-15"), on="2026-02-20")
S01_RESECTED = scenario(
    "scr01.resected", P.diagnosed("2026-01-10", setting="resected", stage="II", surgery_date="2026-01-20"), on="2026-02-01"
)


@pytest.mark.parametrize(
    ("name", "day"),
    [
        (S01_DAY0, "2026-01-10"),
        (S01_DAY90, "2026-04-10"),
        (S01_MINUS61, "2026-02-20"),
        (S01_PLUS31, "2026-02-20"),
        (S01_CT, "2026-02-20"),
        (S01_RESECTED, "2026-02-01"),
    ],
)
def test_scr01_baseline_bone_scan_due_now(then, name: str, day: str) -> None:
    then(name).fires("SCR-01", {"modality": "bone_scan", "due": D(day)}, kind="action", severity="high", due=D(day))


@pytest.mark.parametrize("name", [S01_DAY91, S01_MINUS60, S01_PLUS30])
def test_scr01_silent_after_90_days_or_with_a_survey_in_the_window(then, name: str) -> None:
    then(name).silent("SCR-01")


def test_scr02_not_while_scr01_fires(then) -> None:
    # 2026-02-20: diagnosis + 30 d (2026-02-09) has passed, but the baseline scan is SCR-01's
    then(S01_PLUS31).silent("SCR-02")
    then(S01_DAY91).fires("SCR-02", {"modality": "bone_scan", "due": D("2026-02-09"), "purpose": "screening"})


# ---- SCR-02: 6-monthly bone survey, advanced ---------------------------------------------------

S02_BASE = P.bone_scan("2026-01-20")
S02_EVE = scenario("scr02.day_before_due", S02_BASE, on="2026-07-19")
S02_DUE = scenario("scr02.due_day", S02_BASE, on="2026-07-20")
S02_PET = scenario("scr02.pet_counts", P.bone_scan("2026-01-20").pet_ct("2026-05-02"), on="2026-07-20")
S02_NONE = scenario("scr02.no_survey_ever", P.diagnosed("2025-06-01"), on="2026-03-01")
S02_CLAMP = P.diagnosed("2025-08-20").bone_scan("2025-08-31")
S02_CLAMP_EVE = scenario("scr02.clamp_eve", S02_CLAMP, on="2026-02-27")
S02_CLAMP_DUE = scenario("scr02.clamp_due", S02_CLAMP, on="2026-02-28")
S02_CONFIRMED = scenario("scr02.confirmed", S02_BASE.confirmed("2026-03-01", lesion("rib")), on="2026-07-20")
S02_LOCAL = scenario("scr02.locally_advanced", S02_BASE.diagnosed("2026-01-10", setting="locally_advanced", stage="III"), on="2026-07-20")


def test_scr02_due_six_months_after_the_latest_survey(then) -> None:
    then(S02_EVE).silent("SCR-02")
    then(S02_DUE).fires("SCR-02", {"modality": "bone_scan", "due": D("2026-07-20"), "purpose": "screening"}, kind="action", severity="medium")
    then(S02_PET).silent("SCR-02")  # the PET-CT of 2026-05-02 is the latest survey


def test_scr02_without_any_survey_due_30_days_after_diagnosis(then) -> None:
    then(S02_NONE).fires("SCR-02", {"modality": "bone_scan", "due": D("2025-07-01"), "purpose": "screening"})


def test_scr02_month_end_clamping(then) -> None:
    # VAL-06: 2025-08-31 + 6 months = 2026-02-28 (no 31 February)
    then(S02_CLAMP_EVE).silent("SCR-02")
    then(S02_CLAMP_DUE).fires("SCR-02", {"modality": "bone_scan", "due": D("2026-02-28"), "purpose": "screening"})


def test_scr02_follows_confirmed_bone_metastasis_too_for_response(then) -> None:
    # v1.1: every advanced patient, confirmed included — the scan now assesses response and
    # new lesions (WP 长期随访表 is for all 晚期 patients)
    then(S02_CONFIRMED).fires("SCR-02", {"modality": "bone_scan", "due": D("2026-07-20"), "purpose": "response"})


def test_scr02_only_advanced(then) -> None:
    then(S02_LOCAL).silent("SCR-02")


# ---- SCR-03: 3-monthly chest CT, advanced -----------------------------------------------------

S03_BASE = P.diagnosed("2025-10-01").bone_scan("2025-10-05").ct("2025-11-30")
S03_EVE = scenario("scr03.clamp_eve", S03_BASE, on="2026-02-27")
S03_DUE = scenario("scr03.clamp_due", S03_BASE, on="2026-02-28")
S03_29 = scenario("scr03.from_29th", P.diagnosed("2025-10-01").ct("2025-11-29"), on="2026-02-28")
S03_NO_CT = scenario("scr03.no_ct_diagnosis_plus_3m", P.diagnosed("2025-11-30").bone_scan("2025-12-01"), on="2026-02-28")
S03_ABDOMEN = scenario(
    "scr03.chest_abdomen_counts", S03_BASE.ct("2026-01-15", region="chest_abdomen"), on="2026-03-01"
)
S03_HEAD = scenario("scr03.head_ct_does_not_count", S03_BASE.ct("2026-01-15", region="head"), on="2026-03-01")
S03_CONFIRMED = scenario("scr03.confirmed", S03_BASE.confirmed("2026-01-01", lesion("rib")), on="2026-03-01")
S03_CONFIRMED_EVE = scenario("scr03.confirmed_eve", S03_BASE.confirmed("2026-01-01", lesion("rib")), on="2026-02-27")


def test_scr03_month_end_clamping(then) -> None:
    # VAL-06: 2025-11-30 + 3 months = 2026-02-28; 2025-11-29 + 3 months too
    then(S03_EVE).silent("SCR-03")
    then(S03_DUE).fires("SCR-03", {"modality": "ct", "due": D("2026-02-28"), "purpose": "screening"}, kind="action", severity="medium")
    then(S03_29).fires("SCR-03", {"modality": "ct", "due": D("2026-02-28"), "purpose": "screening"})


def test_scr03_without_a_chest_ct_due_3_months_after_diagnosis(then) -> None:
    then(S03_NO_CT).fires("SCR-03", {"modality": "ct", "due": D("2026-02-28"), "purpose": "screening"})


def test_scr03_chest_regions_only(then) -> None:
    then(S03_ABDOMEN).silent("SCR-03")  # 2026-01-15 + 3 months = 2026-04-15
    then(S03_HEAD).fires("SCR-03", {"modality": "ct", "due": D("2026-02-28"), "purpose": "screening"})
    # v1.1: confirmed bone metastasis keeps its 3-monthly chest CT (response, new lesions)
    then(S03_CONFIRMED).fires("SCR-03", {"modality": "ct", "due": D("2026-02-28"), "purpose": "response"})
    then(S03_CONFIRMED_EVE).silent("SCR-03")


# ---- SCR-04: yearly survey after resection ------------------------------------------------------

RESECTED = Patient.man().diagnosed("2025-03-01", setting="resected", stage="II", surgery_date="2025-03-20").bone_scan("2025-02-20")
S04_EVE = scenario("scr04.eve", RESECTED.bone_scan("2025-03-19"), on="2026-03-18")
S04_DUE = scenario("scr04.due_from_last_survey", RESECTED.bone_scan("2025-03-19"), on="2026-03-19")
S04_SURGERY = scenario(
    "scr04.due_from_surgery",
    Patient.man().diagnosed("2025-03-01", setting="resected", stage="II", surgery_date="2025-03-20"),
    on="2026-03-20",
)
S04_SURGERY_EVE = scenario(
    "scr04.surgery_eve",
    Patient.man().diagnosed("2025-03-01", setting="resected", stage="II", surgery_date="2025-03-20"),
    on="2026-03-19",
)
S04_CLAMP = scenario(
    "scr04.clamp",
    Patient.man().diagnosed("2024-01-15", setting="resected", stage="I", surgery_date="2024-02-01").bone_scan("2024-02-29"),
    on="2025-02-28",
)
S04_CONFIRMED = scenario("scr04.confirmed", RESECTED.confirmed("2026-02-01", lesion("rib")), on="2026-03-20")
S04_NO_DATE = scenario(
    "scr04.no_surgery_date_no_survey", Patient.man().diagnosed("2025-03-01", setting="resected", stage="II"), on="2026-06-01"
)


def test_scr04_yearly_after_the_latest_survey_or_surgery(then) -> None:
    then(S04_EVE).silent("SCR-04")
    then(S04_DUE).fires("SCR-04", {"modality": "bone_scan", "due": D("2026-03-19")}, kind="action", severity="medium")
    then(S04_SURGERY_EVE).silent("SCR-04")
    then(S04_SURGERY).fires("SCR-04", {"modality": "bone_scan", "due": D("2026-03-20")})
    # 2024-02-29 + 12 months = 2025-02-28
    then(S04_CLAMP).fires("SCR-04", {"modality": "bone_scan", "due": D("2025-02-28")})


def test_scr04_silent_when_confirmed_or_undatable(then) -> None:
    then(S04_CONFIRMED).silent("SCR-04")
    then(S04_NO_DATE).silent("SCR-04", "SCR-02", "SCR-03")


# ---- SCR-05: CT without bone-window review (90-day look-back) ----------------------------------

CT_BASE = P.diagnosed("2026-03-01").bone_scan("2026-03-02")
S05_90 = scenario("scr05.day_90", CT_BASE.ct("2026-05-01", reviewed=None), on="2026-07-30")
S05_91 = scenario("scr05.day_91", CT_BASE.ct("2026-05-01", reviewed=None), on="2026-07-31")
S05_FALSE = scenario("scr05.reviewed_false", CT_BASE.ct("2026-05-01", reviewed=False), on="2026-05-02")
S05_TRUE = scenario("scr05.reviewed_true", CT_BASE.ct("2026-05-01", reviewed=True), on="2026-05-02")
S05_LATEST = scenario(
    "scr05.latest_reviewed", CT_BASE.ct("2026-04-20", reviewed=False).ct("2026-05-01", reviewed=True), on="2026-05-02"
)
S05_LATEST_NOT = scenario(
    "scr05.latest_not_reviewed", CT_BASE.ct("2026-04-20", reviewed=True).ct("2026-05-01", reviewed=False), on="2026-05-02"
)
S05_HEAD = scenario("scr05.any_region", CT_BASE.ct("2026-05-01", region="head", reviewed=None), on="2026-05-02")
S05_MRI = scenario("scr05.mri_is_not_ct", CT_BASE.mri("2026-05-01"), on="2026-05-02")


@pytest.mark.parametrize("name", [S05_90, S05_FALSE, S05_LATEST_NOT, S05_HEAD])
def test_scr05_bone_window_not_reviewed(then, name: str) -> None:
    then(name).fires("SCR-05", {"exam_date": D("2026-05-01")}, kind="action", severity="medium")


@pytest.mark.parametrize("name", [S05_91, S05_TRUE, S05_LATEST, S05_MRI])
def test_scr05_silent(then, name: str) -> None:
    then(name).silent("SCR-05")


# ---- SCR-06: high-risk features, image now ------------------------------------------------------

RISK = P.diagnosed("2026-03-01").bone_scan("2026-03-02")
S06_PAIN1 = scenario("scr06.pain_1", RISK.symptoms("2026-05-01", 1), on="2026-05-02")
S06_PAIN0 = scenario("scr06.pain_0", RISK.symptoms("2026-05-01", 0), on="2026-05-02")
S06_FRACTURE = scenario("scr06.fracture", RISK.sre("2026-04-20", "pathologic_fracture"), on="2026-05-02")
S06_HYPER = scenario("scr06.hypercalcaemia", RISK.calcium("2026-05-01", 2.7), on="2026-05-02")
S06_NEURO = scenario("scr06.neuro_deficit", RISK.symptoms("2026-05-01", 5, neuro=True), on="2026-05-02")
S06_ALL = scenario(
    "scr06.all_triggers",
    RISK.sre("2026-04-20", "pathologic_fracture").calcium("2026-05-01", 11.0, "mg/dL").symptoms("2026-05-01", 3, neuro=True),
    on="2026-05-02",
)
S06_ANSWERED = scenario(
    "scr06.scan_after_trigger", RISK.symptoms("2026-04-25", 4).bone_scan("2026-04-28"), on="2026-05-02"
)
S06_SCAN_BEFORE = scenario(
    "scr06.scan_before_trigger", RISK.bone_scan("2026-04-20").symptoms("2026-04-25", 4), on="2026-05-02"
)
S06_MRI = scenario(
    "scr06.mri_answers_neuro_only", RISK.symptoms("2026-04-25", 4, neuro=True).mri("2026-04-26"), on="2026-05-02"
)
S06_CONFIRMED = scenario(
    "scr06.confirmed", RISK.confirmed("2026-04-01", lesion("rib")).symptoms("2026-05-01", 5, neuro=True), on="2026-05-02"
)
S06_OLD_PAIN = scenario("scr06.pain_31_days_old", RISK.symptoms("2026-04-01", 5), on="2026-05-02")


@pytest.mark.parametrize(
    ("name", "triggers", "modality", "severity"),
    [
        (S06_PAIN1, ["bone_pain"], "bone_scan", "high"),
        (S06_FRACTURE, ["pathologic_fracture"], "bone_scan", "high"),
        (S06_HYPER, ["hypercalcemia"], "bone_scan", "high"),
        (S06_NEURO, ["bone_pain", "neuro_deficit"], "mri", "critical"),
        (S06_ALL, ["bone_pain", "pathologic_fracture", "hypercalcemia", "neuro_deficit"], "mri", "critical"),
        (S06_SCAN_BEFORE, ["bone_pain"], "bone_scan", "high"),
        (S06_MRI, ["bone_pain"], "bone_scan", "high"),
    ],
)
def test_scr06_triggers(then, name: str, triggers: list[str], modality: str, severity: str) -> None:
    then(name).fires(
        "SCR-06",
        {"triggers": triggers, "modality": modality, "due": D("2026-05-02")},
        kind="action",
        severity=severity,
        due=D("2026-05-02"),
    )


@pytest.mark.parametrize("name", [S06_PAIN0, S06_ANSWERED, S06_CONFIRMED, S06_OLD_PAIN])
def test_scr06_silent(then, name: str) -> None:
    then(name).silent("SCR-06")


# ---- SCR-07 (and DX-06): bone-turnover markers --------------------------------------------------

MARK = P.diagnosed("2026-03-01").bone_scan("2026-03-02")
S07_ALP = scenario("scr07.alp_default_uln", MARK.lab("2026-05-01", "alp", 180, "U/L"), on="2026-05-02")
S07_ALP_AT_ULN = scenario("scr07.alp_at_uln", MARK.lab("2026-05-01", "alp", 125, "U/L"), on="2026-05-02")
S07_LAB_ULN = scenario("scr07.alp_lab_uln", MARK.lab("2026-05-01", "alp", 130, "U/L", uln=150), on="2026-05-02")
S07_ORDER = scenario(
    "scr07.order",
    MARK.lab("2026-05-01", "ntx", 80, "nmol BCE/mmol Cr", uln=65)
    .lab("2026-05-01", "ctx", 0.9, "ng/mL", uln=0.7)
    .lab("2026-05-01", "pinp", 90, "ng/mL", uln=70)
    .lab("2026-05-01", "balp", 30, "U/L", uln=20)
    .lab("2026-05-01", "alp", 180, "U/L"),
    on="2026-05-02",
)
S07_NO_ULN = scenario(
    "scr07.no_default_uln", MARK.lab("2026-05-01", "ctx", 5.0, "ng/mL").lab("2026-05-01", "alp", 180, "U/L"), on="2026-05-02"
)
S07_LATEST = scenario(
    "scr07.latest_normal", MARK.lab("2026-04-01", "alp", 180, "U/L").lab("2026-05-01", "alp", 100, "U/L"), on="2026-05-02"
)
S07_CONFIRMED = scenario(
    "scr07.confirmed", MARK.confirmed("2026-04-01", lesion("rib")).lab("2026-05-01", "alp", 180, "U/L"), on="2026-05-02"
)


@pytest.mark.parametrize(
    ("name", "tests"),
    [(S07_ALP, ["alp"]), (S07_ORDER, ["alp", "balp", "pinp", "ctx", "ntx"]), (S07_NO_ULN, ["alp"])],
)
def test_scr07_and_dx06_markers_above_uln(then, name: str, tests: list[str]) -> None:
    t = then(name)
    t.fires("SCR-07", {"tests": tests, "modality": "bone_scan"}, kind="action", severity="medium")
    t.fires("DX-06", {"tests": tests}, kind="info", severity="low")
    t.silent("BTA-01", "BTA-01b", "DX-07")  # markers never set the status (D-06)


@pytest.mark.parametrize("name", [S07_ALP_AT_ULN, S07_LAB_ULN, S07_LATEST, S07_CONFIRMED])
def test_scr07_silent(then, name: str) -> None:
    then(name).silent("SCR-07", "DX-06")
