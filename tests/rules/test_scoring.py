"""SCORE: Cockcroft-Gault (SCORE-CG) and corrected calcium (SCORE-CCA) as findings (rules.md §1).

Figures worked by hand: CrCl = (140 − age) × weight / (72 × SCr mg/dL) × 0.85 if female,
SCr umol/L / 88.4; corrected Ca = Ca + 0.02 × (40 − alb g/L) or Ca + 0.8 × (4.0 − alb g/dL).
"""

from __future__ import annotations

import pytest

from rules.builders import Patient, lesion, scenario

# A woman born 1956-03-15 (69 on 2026-02-04, 70 from 2026-03-15), confirmed 2026-02-01.
WOMAN = (
    Patient.woman("1956-03-15")
    .confirmed("2026-02-01", lesion("rib"))
    .weight("2026-02-01", 60)
    .creatinine("2026-02-02", 80, "umol/L")
    .dental("2026-02-02")
)

CG = scenario("cg.info", WOMAN, on="2026-02-04")
CG_BIRTHDAY = scenario("cg.birthday", WOMAN, on="2026-03-15")
CG_LATEST = scenario("cg.latest_values", WOMAN.weight("2026-02-20", 65).creatinine("2026-02-21", 1.1), on="2026-03-01")
CG_NO_WEIGHT = scenario("cg.no_weight", WOMAN.drop_events("vitals"), on="2026-02-04")
CG_NO_SCR = scenario("cg.no_creatinine", WOMAN.drop_events("labs"), on="2026-02-04")
CG_NEITHER = scenario("cg.no_weight_no_creatinine", WOMAN.drop_events("vitals").drop_events("labs"), on="2026-02-04")
CG_IBAN_NO_WEIGHT = scenario("cg.no_weight_ibandronate_plan", WOMAN.drop_events("vitals").plan("ibandronate"), on="2026-02-04")
CG_IBAN_NO_SCR = scenario(
    "cg.no_creatinine_ibandronate_course", WOMAN.drop_events("labs").dose("2026-02-03", "ibandronate", 6.0), on="2026-02-04"
)
CG_ACTIVE = scenario(
    "cg.active_bta_no_status",
    Patient.man().weight("2026-02-01", 72).creatinine("2026-02-01", 1.0).dose("2026-02-05", "denosumab"),
    on="2026-02-10",
)
CG_PLAN = scenario(
    "cg.plan_while_suspected",
    Patient.man().suspected().weight("2026-02-01", 72).creatinine("2026-02-01", 1.0).plan("zoledronic_acid"),
    on="2026-02-10",
)
CG_SUSPECTED = scenario(
    "cg.suspected_no_plan", Patient.man().suspected().weight("2026-02-01", 72).creatinine("2026-02-01", 1.0), on="2026-02-10"
)
CG_STOPPED = scenario(
    "cg.stopped_not_confirmed",
    Patient.man().weight("2026-02-01", 72).creatinine("2026-02-01", 1.0).dose("2026-02-05", "denosumab").stop("2026-03-01", "cost"),
    on="2026-03-10",
)


def test_score_cg_info_values(then) -> None:
    # 69 y, 60 kg, 80 umol/L = 0.905 mg/dL: 71 × 60 / (72 × 0.905) × 0.85 = 55.57 -> 55.6
    then(CG).fires(
        "SCORE-CG",
        {"score": "cockcroft_gault", "total": 55.6, "scr_mg_dl": 0.9, "weight_kg": 60.0, "age_years": 69},
        kind="info",
        severity="low",
    )


def test_score_cg_age_is_completed_years_on_the_day(then) -> None:
    # 70 on her birthday: 70 × 60 / (72 × 0.905) × 0.85 = 54.79 -> 54.8
    then(CG_BIRTHDAY).fires(
        "SCORE-CG", {"score": "cockcroft_gault", "total": 54.8, "scr_mg_dl": 0.9, "weight_kg": 60.0, "age_years": 70}
    )


def test_score_cg_uses_the_latest_weight_and_creatinine(then) -> None:
    # 69 y, 65 kg, 1.1 mg/dL: 71 × 65 / 79.2 × 0.85 = 49.53 -> 49.5
    then(CG_LATEST).fires(
        "SCORE-CG", {"score": "cockcroft_gault", "total": 49.5, "scr_mg_dl": 1.1, "weight_kg": 65.0, "age_years": 69}
    )


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        (CG_NO_WEIGHT, ["weight_kg"]),
        (CG_NO_SCR, ["creatinine"]),
        (CG_NEITHER, ["weight_kg", "creatinine"]),
        (CG_IBAN_NO_WEIGHT, ["weight_kg"]),
        (CG_IBAN_NO_SCR, ["creatinine"]),
    ],
)
def test_score_cg_data_needed_names_what_is_missing_and_no_dose_is_given(then, name: str, missing: list[str]) -> None:
    t = then(name)
    t.fires("SCORE-CG", {"score": "cockcroft_gault", "missing": missing}, kind="data_needed", severity="high")
    t.silent("BTA-03", "BTA-04", "BTA-05", "BTA-09", "SAFE-03", "SAFE-04")


