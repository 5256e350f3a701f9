"""SAFE: renal, calcium, dental and other safety checks (rules.md §5).

Base patient (builders.confirmed_man): a man of 60, confirmed 2026-09-01, 54 kg, SCr 1.0 mg/dL
(2026-09-02; CrCl 60.0), dental check 2026-09-03. ``ZOL`` adds zoledronic acid 3.5 mg on
2026-09-05 (next dose due 2026-10-03).
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, confirmed_man, lesion, scenario

CM = confirmed_man()
ZOL = CM.dose("2026-09-05", "zoledronic_acid", 3.5)
DENO = CM.dose("2026-09-05", "denosumab").dose("2026-10-03", "denosumab")

# ---- SAFE-01: creatinine before the next infusion -----------------------------------------------

S01_EVE = scenario("safe01.eve_of_window", ZOL, on="2026-09-25")
S01_OPEN = scenario("safe01.window_opens", ZOL, on="2026-09-26")
S01_14 = scenario("safe01.scr_14_days_old", ZOL.creatinine("2026-09-12", 1.0), on="2026-09-26")
S01_15 = scenario("safe01.scr_15_days_old", ZOL.creatinine("2026-09-11", 1.0), on="2026-09-26")
Q21 = CM.creatinine("2026-09-05", 1.0).dose("2026-09-05", "zoledronic_acid", 3.5, interval_days=21)
S01_STRICT = scenario("safe01.strict_with_safe12_factor", Q21.with_(comorbidities=["diabetes"]), on="2026-09-19")
S01_LENIENT = scenario("safe01.lenient_without_factor", Q21, on="2026-09-19")
S01_AFTER = scenario(
    "safe01.strict_scr_after_dose", Q21.with_(comorbidities=["diabetes"]).creatinine("2026-09-06", 1.0), on="2026-09-19"
)
S01_NONE = scenario(
    "safe01.no_scr_ever",
    Patient.man().confirmed("2026-09-01", lesion("rib")).weight("2026-09-01", 54).dose("2026-09-05", "zoledronic_acid", 3.5),
    on="2026-09-26",
)
S01_DENO = scenario("safe01.denosumab", DENO, on="2026-10-28")


def test_safe01_hold_until_creatinine_is_measured(then) -> None:
    then(S01_EVE).silent("SAFE-01")
    then(S01_OPEN).fires(
        "SAFE-01", {"drug": "zoledronic_acid", "due": D("2026-10-03"), "scr_age_days": 24}, kind="action", severity="high", due=D("2026-10-03")
    )
    then(S01_14).silent("SAFE-01")
    then(S01_15).fires("SAFE-01", {"drug": "zoledronic_acid", "due": D("2026-10-03"), "scr_age_days": 15})
    then(S01_NONE).fires("SAFE-01", {"drug": "zoledronic_acid", "due": D("2026-10-03"), "scr_age_days": None})


def test_safe01_with_a_nephrotoxicity_factor_needs_a_creatinine_after_the_last_dose(then) -> None:
    # q3w: due 2026-09-26, window from 2026-09-19; the SCr of the dose day is 14 days old
    then(S01_STRICT).fires("SAFE-01", {"drug": "zoledronic_acid", "due": D("2026-09-26"), "scr_age_days": 14})
    then(S01_LENIENT).silent("SAFE-01")
    then(S01_AFTER).silent("SAFE-01")


def test_safe01_not_for_denosumab(then) -> None:
    then(S01_DENO).silent("SAFE-01", "SAFE-12")


# ---- SAFE-02: renal deterioration on zoledronic acid ---------------------------------------------

S02_05 = scenario("safe02.rise_0_5", ZOL.creatinine("2026-09-25", 1.5), on="2026-10-01")
S02_049 = scenario("safe02.rise_0_49", ZOL.creatinine("2026-09-25", 1.49), on="2026-10-01")
S02_UMOL = scenario(
    "safe02.umol",
    CM.drop_events("labs").creatinine("2026-09-02", 88.4, "umol/L").dose("2026-09-05", "zoledronic_acid", 3.5)
    .creatinine("2026-09-25", 132.6, "umol/L"),
    on="2026-10-01",
)
HIGH_BASE = CM.drop_events("labs").creatinine("2026-09-02", 1.4).dose("2026-09-05", "zoledronic_acid", 3.3)
S02_14_10 = scenario("safe02.baseline_1_4_rise_1_0", HIGH_BASE.creatinine("2026-09-25", 2.4), on="2026-10-01")
S02_14_099 = scenario("safe02.baseline_1_4_rise_0_99", HIGH_BASE.creatinine("2026-09-25", 2.39), on="2026-10-01")
S02_IBAN = scenario(
    "safe02.ibandronate", CM.dose("2026-09-05", "ibandronate", 6.0).creatinine("2026-09-25", 1.6), on="2026-10-01"
)


def test_safe02_rise_of_0_5_from_a_baseline_below_1_4_withholds(then) -> None:
    t = then(S02_05)
    t.fires(
        "SAFE-02",
        {"drug": "zoledronic_acid", "baseline_scr_mg_dl": 1.0, "scr_mg_dl": 1.5, "rise_mg_dl": 0.5, "resume_below_mg_dl": 1.1},
        kind="alert",
        severity="high",
    )
    # due 2026-10-03: the reminder window, but the drug is held (ADH-06)
    t.silent("ADH-01", "SAFE-03")
    t.fires("ADH-06", {"drug": "zoledronic_acid", "held_by": "SAFE-02"}, kind="info", severity="low")


def test_safe02_in_umol_per_litre(then) -> None:
    then(S02_UMOL).fires(
        "SAFE-02",
        {"drug": "zoledronic_acid", "baseline_scr_mg_dl": 1.0, "scr_mg_dl": 1.5, "rise_mg_dl": 0.5, "resume_below_mg_dl": 1.1},
    )


def test_safe02_rise_of_1_0_from_a_baseline_of_1_4(then) -> None:
    t = then(S02_14_10)
    t.fires(
        "SAFE-02",
        {"drug": "zoledronic_acid", "baseline_scr_mg_dl": 1.4, "scr_mg_dl": 2.4, "rise_mg_dl": 1.0, "resume_below_mg_dl": 1.54},
    )
    # 80 × 54 / (72 × 2.4) = 25.0 < 30: SAFE-04 too; the hold is named by the first, SAFE-02
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": 25.0, "scr_mg_dl": 2.4, "dialysis": False})
    t.fires("ADH-06", {"drug": "zoledronic_acid", "held_by": "SAFE-02"})


def test_safe02_silent_below_the_rise(then) -> None:
    t = then(S02_049)
    t.silent("SAFE-02")
    # 80 × 54 / (72 × 1.49) = 40.3 -> band 3.3 below the baseline 3.5: SAFE-03 review instead
    t.fires(
        "SAFE-03",
        {"drug": "zoledronic_acid", "baseline_crcl_ml_min": 60.0, "crcl_ml_min": 40.3, "baseline_dose_mg": 3.5, "band_dose_mg": 3.3},
        kind="alert",
        severity="medium",
    )
    t.fires("ADH-01", {"drug": "zoledronic_acid", "due": D("2026-10-03"), "reminder_date": D("2026-09-30")})
    then(S02_14_099).silent("SAFE-02")
    then(S02_14_099).fires("ADH-06", {"drug": "zoledronic_acid", "held_by": "SAFE-04"})
    then(S02_IBAN).silent("SAFE-02", "SAFE-03")


# ---- SAFE-03 silences --------------------------------------------------------------------------

S03_BETTER = scenario("safe03.crcl_improved", ZOL.creatinine("2026-09-25", 0.8), on="2026-09-28")


def test_safe03_silent_when_the_band_is_not_lower(then) -> None:
    then(S03_BETTER).silent("SAFE-03")


# ---- SAFE-04: CrCl < 30 or SCr >= 3.0 with zoledronic acid planned ---------------------------------

NO_WEIGHT = CM.drop_events("vitals").drop_events("labs")
S04_SCR3 = scenario("safe04.scr_3_no_weight", NO_WEIGHT.creatinine("2026-09-02", 3.0), on="2026-09-05")
S04_SCR299 = scenario("safe04.scr_2_99_no_weight", NO_WEIGHT.creatinine("2026-09-02", 2.99), on="2026-09-05")
S04_UMOL = scenario("safe04.scr_265_2_umol", NO_WEIGHT.creatinine("2026-09-02", 265.2, "umol/L"), on="2026-09-05")
S04_SCR3_W = scenario("safe04.scr_3_with_weight", CM.creatinine("2026-09-04", 3.0), on="2026-09-05")
S04_PLAN = scenario(
    "safe04.plan_while_suspected",
    Patient.man().suspected().weight("2026-09-01", 26.91).creatinine("2026-09-02", 1.0).plan("zoledronic_acid"),
    on="2026-09-05",
)
S04_ACTIVE = scenario("safe04.active_weight_loss", ZOL.weight("2026-09-25", 26), on="2026-10-01")
S04_DENO = scenario("safe04.plan_denosumab", CM.weight("2026-09-02", 26.91).plan("denosumab"), on="2026-09-05")
S04_IBAN = scenario("safe04.plan_ibandronate", CM.weight("2026-09-02", 26.91).plan("ibandronate"), on="2026-09-05")


def test_safe04_scr_3_without_weight_still_stops_zoledronic_acid(then) -> None:
    # clarifications C-06: the safe reading; no CrCl, no dose, data_needed for the weight
    for name, scr in ((S04_SCR3, 3.0), (S04_UMOL, 3.0)):
        t = then(name)
        t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": None, "scr_mg_dl": scr, "dialysis": False}, kind="alert", severity="high")
        t.fires("SCORE-CG", {"score": "cockcroft_gault", "missing": ["weight_kg"]}, kind="data_needed")
        t.fires("BTA-06", {"drug": "denosumab", "dose_mg": 120.0, "route": "sc", "interval_days": 28})
        t.silent("BTA-03", "SAFE-07")
    then(S04_SCR299).silent("SAFE-04", "BTA-03", "BTA-06")


@pytest.mark.parametrize(
    ("name", "crcl", "scr"),
    [(S04_SCR3_W, 20.0, 3.0), (S04_PLAN, 29.9, 1.0), (S04_ACTIVE, 28.9, 1.0)],
)
def test_safe04_fires_for_planned_or_active_zoledronic_acid(then, name: str, crcl: float, scr: float) -> None:
    t = then(name)
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": crcl, "scr_mg_dl": scr, "dialysis": False})
    t.silent("BTA-03")
    t.fires("SAFE-07", {"crcl_ml_min": crcl})


def test_safe04_holds_the_reminder(then) -> None:
    t = then(S04_ACTIVE)
    t.silent("ADH-01")
    t.fires("ADH-06", {"drug": "zoledronic_acid", "held_by": "SAFE-04"})


@pytest.mark.parametrize("name", [S04_DENO, S04_IBAN])
def test_safe04_only_for_zoledronic_acid(then, name: str) -> None:
    then(name).silent("SAFE-04")


# ---- SAFE-05: hypocalcaemia holds the next dose --------------------------------------------------

S05_DENO = scenario("safe05.active_denosumab", DENO.calcium("2026-10-27", 1.96), on="2026-10-28")
S05_START = scenario("safe05.bta01_default_drug", CM.calcium("2026-09-04", 2.0), on="2026-09-05")
S05_START_DENO = scenario("safe05.bta01_plan_denosumab", CM.plan("denosumab").calcium("2026-09-04", 2.0), on="2026-09-05")
S05_LAB_LLN = scenario("safe05.lab_lln", DENO.calcium("2026-10-27", 2.15, lln=2.2), on="2026-10-28")
S05_MG = scenario("safe05.mg_dl", DENO.calcium("2026-10-27", 8.4, "mg/dL"), on="2026-10-28")
S05_AT_LLN = scenario("safe05.at_lln", DENO.calcium("2026-10-27", 2.10), on="2026-10-28")
S05_CORRECTED = scenario("safe05.corrected_up", DENO.calcium("2026-10-27", 2.0).albumin("2026-10-27", 30), on="2026-10-28")
S05_OLD = scenario("safe05.calcium_31_days_old", DENO.calcium("2026-09-27", 1.9), on="2026-10-28")
S05_NO_BTA = scenario("safe05.suspected_no_bta", Patient.man().suspected().calcium("2026-09-04", 1.9), on="2026-09-05")


@pytest.mark.parametrize(
    ("name", "drug", "ca", "unit"),
    [
        (S05_DENO, "denosumab", 1.96, "mmol/L"),
        (S05_START, "zoledronic_acid", 2.0, "mmol/L"),
        (S05_START_DENO, "denosumab", 2.0, "mmol/L"),
        (S05_LAB_LLN, "denosumab", 2.15, "mmol/L"),
        (S05_MG, "denosumab", 8.4, "mg/dL"),
    ],
)
def test_safe05_low_corrected_calcium_holds_the_dose(then, name: str, drug: str, ca: float, unit: str) -> None:
    then(name).fires("SAFE-05", {"drug": drug, "corrected_ca": ca, "ca_unit": unit}, kind="alert", severity="high")


def test_safe05_suppresses_the_reminder(then) -> None:
    t = then(S05_DENO)
    t.silent("ADH-01")
    t.fires("ADH-06", {"drug": "denosumab", "held_by": "SAFE-05"})


@pytest.mark.parametrize("name", [S05_AT_LLN, S05_CORRECTED, S05_OLD, S05_NO_BTA])
def test_safe05_silent(then, name: str) -> None:
    then(name).silent("SAFE-05")


# ---- SAFE-06: calcium and vitamin D supplements --------------------------------------------------

SUPP = {"calcium_mg_daily": 500, "vitamin_d_iu_daily": 400}
S06_NONE = scenario("safe06.no_supplements", DENO, on="2026-10-10")
S06_ENOUGH = scenario("safe06.enough", DENO.supplements("2026-09-05", 500, 400), on="2026-10-10")
S06_LOW_CA = scenario("safe06.calcium_499", DENO.supplements("2026-09-05", 499, 800), on="2026-10-10")
S06_LOW_D = scenario("safe06.vitamin_d_399", DENO.supplements("2026-09-05", 600, 399), on="2026-10-10")
S06_LATEST = scenario(
    "safe06.latest_record", DENO.supplements("2026-09-05", 600, 800).supplements("2026-10-01", 300, 200), on="2026-10-10"
)
S06_HYPER = scenario("safe06.hypercalcaemia", DENO.calcium("2026-10-08", 2.7), on="2026-10-10")
S06_NO_BTA = scenario("safe06.no_bta", CM, on="2026-09-05")


@pytest.mark.parametrize("name", [S06_NONE, S06_LOW_CA, S06_LOW_D, S06_LATEST])
def test_safe06_supplements_needed(then, name: str) -> None:
    then(name).fires("SAFE-06", SUPP, kind="action", severity="medium")


@pytest.mark.parametrize("name", [S06_ENOUGH, S06_HYPER, S06_NO_BTA])
def test_safe06_silent(then, name: str) -> None:
    then(name).silent("SAFE-06")


# ---- SAFE-07: denosumab with CrCl < 30 or dialysis ------------------------------------------------

S07_DIALYSIS = scenario("safe07.dialysis_plan", CM.with_(comorbidities=["dialysis"]).plan("denosumab"), on="2026-09-05")
S07_ACTIVE = scenario("safe07.dialysis_active", DENO.with_(comorbidities=["dialysis"]), on="2026-10-10")
S07_LOW = scenario("safe07.crcl_29_9_plan", CM.weight("2026-09-02", 26.91).plan("denosumab"), on="2026-09-05")
S07_30 = scenario("safe07.crcl_30_plan", CM.weight("2026-09-02", 27).plan("denosumab"), on="2026-09-05")
S07_ZOL_DIALYSIS = scenario("safe07.zoledronic_dialysis", CM.with_(comorbidities=["dialysis"]), on="2026-09-05")


def test_safe07_denosumab_in_severe_renal_impairment(then) -> None:
    then(S07_DIALYSIS).fires("SAFE-07", {"crcl_ml_min": None}, kind="alert", severity="high")
    then(S07_ACTIVE).fires("SAFE-07", {"crcl_ml_min": None})
    then(S07_LOW).fires("SAFE-07", {"crcl_ml_min": 29.9})
    then(S07_30).silent("SAFE-07")


def test_a_dialysis_patient_planned_for_zoledronic_acid_is_offered_denosumab_with_calcium_checks(then) -> None:
    # v1.1 (VAL-10): dialysis stops zoledronic acid (SAFE-04, no CrCl), denosumab is offered
    # (BTA-06) and its calcium monitoring follows (SAFE-07)
    t = then(S07_ZOL_DIALYSIS)
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": None, "scr_mg_dl": 1.0, "dialysis": True})
    t.fires("BTA-06", {"drug": "denosumab", "dose_mg": 120.0, "route": "sc", "interval_days": 28})
    t.fires("SAFE-07", {"crcl_ml_min": None}, kind="alert", severity="high")
    t.silent("BTA-03", "SCORE-CG")


# ---- SAFE-08: dental examination before the first dose -------------------------------------------

NO_DENTAL = CM.drop_events("dental")
S08_NONE = scenario("safe08.no_dental", NO_DENTAL, on="2026-09-05")
S08_90 = scenario("safe08.dental_90_days", NO_DENTAL.dental("2026-06-07"), on="2026-09-05")
S08_91 = scenario("safe08.dental_91_days", NO_DENTAL.dental("2026-06-06"), on="2026-09-05")
S08_AFTER = scenario(
    "safe08.dental_after_first_dose", NO_DENTAL.dose("2026-09-05", "denosumab").dental("2026-09-10"), on="2026-09-12"
)
S08_BEFORE = scenario("safe08.dental_before_first_dose", CM.dose("2026-09-05", "denosumab"), on="2026-09-12")
EARLY = Patient.man().confirmed("2026-08-01", lesion("rib")).weight("2026-08-01", 54).creatinine("2026-08-01", 1.0)
S08_DAY90 = scenario("safe08.first_dose_90_days_ago", EARLY.dose("2026-08-25", "denosumab"), on="2026-11-23")
S08_DAY91 = scenario("safe08.first_dose_91_days_ago", EARLY.dose("2026-08-24", "denosumab"), on="2026-11-23")
S08_SUSPECTED = scenario("safe08.suspected", Patient.man().suspected(), on="2026-09-05")


def test_safe08_dental_exam_within_90_days_before_the_first_dose(then) -> None:
    then(S08_NONE).fires("SAFE-08", {"last_dental_date": None, "last_dental_result": None}, kind="action", severity="medium")
    then(S08_90).silent("SAFE-08")
    then(S08_91).fires("SAFE-08", {"last_dental_date": D("2026-06-06"), "last_dental_result": "ok"})
    then(S08_AFTER).fires("SAFE-08", {"last_dental_date": D("2026-09-10"), "last_dental_result": "ok"})
    then(S08_BEFORE).silent("SAFE-08")
    then(S08_DAY90).fires("SAFE-08", {"last_dental_date": None, "last_dental_result": None})
    then(S08_DAY91).silent("SAFE-08")
    then(S08_SUSPECTED).silent("SAFE-08")


# ---- SAFE-09: periodic dental examination ---------------------------------------------------------

LONG = (
    Patient.man()
    .confirmed("2025-05-01", lesion("rib"))
    .weight("2025-05-01", 54)
    .creatinine("2025-05-01", 1.0)
    .dental("2025-06-05")
    .dose("2025-06-10", "denosumab")
)
S09_12M = scenario("safe09.dental_12_months", LONG.dose("2026-05-20", "denosumab"), on="2026-06-05")
S09_12M1 = scenario("safe09.dental_12_months_1_day", LONG.dose("2026-05-20", "denosumab"), on="2026-06-06")
SMOKER = LONG.with_(smoking="current").dose("2025-11-20", "denosumab")
S09_6M = scenario("safe09.smoker_6_months", SMOKER, on="2025-12-05")
S09_6M1 = scenario("safe09.smoker_6_months_1_day", SMOKER, on="2025-12-06")
S09_INTERVAL = scenario("safe09.interval_factor_alone", LONG.dose("2025-11-20", "denosumab"), on="2025-12-06")
NEW = Patient.man().confirmed("2026-05-01", lesion("rib")).weight("2026-05-01", 54).dose("2026-06-01", "denosumab")
S09_NEW90 = scenario("safe09.first_dose_90_days", NEW.dose("2026-08-24", "denosumab"), on="2026-08-30")
S09_NEW91 = scenario("safe09.first_dose_91_days", NEW.dose("2026-08-24", "denosumab"), on="2026-08-31")
LONG_USE = (
    Patient.man()
    .confirmed("2023-05-01", lesion("rib"))
    .weight("2023-05-01", 54)
    .dose("2023-06-01", "zoledronic_acid", 3.5, interval_days=84)
    .dental("2026-01-15")
    .dose("2026-07-01", "zoledronic_acid", 3.5, interval_days=84)
)
S09_3Y = scenario("safe09.duration_3y_6_months", LONG_USE, on="2026-07-16")
S09_3Y_EVE = scenario("safe09.duration_3y_eve", LONG_USE, on="2026-07-15")


def test_safe09_dental_every_12_months(then) -> None:
    then(S09_12M).silent("SAFE-09")
    then(S09_12M1).fires("SAFE-09", {"last_dental_date": D("2025-06-05")}, kind="action", severity="medium")
    then(S09_INTERVAL).silent("SAFE-09")  # interval < 5 weeks does not shorten it (D-12)


def test_safe09_every_6_months_for_smokers_and_after_3_years(then) -> None:
    then(S09_6M).silent("SAFE-09")
    then(S09_6M1).fires("SAFE-09", {"last_dental_date": D("2025-06-05")})
    then(S09_3Y_EVE).silent("SAFE-09")
    then(S09_3Y).fires("SAFE-09", {"last_dental_date": D("2026-01-15")})


def test_safe09_only_after_90_days_of_treatment(then) -> None:
    then(S09_NEW90).silent("SAFE-09")
    then(S09_NEW91).fires("SAFE-09", {"last_dental_date": None})


# ---- SAFE-10: ONJ risk factors --------------------------------------------------------------------

Q84 = CM.dose("2026-09-05", "zoledronic_acid", 3.5, interval_days=84)
THREE_Y = (
    Patient.man()
    .confirmed("2023-08-01", lesion("rib"))
    .weight("2023-08-01", 54)
    .dose("2023-09-01", "zoledronic_acid", 3.5, interval_days=84)
    .dose("2026-08-20", "zoledronic_acid", 3.5, interval_days=84)
)
S10_DENO = scenario("safe10.denosumab_q4w", DENO, on="2026-10-10")
S10_Q84 = scenario("safe10.zoledronic_q12w", Q84, on="2026-09-10")
S10_SMOKER = scenario("safe10.smoker_q12w", Q84.with_(smoking="current"), on="2026-09-10")
S10_3Y = scenario("safe10.three_years", THREE_Y, on="2026-09-01")
S10_3Y_EVE = scenario("safe10.three_years_eve", THREE_Y, on="2026-08-31")
S10_ALL = scenario(
    "safe10.all_factors",
    THREE_Y.dose("2026-08-25", "denosumab").with_(smoking="current"),
    on="2026-09-01",
)


@pytest.mark.parametrize(
    ("name", "factors"),
    [
        (S10_DENO, ["interval_lt_5w"]),
        (S10_SMOKER, ["current_smoker"]),
        (S10_3Y, ["duration_ge_3y"]),
        (S10_ALL, ["duration_ge_3y", "interval_lt_5w", "current_smoker"]),
    ],
)
def test_safe10_onj_risk_factors(then, name: str, factors: list[str]) -> None:
    then(name).fires("SAFE-10", {"factors": factors}, kind="info", severity="low")


@pytest.mark.parametrize("name", [S10_Q84, S10_3Y_EVE])
def test_safe10_silent(then, name: str) -> None:
    then(name).silent("SAFE-10")


# ---- SAFE-11: osteonecrosis of the jaw -------------------------------------------------------------

S11 = scenario("safe11.stage_2", DENO.adverse("2026-10-05", "onj", stage=2), on="2026-10-10")
S11_NO_STAGE = scenario("safe11.no_stage", DENO.adverse("2026-10-05", "onj", grade=2), on="2026-10-10")
S11_OTHER = scenario("safe11.renal_toxicity", DENO.adverse("2026-10-05", "renal_toxicity", grade=2), on="2026-10-10")


def test_safe11_onj_referral_and_mdt(then) -> None:
    t = then(S11)
    t.fires("SAFE-11", {"stage": 2}, kind="alert", severity="high")
    t.fires("MDT-01", {"triggers": ["SAFE-11"], "trigger_date": D("2026-10-05")}, due=D("2026-10-19"))
    then(S11_NO_STAGE).fires("SAFE-11", {"stage": None})
    then(S11_OTHER).silent("SAFE-11")


# ---- SAFE-12: nephrotoxicity risk factors on a bisphosphonate -------------------------------------

def bisphosphonate(born: str = "1966-01-01", drug: str = "zoledronic_acid", mg: float = 3.5) -> Patient:
    return (
        Patient.man(born)
        .confirmed("2026-09-01", lesion("rib"))
        .weight("2026-09-01", 54)
        .creatinine("2026-09-02", 1.0)
        .dental("2026-09-03")
        .dose("2026-09-05", drug, mg)
    )


S12_66 = scenario("safe12.age_66", bisphosphonate("1960-09-05"), on="2026-09-10")
S12_65 = scenario("safe12.age_65_incadronate", bisphosphonate("1961-09-05", "incadronate", 5.0), on="2026-09-10")
S12_66_INC = scenario("safe12.age_66_incadronate", bisphosphonate("1960-09-05", "incadronate", 5.0), on="2026-09-10")
S12_DIABETES = scenario("safe12.diabetes", bisphosphonate().with_(comorbidities=["diabetes"]), on="2026-09-10")
S12_NSAID = scenario("safe12.nsaid", bisphosphonate().medication("2026-09-01", "nsaid"), on="2026-09-10")
S12_NSAID_STOPPED = scenario(
    "safe12.nsaid_stopped", bisphosphonate().medication("2026-08-01", "nsaid").medication("2026-09-01", "nsaid", "stop"), on="2026-09-10"
)
S12_ALL = scenario(
    "safe12.all_factors",
    bisphosphonate("1950-01-01").with_(comorbidities=["diabetes", "ckd"]).medication("2026-09-01", "cisplatin")
    .medication("2026-09-02", "nsaid"),
    on="2026-09-10",
)
S12_DENO = scenario("safe12.denosumab", DENO.with_(comorbidities=["diabetes"]), on="2026-10-10")


@pytest.mark.parametrize(
    ("name", "factors"),
    [
        (S12_66, ["age_gt_65"]),
        (S12_66_INC, ["age_gt_65"]),
        (S12_DIABETES, ["diabetes"]),
        (S12_NSAID, ["nsaid"]),
        (S12_ALL, ["age_gt_65", "diabetes", "nsaid", "cisplatin"]),
    ],
)
def test_safe12_nephrotoxicity_factors(then, name: str, factors: list[str]) -> None:
    then(name).fires("SAFE-12", {"factors": factors}, kind="info", severity="medium")


def test_safe12_age_65_is_not_a_factor_but_gives_5_mg_incadronate(then) -> None:
    # D-10: incadronate >= 65 -> 5 mg (BTA-05); the nephrotoxicity factor is > 65 only
    t = then(S12_65)
    t.silent("SAFE-12")
    # the course is dosed on the baseline CrCl, with the age at the baseline SCr (64 on
    # 2026-09-02): 76 × 54 / 72 = 57.0; the dose follows today's age, 65
    t.fires("BTA-05", {"drug": "incadronate", "dose_mg": 5.0, "age_years": 65, "crcl_ml_min": 57.0})


@pytest.mark.parametrize("name", [S12_NSAID_STOPPED, S12_DENO])
def test_safe12_silent(then, name: str) -> None:
    then(name).silent("SAFE-12")


# ---- SAFE-13: CTCAE v5 creatinine increased --------------------------------------------------------

def creat(value: float, unit: str = "mg/dL", **limits: float) -> Patient:
    return Patient.man().creatinine("2026-03-01", value, unit, **limits)


S13 = {
    (value, unit, uln): scenario(f"safe13.{value}_{unit}_{uln}", creat(value, unit, **({"uln": uln} if uln else {})), on="2026-03-02")
    for value, unit, uln in [
        (1.2, "mg/dL", None),
        (1.3, "mg/dL", None),
        (1.8, "mg/dL", None),
        (1.81, "mg/dL", None),
        (3.6, "mg/dL", None),
        (3.61, "mg/dL", None),
        (7.2, "mg/dL", None),
        (7.21, "mg/dL", None),
        (1.1, "mg/dL", 1.0),
        (160, "umol/L", None),
    ]
}


@pytest.mark.parametrize(
    ("key", "grade", "severity", "scr"),
    [
        ((1.3, "mg/dL", None), 1, "low", 1.3),  # > ULN 1.2
        ((1.8, "mg/dL", None), 1, "low", 1.8),  # = 1.5 × ULN: still G1
        ((1.81, "mg/dL", None), 2, "medium", 1.81),
        ((3.6, "mg/dL", None), 2, "medium", 3.6),  # = 3 × ULN
        ((3.61, "mg/dL", None), 3, "high", 3.61),
        ((7.2, "mg/dL", None), 3, "high", 7.2),  # = 6 × ULN
        ((7.21, "mg/dL", None), 4, "high", 7.21),
        ((1.1, "mg/dL", 1.0), 1, "low", 1.1),  # the lab's ULN
        ((160, "umol/L", None), 2, "medium", 1.81),  # 160 / 88.4 = 1.81 mg/dL
    ],
)
def test_safe13_grade_from_uln(then, key: tuple, grade: int, severity: str, scr: float) -> None:
    then(S13[key]).fires("SAFE-13", {"grade": grade, "scr_mg_dl": scr}, kind="alert", severity=severity)


BASE06 = (
    Patient.man()
    .confirmed("2026-09-01", lesion("rib"))
    .weight("2026-09-01", 54)
    .creatinine("2026-09-02", 0.6)
    .dose("2026-09-05", "zoledronic_acid", 4.0)
)
S13_BASE_G2 = scenario("safe13.baseline_x1_58", BASE06.creatinine("2026-09-25", 0.95), on="2026-09-28")
S13_BASE_G3 = scenario("safe13.baseline_x3_08", BASE06.creatinine("2026-09-25", 1.85), on="2026-09-28")
S13_STOPPED = scenario(
    "safe13.baseline_outside_course", BASE06.stop("2026-09-20", "patient_refusal").creatinine("2026-09-25", 0.95), on="2026-09-28"
)


def test_safe13_baseline_within_an_active_course(then) -> None:
    then(S13[(1.2, "mg/dL", None)]).silent("SAFE-13")
    then(S13_BASE_G2).fires("SAFE-13", {"grade": 2, "scr_mg_dl": 0.95}, severity="medium")  # 1.58 × baseline
    then(S13_BASE_G3).fires("SAFE-13", {"grade": 3, "scr_mg_dl": 1.85}, severity="high")  # > 3 × baseline
    then(S13_STOPPED).silent("SAFE-13")


# ---- SAFE-14 / SAFE-15: CTCAE v5 hypo- and hypercalcaemia ------------------------------------------

CA = {
    (value, unit): scenario(f"safe1415.{value}_{unit}", Patient.man().calcium("2026-03-01", value, unit), on="2026-03-02")
    for value, unit in [
        (2.10, "mmol/L"), (2.05, "mmol/L"), (2.00, "mmol/L"), (1.99, "mmol/L"), (1.75, "mmol/L"), (1.74, "mmol/L"),
        (1.50, "mmol/L"), (1.49, "mmol/L"), (8.5, "mg/dL"), (8.0, "mg/dL"), (7.9, "mg/dL"), (6.9, "mg/dL"), (5.9, "mg/dL"),
        (2.55, "mmol/L"), (2.56, "mmol/L"), (2.9, "mmol/L"), (2.91, "mmol/L"), (3.0, "mmol/L"), (3.1, "mmol/L"),
        (3.11, "mmol/L"), (3.4, "mmol/L"), (3.41, "mmol/L"), (10.2, "mg/dL"), (11.5, "mg/dL"), (11.6, "mg/dL"),
        (12.0, "mg/dL"), (12.6, "mg/dL"), (13.6, "mg/dL"),
    ]
}


@pytest.mark.parametrize(
    ("key", "grade", "severity"),
    [
        ((2.05, "mmol/L"), 1, "medium"),
        ((2.00, "mmol/L"), 1, "medium"),
        ((1.99, "mmol/L"), 2, "high"),
        ((1.75, "mmol/L"), 2, "high"),
        ((1.74, "mmol/L"), 3, "critical"),
        ((1.50, "mmol/L"), 3, "critical"),
        ((1.49, "mmol/L"), 4, "critical"),
        ((8.0, "mg/dL"), 1, "medium"),
        ((7.9, "mg/dL"), 2, "high"),
        ((6.9, "mg/dL"), 3, "critical"),
        ((5.9, "mg/dL"), 4, "critical"),
    ],
)
def test_safe14_hypocalcaemia_grades(then, key: tuple, grade: int, severity: str) -> None:
    value, unit = key
    t = then(CA[key])
    t.fires("SAFE-14", {"grade": grade, "corrected_ca": value, "ca_unit": unit}, kind="alert", severity=severity)
    t.silent("SAFE-15", "SAFE-05")  # no BTA: nothing to hold


@pytest.mark.parametrize(
    ("key", "grade", "severity", "hcm"),
    [
        ((2.56, "mmol/L"), 1, "high", False),
        ((2.9, "mmol/L"), 1, "high", False),
        ((2.91, "mmol/L"), 2, "high", False),
        ((3.0, "mmol/L"), 2, "high", True),  # HCM from 3.0 mmol/L
        ((3.1, "mmol/L"), 2, "high", True),
        ((3.11, "mmol/L"), 3, "critical", True),
        ((3.4, "mmol/L"), 3, "critical", True),
        ((3.41, "mmol/L"), 4, "critical", True),
        ((11.5, "mg/dL"), 1, "high", False),
        ((11.6, "mg/dL"), 2, "high", False),
        ((12.0, "mg/dL"), 2, "high", True),  # HCM from 12.0 mg/dL
        ((12.6, "mg/dL"), 3, "critical", True),
        ((13.6, "mg/dL"), 4, "critical", True),
    ],
)
def test_safe15_hypercalcaemia_grades(then, key: tuple, grade: int, severity: str, hcm: bool) -> None:
    value, unit = key
    t = then(CA[key])
    t.fires("SAFE-15", {"grade": grade, "corrected_ca": value, "ca_unit": unit, "hcm": hcm}, kind="alert", severity=severity)
    t.silent("SAFE-14")


@pytest.mark.parametrize("key", [(2.10, "mmol/L"), (8.5, "mg/dL"), (2.55, "mmol/L"), (10.2, "mg/dL")])
def test_safe14_safe15_silent_at_the_reference_limits(then, key: tuple) -> None:
    then(CA[key]).silent("SAFE-14", "SAFE-15")


# ---- SAFE-16: thigh pain after a year of BTA --------------------------------------------------------

YEAR = (
    Patient.man()
    .confirmed("2025-09-01", lesion("rib"))
    .weight("2025-09-01", 54)
    .dose("2025-09-10", "denosumab")
    .dose("2026-09-05", "denosumab")
    .symptoms("2026-09-08", 3, "femur")
)
S16 = scenario("safe16.twelve_months", YEAR, on="2026-09-10")
S16_EVE = scenario("safe16.twelve_months_eve", YEAR, on="2026-09-09")
S16_LESION = scenario("safe16.femur_lesion", YEAR.lesions(lesion("rib"), lesion("femur", cortical_involvement_pct=20)), on="2026-09-10")
S16_RIB = scenario("safe16.rib_pain", YEAR.symptoms("2026-09-09", 3, "rib"), on="2026-09-10")
S16_STOPPED = scenario("safe16.stopped", YEAR.stop("2026-09-06", "patient_refusal"), on="2026-09-10")


def test_safe16_image_for_atypical_femoral_fracture(then) -> None:
    then(S16).fires("SAFE-16", {"site": "femur"}, kind="action", severity="medium")


@pytest.mark.parametrize("name", [S16_EVE, S16_LESION, S16_RIB, S16_STOPPED])
def test_safe16_silent(then, name: str) -> None:
    then(name).silent("SAFE-16")
