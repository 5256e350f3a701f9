"""BTA: start, dose, continuation of bone-targeted agents (rules.md §4, D-01..D-14).

Base patient (builders.confirmed_man): a man of 60, confirmed 2026-09-01, SCr 1.0 mg/dL, so
CrCl = 80 × weight / 72; with 54 kg, 60.0 mL/min.
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, confirmed_man, lesion, scenario

CM = confirmed_man()

# ---- BTA-01 / BTA-01b / BTA-01c ----------------------------------------------------------------

B01 = scenario("bta01.fires", CM, on="2026-09-05")
B01_DAY0 = scenario("bta01.confirmation_day", CM, on="2026-09-01")
B01_DOSED = scenario("bta01.dosed", CM.dose("2026-09-04", "zoledronic_acid", 3.5), on="2026-09-05")
B01_STOP = scenario("bta01.stop_without_dose", CM.stop("2026-09-04", "patient_refusal"), on="2026-09-05")
B01_LE3 = scenario("bta01.life_expectancy_3", CM.performance("2026-09-02", ecog=2, life_expectancy_months=3), on="2026-09-05")
B01_LE_LATEST = scenario(
    "bta01.latest_life_expectancy",
    CM.performance("2026-09-02", life_expectancy_months=2).performance("2026-09-04", ecog=1, life_expectancy_months=6),
    on="2026-09-05",
)
B01C = scenario("bta01c.life_expectancy_2_5", CM.performance("2026-09-02", ecog=3, life_expectancy_months=2.5), on="2026-09-05")
B01_NO_DATE = scenario(
    "bta01.confirmed_without_date",
    Patient.man().confirmed(None, lesion("rib")).weight("2026-09-01", 54).creatinine("2026-09-02", 1.0),
    on="2026-09-05",
)
B01B = scenario("bta01b.suspected", Patient.man().suspected(lesion("rib")).weight("2026-09-01", 54), on="2026-09-05")


def test_bta01_start_within_14_days_of_confirmation(then) -> None:
    then(B01).fires(
        "BTA-01",
        {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 4},
        kind="action",
        severity="high",
        due=D("2026-09-15"),
    )
    then(B01_DAY0).fires("BTA-01", {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 0})


@pytest.mark.parametrize("name", [B01_DOSED, B01_STOP, B01C])
def test_bta01_silent_after_a_dose_a_stop_or_with_short_life_expectancy(then, name: str) -> None:
    then(name).silent("BTA-01")


@pytest.mark.parametrize("name", [B01_LE3, B01_LE_LATEST])
def test_bta01_life_expectancy_of_3_months_or_more_starts(then, name: str) -> None:
    t = then(name)
    t.fires("BTA-01", {"confirmed_date": D("2026-09-01"), "days_since_confirmation": 4})
    t.silent("BTA-01c")


def test_bta01c_life_expectancy_below_3_months_is_a_clinician_decision(then) -> None:
    t = then(B01C)
    t.fires("BTA-01c", {"life_expectancy_months": 2.5}, kind="info", severity="medium")
    t.silent("BTA-03", "SAFE-08")  # no start recommended, so no start dose or dental check


def test_bta01_without_a_confirmation_date_is_due_now(then) -> None:
    # clarifications C-15: the start is not dated by an unknown confirmation; it is due today
    then(B01_NO_DATE).fires(
        "BTA-01", {"confirmed_date": None, "days_since_confirmation": None}, due=D("2026-09-05")
    )


def test_bta01b_suspected_gets_no_bta(then) -> None:
    t = then(B01B)
    t.fires("BTA-01b", {"status": "suspected"}, kind="info", severity="low")
    t.silent("BTA-01", "BTA-03", "BTA-04", "BTA-05", "BTA-06", "SAFE-04", "SAFE-08", "SCORE-CG")
    then(B01).silent("BTA-01b")


# ---- BTA-03: zoledronic acid renal bands (D-01) ---------------------------------------------------

ZOL_BANDS = [
    # (weight kg, CrCl, dose): CrCl = 80 × weight / 72, rounded half-up to 0.1 (VAL-08)
    (54.09, 60.1, 4.0),
    (54, 60.0, 3.5),  # D-01: 60.0 belongs to the 50–60 band
    (45, 50.0, 3.5),
    (44.91, 49.9, 3.3),
    (36, 40.0, 3.3),
    (35.91, 39.9, 3.0),
    (27, 30.0, 3.0),
]
ZOL = {w: scenario(f"bta03.weight_{w}", CM.weight("2026-09-02", w), on="2026-09-05") for w, _, _ in ZOL_BANDS}
ZOL_29_9 = scenario("bta03.crcl_29_9", CM.weight("2026-09-02", 26.91), on="2026-09-05")


@pytest.mark.parametrize(("weight", "crcl", "dose"), ZOL_BANDS)
def test_bta03_zoledronic_dose_bands_at_their_edges(then, weight: float, crcl: float, dose: float) -> None:
    t = then(ZOL[weight])
    t.fires(
        "BTA-03",
        {"drug": "zoledronic_acid", "dose_mg": dose, "crcl_ml_min": crcl, "infusion_min": 15},
        kind="action",
        severity="high",
    )
    t.silent("SAFE-04", "BTA-06")


def test_bta03_below_30_stops_and_offers_denosumab(then) -> None:
    t = then(ZOL_29_9)
    t.silent("BTA-03")
    t.fires("SAFE-04", {"drug": "zoledronic_acid", "crcl_ml_min": 29.9, "scr_mg_dl": 1.0, "dialysis": False}, kind="alert", severity="high")
    t.fires("BTA-06", {"drug": "denosumab", "dose_mg": 120.0, "route": "sc", "interval_days": 28})
    t.fires("SAFE-07", {"crcl_ml_min": 29.9})


# A running course is dosed on the baseline CrCl (D-14).
COURSE = CM.dose("2026-09-05", "zoledronic_acid", 3.5)
B03_BASELINE = scenario("bta03.course_on_baseline", COURSE.creatinine("2026-09-25", 1.3), on="2026-09-28")
B03_NO_BASELINE = scenario(
    "bta03.course_without_baseline_scr",
    Patient.man().confirmed("2026-09-01", lesion("rib")).weight("2026-09-01", 54).dental("2026-09-02")
    .dose("2026-09-05", "zoledronic_acid", 3.5).creatinine("2026-09-10", 1.0),
    on="2026-09-12",
)
# VAL-07: a new course starts at the first dose after a stop; its baseline is the SCr before it.
RESTART = (
    Patient.man()
    .confirmed("2026-02-20", lesion("rib"))
    .weight("2026-02-20", 54)
    .dental("2026-02-21")
    .creatinine("2026-02-25", 0.8)
    .dose("2026-03-01", "zoledronic_acid", 4.0)
    .stop("2026-03-20", "cost")
    .creatinine("2026-09-02", 1.0)
    .dose("2026-09-05", "zoledronic_acid", 3.5)
)
B03_RESTART = scenario("bta03.restarted_course", RESTART, on="2026-09-10")
# Baseline weight: the latest on or before the first dose, else the earliest recorded (§0).
B03_LATE_WEIGHT = scenario(
    "bta03.weight_only_after_first_dose",
    Patient.man().confirmed("2026-09-01", lesion("rib")).creatinine("2026-09-02", 1.0).dental("2026-09-02")
    .dose("2026-09-05", "zoledronic_acid", 3.5).weight("2026-09-10", 54).weight("2026-09-20", 60),
    on="2026-09-25",
)
B03_DENO_PLAN = scenario("bta03.plan_denosumab", CM.plan("denosumab"), on="2026-09-05")
B03_STOPPED = scenario("bta03.stopped_course", COURSE.stop("2026-09-20", "patient_refusal"), on="2026-09-28")


def test_bta03_running_course_uses_the_baseline_crcl(then) -> None:
    t = then(B03_BASELINE)
    # baseline SCr 1.0 -> 60.0 -> 3.5 mg; now 1.3: 80 × 54 / 93.6 = 46.2 -> band 3.3 (SAFE-03)
    t.fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})
    t.fires(
        "SAFE-03",
        {"drug": "zoledronic_acid", "baseline_crcl_ml_min": 60.0, "crcl_ml_min": 46.2, "baseline_dose_mg": 3.5, "band_dose_mg": 3.3},
    )
    t.silent("SAFE-02", "BTA-09")


def test_bta03_without_a_baseline_creatinine_uses_the_current_crcl(then) -> None:
    then(B03_NO_BASELINE).fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})


def test_bta03_a_new_course_has_a_new_baseline(then) -> None:
    # baseline of the course started 2026-09-05 is SCr 1.0 (60.0 mL/min), not 0.8 of the first course
    t = then(B03_RESTART)
    t.fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})
    t.silent("BTA-09")


def test_bta03_baseline_weight_falls_back_to_the_earliest(then) -> None:
    t = then(B03_LATE_WEIGHT)
    # baseline: SCr 1.0 (2026-09-02), earliest weight 54 kg -> 60.0 mL/min -> 3.5 mg
    t.fires("BTA-03", {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15})
    # today: 60 kg -> 80 × 60 / 72 = 66.7
    t.fires("SCORE-CG", {"score": "cockcroft_gault", "total": 66.7, "scr_mg_dl": 1.0, "weight_kg": 60.0, "age_years": 60})
    t.silent("SAFE-03", "BTA-09")


@pytest.mark.parametrize("name", [B03_DENO_PLAN, B03_STOPPED])
def test_bta03_silent_for_another_drug_or_a_stopped_course(then, name: str) -> None:
    then(name).silent("BTA-03")


# ---- BTA-04: ibandronate (D-02) -------------------------------------------------------------------

IBAN_BANDS = [(45, 50.0, 6.0, 15), (44.91, 49.9, 4.0, 60), (27, 30.0, 4.0, 60), (26.91, 29.9, 2.0, 60)]
IBAN = {
    w: scenario(f"bta04.weight_{w}", CM.plan("ibandronate", 28).weight("2026-09-02", w), on="2026-09-05")
    for w, _, _, _ in IBAN_BANDS
}
IBAN_ACTIVE = scenario("bta04.active", CM.dose("2026-09-05", "ibandronate", 6.0), on="2026-09-10")


@pytest.mark.parametrize(("weight", "crcl", "dose", "minutes"), IBAN_BANDS)
def test_bta04_ibandronate_bands(then, weight: float, crcl: float, dose: float, minutes: int) -> None:
    t = then(IBAN[weight])
    t.fires(
        "BTA-04",
        {"drug": "ibandronate", "dose_mg": dose, "crcl_ml_min": crcl, "infusion_min": minutes},
        kind="action",
        severity="high",
    )
    t.silent("BTA-03", "SAFE-04")


def test_bta04_active_course(then) -> None:
    then(IBAN_ACTIVE).fires("BTA-04", {"drug": "ibandronate", "dose_mg": 6.0, "crcl_ml_min": 60.0, "infusion_min": 15})


# ---- BTA-05: incadronate, age >= 65 or CrCl < 30 -> 5 mg (D-10) --------------------------------

def incadronate(born: str, weight: float | None = 54) -> Patient:
    p = (
        Patient.man(born)
        .diagnosed("2026-06-01")
        .confirmed("2026-09-01", lesion("rib"))
        .creatinine("2026-09-02", 1.0)
        .dental("2026-09-03")
        .plan("incadronate")
    )
    return p if weight is None else p.weight("2026-09-01", weight)


B05_65 = scenario("bta05.age_65", incadronate("1961-09-05"), on="2026-09-05")
B05_64 = scenario("bta05.age_64", incadronate("1961-09-06"), on="2026-09-05")
B05_LOW = scenario("bta05.crcl_29_9", incadronate("1966-01-01", 26.91), on="2026-09-05")
B05_65_NO_WEIGHT = scenario("bta05.age_65_no_weight", incadronate("1961-09-05", None), on="2026-09-05")
B05_64_NO_WEIGHT = scenario("bta05.age_64_no_weight", incadronate("1961-09-06", None), on="2026-09-05")


@pytest.mark.parametrize(
    ("name", "dose", "age", "crcl"),
    [
        (B05_65, 5.0, 65, 56.3),  # 65 on the day: 75 × 54 / 72 = 56.25 -> 56.3; age gives 5 mg
        (B05_64, 10.0, 64, 57.0),  # 64: 76 × 54 / 72 = 57.0
        (B05_LOW, 5.0, 60, 29.9),  # CrCl < 30
        (B05_65_NO_WEIGHT, 5.0, 65, None),  # age >= 65 gives 5 mg even without CrCl
    ],
)
def test_bta05_incadronate(then, name: str, dose: float, age: int, crcl: float | None) -> None:
    then(name).fires(
        "BTA-05", {"drug": "incadronate", "dose_mg": dose, "age_years": age, "crcl_ml_min": crcl}, kind="action", severity="high"
    )


def test_bta05_under_65_without_crcl_gives_no_dose(then) -> None:
    t = then(B05_64_NO_WEIGHT)
    t.silent("BTA-05")
    t.fires("SCORE-CG", {"score": "cockcroft_gault", "missing": ["weight_kg"]}, kind="data_needed")


# ---- BTA-06: denosumab ----------------------------------------------------------------------------

DENO = {"drug": "denosumab", "dose_mg": 120.0, "route": "sc", "interval_days": 28}
B06_PLAN = scenario("bta06.plan", CM.plan("denosumab"), on="2026-09-05")
B06_ACTIVE = scenario("bta06.active", CM.dose("2026-09-05", "denosumab"), on="2026-09-10")
B06_SUSPECTED = scenario("bta06.suspected_with_plan", Patient.man().suspected().plan("denosumab"), on="2026-09-05")
B06_ZOL = scenario("bta06.active_zoledronic", COURSE, on="2026-09-10")


def test_bta06_denosumab_planned_or_active(then) -> None:
    t = then(B06_PLAN)
    t.fires("BTA-06", DENO, kind="info", severity="medium")
    t.silent("BTA-03", "SAFE-04", "SAFE-07")
    then(B06_ACTIVE).fires("BTA-06", DENO)


@pytest.mark.parametrize("name", [B06_SUSPECTED, B06_ZOL])
def test_bta06_silent(then, name: str) -> None:
    then(name).silent("BTA-06")


# ---- BTA-07: a stop for pain relief / stable disease; an SRE on treatment ---------------------------

ON_DENO = CM.dose("2026-09-05", "denosumab").dose("2026-10-03", "denosumab")
B07_PAIN = scenario("bta07.stop_pain_relief", ON_DENO.stop("2026-10-20", "pain_relief"), on="2026-10-28")
B07_STABLE = scenario("bta07.stop_disease_stable", ON_DENO.stop("2026-10-03", "disease_stable"), on="2026-10-28")
B07_COST = scenario("bta07.stop_cost", ON_DENO.stop("2026-10-20", "cost"), on="2026-10-28")
B07_RESTARTED = scenario(
    "bta07.restarted_after_stop",
    CM.dose("2026-09-05", "denosumab").stop("2026-09-20", "pain_relief").dose("2026-10-03", "denosumab"),
    on="2026-10-10",
)
EARLY = (
    Patient.man()
    .confirmed("2026-05-01", lesion("rib"))
    .weight("2026-05-01", 54)
    .creatinine("2026-05-01", 1.0)
    .dose("2026-05-05", "denosumab")
    .dose("2026-06-02", "denosumab")
    .sre("2026-06-10", "pathologic_fracture")
)
B07_SRE_90 = scenario("bta07.sre_90_days", EARLY, on="2026-09-08")
B07_SRE = scenario("bta07.sre_recent", ON_DENO.sre("2026-10-10", "radiation_to_bone"), on="2026-10-20")
B07_SRE_91 = scenario("bta07.sre_91_days", EARLY, on="2026-09-09")
B07_SRE_FIRST_DAY = scenario("bta07.sre_on_first_dose_day", ON_DENO.sre("2026-09-05", "pathologic_fracture"), on="2026-10-10")
B07_SRE_BEFORE = scenario("bta07.sre_before_course", ON_DENO.sre("2026-09-02", "pathologic_fracture"), on="2026-10-10")
B07_BOTH = scenario(
    "bta07.stop_and_sre", ON_DENO.sre("2026-10-10", "pathologic_fracture").stop("2026-10-20", "pain_relief"), on="2026-10-28"
)


B07_STOP_AFTER_SRE = scenario(
    "bta07.stopped_after_sre", ON_DENO.sre("2026-10-10", "pathologic_fracture").stop("2026-10-15", "other"), on="2026-10-20"
)
B07_STOP_BEFORE_SRE = scenario(
    "bta07.stopped_before_sre",
    CM.dose("2026-09-05", "denosumab").stop("2026-09-20", "cost").sre("2026-09-25", "pathologic_fracture"),
    on="2026-10-01",
)


def test_bta07_a_stop_after_an_sre_is_told_to_continue(then) -> None:
    # clarifications C-21: "just-stopped" includes a course stopped after the SRE
    then(B07_STOP_AFTER_SRE).fires("BTA-07", {"reason": "sre"}, kind="info")
    then(B07_STOP_BEFORE_SRE).silent("BTA-07")


@pytest.mark.parametrize(("name", "reason"), [(B07_PAIN, "pain_relief"), (B07_STABLE, "disease_stable"), (B07_BOTH, "pain_relief")])
def test_bta07_pain_relief_or_stable_disease_is_never_a_stop_reason(then, name: str, reason: str) -> None:
    t = then(name)
    t.fires("BTA-07", {"reason": reason}, kind="alert", severity="medium")
    t.silent("ADH-01", "ADH-02", "ADH-03")  # the course is stopped


@pytest.mark.parametrize("name", [B07_SRE, B07_SRE_90])
def test_bta07_an_sre_on_treatment_means_continue(then, name: str) -> None:
    then(name).fires("BTA-07", {"reason": "sre"}, kind="info", severity="medium")


@pytest.mark.parametrize("name", [B07_COST, B07_RESTARTED, B07_SRE_91, B07_SRE_FIRST_DAY, B07_SRE_BEFORE])
def test_bta07_silent(then, name: str) -> None:
    then(name).silent("BTA-07")


# ---- BTA-07b: poor performance status on an active BTA --------------------------------------------

B07B_ECOG = scenario("bta07b.ecog_3", ON_DENO.performance("2026-10-05", ecog=3), on="2026-10-10")
B07B_KPS = scenario("bta07b.kps_40", ON_DENO.performance("2026-10-05", kps=40), on="2026-10-10")
B07B_ECOG2 = scenario("bta07b.ecog_2", ON_DENO.performance("2026-10-05", ecog=2), on="2026-10-10")
B07B_KPS50 = scenario("bta07b.kps_50", ON_DENO.performance("2026-10-05", kps=50), on="2026-10-10")
B07B_LATEST = scenario(
    "bta07b.latest_better", ON_DENO.performance("2026-10-01", ecog=3).performance("2026-10-05", ecog=1), on="2026-10-10"
)
B07B_NOT_ACTIVE = scenario("bta07b.no_bta", CM.performance("2026-09-03", ecog=4), on="2026-09-05")


def test_bta07b_review_continuation_never_auto_stop(then) -> None:
    then(B07B_ECOG).fires("BTA-07b", {"ecog": 3, "kps": None}, kind="action", severity="medium")
    then(B07B_KPS).fires("BTA-07b", {"ecog": None, "kps": 40})


@pytest.mark.parametrize("name", [B07B_ECOG2, B07B_KPS50, B07B_LATEST, B07B_NOT_ACTIVE])
def test_bta07b_silent(then, name: str) -> None:
    then(name).silent("BTA-07b")


# ---- BTA-08: two different agents < 28 days apart ------------------------------------------------

def two_drugs(second: str) -> Patient:
    return CM.dose("2026-06-01", "zoledronic_acid", 3.5).dose(second, "denosumab")


B08 = scenario("bta08.fifteen_days", CM.dose("2026-09-05", "zoledronic_acid", 3.5).dose("2026-09-20", "denosumab"), on="2026-09-25")
B08_27 = scenario("bta08.27_days", two_drugs("2026-06-28"), on="2026-07-01")
B08_28 = scenario("bta08.28_days", two_drugs("2026-06-29"), on="2026-07-01")
B08_90 = scenario("bta08.later_dose_90_days_ago", two_drugs("2026-06-28"), on="2026-09-26")
B08_91 = scenario("bta08.later_dose_91_days_ago", two_drugs("2026-06-28"), on="2026-09-27")
B08_SAME = scenario(
    "bta08.same_drug", CM.dose("2026-09-05", "zoledronic_acid", 3.5).dose("2026-09-20", "zoledronic_acid", 3.5), on="2026-09-25"
)


@pytest.mark.parametrize("name", [B08, B08_27, B08_90])
def test_bta08_two_agents_less_than_28_days_apart(then, name: str) -> None:
    then(name).fires("BTA-08", {"drugs": ["denosumab", "zoledronic_acid"]}, kind="alert", severity="high")


@pytest.mark.parametrize("name", [B08_28, B08_91, B08_SAME])
def test_bta08_silent(then, name: str) -> None:
    then(name).silent("BTA-08")


# ---- BTA-09: bisphosphonate dose above the renal recommendation -----------------------------------

B09_ZOL = scenario("bta09.zoledronic_4mg_at_60", CM.dose("2026-09-05", "zoledronic_acid", 4.0), on="2026-09-10")
B09_ZOL_OK = scenario("bta09.zoledronic_3_5mg_at_60", CM.dose("2026-09-05", "zoledronic_acid", 3.5), on="2026-09-10")
B09_IBAN = scenario(
    "bta09.ibandronate_6mg_at_44_9", CM.weight("2026-09-02", 40.41).dose("2026-09-05", "ibandronate", 6.0), on="2026-09-10"
)
B09_INCA = scenario(
    "bta09.incadronate_10mg_at_66",
    Patient.man("1960-06-01").confirmed("2026-09-01", lesion("rib")).weight("2026-09-01", 54)
    .creatinine("2026-09-02", 1.0).dental("2026-09-03").dose("2026-09-05", "incadronate", 10.0),
    on="2026-09-10",
)
B09_INCA_TURNED_65 = scenario(
    "bta09.incadronate_10mg_turned_65",
    Patient.man("1961-09-05").confirmed("2026-09-01", lesion("rib")).weight("2026-09-01", 54)
    .creatinine("2026-09-02", 1.0).dental("2026-09-03").dose("2026-09-03", "incadronate", 10.0),
    on="2026-09-10",
)
B09_DENO = scenario("bta09.denosumab", CM.dose("2026-09-05", "denosumab"), on="2026-09-10")
B09_STOPPED = scenario(
    "bta09.stopped", CM.dose("2026-09-05", "zoledronic_acid", 4.0).stop("2026-09-08", "patient_refusal"), on="2026-09-10"
)


def test_bta09_follows_the_dose_bta05_shows(then) -> None:
    # clarifications C-19: started at 64 (10 mg right then), 65 now: BTA-05 shows 5 mg, so the
    # 10 mg dose is above it; the CrCl stays the baseline one (age 64 at the baseline SCr)
    t = then(B09_INCA_TURNED_65)
    t.fires("BTA-05", {"drug": "incadronate", "dose_mg": 5.0, "age_years": 65, "crcl_ml_min": 57.0})
    t.fires("BTA-09", {"drug": "incadronate", "dose_mg": 10.0, "recommended_dose_mg": 5.0, "crcl_ml_min": 57.0})


@pytest.mark.parametrize(
    ("name", "drug", "given", "recommended", "crcl"),
    [
        (B09_ZOL, "zoledronic_acid", 4.0, 3.5, 60.0),
        (B09_IBAN, "ibandronate", 6.0, 4.0, 44.9),
        (B09_INCA, "incadronate", 10.0, 5.0, 55.5),  # 66 y: 74 × 54 / 72 = 55.5; age gives 5 mg
    ],
)
def test_bta09_dose_above_the_recommendation(then, name: str, drug: str, given: float, recommended: float, crcl: float) -> None:
    then(name).fires(
        "BTA-09",
        {"drug": drug, "dose_mg": given, "recommended_dose_mg": recommended, "crcl_ml_min": crcl},
        kind="alert",
        severity="high",
    )


@pytest.mark.parametrize("name", [B09_ZOL_OK, B09_DENO, B09_STOPPED])
def test_bta09_silent(then, name: str) -> None:
    then(name).silent("BTA-09")