@pytest.mark.parametrize("name", [CG_NO_WEIGHT, CG_NO_SCR, CG_NEITHER, CG_IBAN_NO_WEIGHT])
def test_score_cg_missing_data_does_not_hold_the_start(then, name: str) -> None:
    then(name).fires("BTA-01")


@pytest.mark.parametrize("name", [CG_ACTIVE, CG_PLAN])
def test_score_cg_applies_to_an_active_or_planned_bta(then, name: str) -> None:
    # 60 y, 72 kg, 1.0 mg/dL: 80 × 72 / 72 = 80.0
    then(name).fires(
        "SCORE-CG", {"score": "cockcroft_gault", "total": 80.0, "scr_mg_dl": 1.0, "weight_kg": 72.0, "age_years": 60}
    )


@pytest.mark.parametrize("name", [CG_SUSPECTED, CG_STOPPED])
def test_score_cg_silent_without_confirmation_course_or_plan(then, name: str) -> None:
    then(name).silent("SCORE-CG")


# ---- SCORE-CCA --------------------------------------------------------------------------------

BARE = Patient.man()
CCA_MMOL = scenario("cca.mmol", BARE.calcium("2026-02-01", 2.0).albumin("2026-02-01", 30), on="2026-02-02")
CCA_MG = scenario("cca.mg_dl", BARE.calcium("2026-02-01", 8.0, "mg/dL").albumin("2026-02-01", 2.5, "g/dL"), on="2026-02-02")
CCA_MIXED = scenario("cca.mg_dl_albumin_g_l", BARE.calcium("2026-02-01", 8.0, "mg/dL").albumin("2026-02-01", 25), on="2026-02-02")
CCA_NO_ALB = scenario("cca.no_albumin", BARE.calcium("2026-02-01", 2.3), on="2026-02-02")
CCA_ALB_8D = scenario("cca.albumin_8_days_before", BARE.albumin("2026-01-24", 30).calcium("2026-02-01", 2.0), on="2026-02-02")
CCA_ALB_7D_AFTER = scenario(
    "cca.albumin_7_days_after", BARE.calcium("2026-02-01", 2.0).albumin("2026-02-08", 30), on="2026-02-10"
)
CCA_ALB_LATEST = scenario(
    "cca.latest_paired_albumin",
    BARE.albumin("2026-01-28", 30).albumin("2026-01-30", 35).calcium("2026-02-01", 2.0),
    on="2026-02-02",
)
CCA_LATEST_CA = scenario(
    "cca.latest_calcium", BARE.calcium("2026-01-20", 1.8).calcium("2026-02-01", 2.4), on="2026-02-02"
)
CCA_30 = scenario("cca.calcium_30_days_old", BARE.calcium("2026-01-03", 2.3), on="2026-02-02")
CCA_31 = scenario("cca.calcium_31_days_old", BARE.calcium("2026-01-02", 2.3), on="2026-02-02")
CCA_HALF_UP = scenario("cca.half_up_mmol", BARE.calcium("2026-02-01", 2.0).albumin("2026-02-01", 39.75), on="2026-02-02")
CCA_HALF_UP_MG = scenario("cca.half_up_mg_dl", BARE.calcium("2026-02-01", 8.85, "mg/dL"), on="2026-02-02")


@pytest.mark.parametrize(
    ("name", "total", "unit", "corrected"),
    [
        (CCA_MMOL, 2.2, "mmol/L", True),  # 2.00 + 0.02 × (40 − 30)
        (CCA_MG, 9.2, "mg/dL", True),  # 8.0 + 0.8 × (4.0 − 2.5)
        (CCA_MIXED, 9.2, "mg/dL", True),  # albumin 25 g/L = 2.5 g/dL
        (CCA_NO_ALB, 2.3, "mmol/L", False),  # measured value
        (CCA_ALB_8D, 2.0, "mmol/L", False),  # albumin 8 days from the calcium: not paired
        (CCA_ALB_7D_AFTER, 2.2, "mmol/L", True),  # within 7 days either side
        (CCA_ALB_LATEST, 2.1, "mmol/L", True),  # the latest paired albumin: 2.0 + 0.02 × 5
        (CCA_LATEST_CA, 2.4, "mmol/L", False),
        (CCA_30, 2.3, "mmol/L", False),
        (CCA_HALF_UP, 2.01, "mmol/L", True),  # 2.005 rounds half-up to 0.01
        (CCA_HALF_UP_MG, 8.9, "mg/dL", False),  # 8.85 rounds half-up to 0.1
    ],
)
def test_score_cca_values(then, name: str, total: float, unit: str, corrected: bool) -> None:
    then(name).fires(
        "SCORE-CCA",
        {"score": "corrected_calcium", "total": total, "ca_unit": unit, "corrected": corrected},
        kind="info",
        severity="low",
    )


def test_score_cca_needs_a_calcium_within_30_days(then) -> None:
    then(CCA_31).silent("SCORE-CCA", "SAFE-14", "SAFE-15")
