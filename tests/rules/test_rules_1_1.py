"""Rules version 1.1 (rules.md "Changes in rules version 1.1"): each test is the clinical
statement it checks, with the boundary on each side.

Base patient (builders.confirmed_man): a man of 60, confirmed 2026-09-01 (one lytic rib lesion),
54 kg, SCr 1.0 mg/dL on 2026-09-02 (CrCl 60.0 mL/min), dental check 2026-09-03, no BTA yet.
"""

from __future__ import annotations

from rules.builders import D, Patient, confirmed_man, lesion, scenario

CM = confirmed_man()
DIALYSIS = CM.with_(comorbidities=["dialysis"])

# ---- VAL-10: dialysis is treated as CrCl < 30 by every renal rule ----------------------------------

ZOL_DIALYSIS = DIALYSIS.dose("2026-09-05", "zoledronic_acid", 3.5)
V10_ZOL = scenario("v11.dialysis_on_zoledronic_acid", ZOL_DIALYSIS, on="2026-10-02")
V10_ZOL_NO_WEIGHT = scenario(
    "v11.dialysis_on_zoledronic_acid_no_weight", ZOL_DIALYSIS.drop_events("vitals"), on="2026-10-02"
)
V10_ZOL_NO_DIALYSIS = scenario("v11.zoledronic_acid_without_dialysis", CM.dose("2026-09-05", "zoledronic_acid", 3.5), on="2026-10-02")
V10_IBAN = scenario("v11.dialysis_ibandronate", DIALYSIS.plan("ibandronate"), on="2026-09-05")
V10_IBAN_NO_DIALYSIS = scenario("v11.ibandronate_without_dialysis", CM.plan("ibandronate"), on="2026-09-05")
V10_INCA = scenario("v11.dialysis_incadronate_age_60", DIALYSIS.plan("incadronate"), on="2026-09-05")
V10_INCA_NO_DIALYSIS = scenario("v11.incadronate_age_60_without_dialysis", CM.plan("incadronate"), on="2026-09-05")
V10_IBAN_GIVEN_6 = scenario(
    "v11.dialysis_ibandronate_6_mg_given", DIALYSIS.dose("2026-09-05", "ibandronate", 6.0), on="2026-09-20"
)


def test_a_dialysis_patient_on_zoledronic_acid_is_told_to_stop_with_or_without_a_weight(then) -> None:
    for name in (V10_ZOL, V10_ZOL_NO_WEIGHT):
        t = then(name)
        t.fires(
            "SAFE-04",
            {"drug": "zoledronic_acid", "crcl_ml_min": None, "scr_mg_dl": 1.0, "dialysis": True},
            kind="alert",
            severity="high",
        )
        # the dose reminder of 2026-10-03 is held by the stop, never sent
        t.fires("ADH-06", {"drug": "zoledronic_acid", "held_by": "SAFE-04"})
        # no Cockcroft-Gault on dialysis: neither a CrCl nor a request for weight (VAL-10)
        t.silent("BTA-03", "BTA-09", "SCORE-CG", "ADH-01")
    # the same course without dialysis: CrCl 60.0, the reminder runs, no stop
    t = then(V10_ZOL_NO_DIALYSIS)
    t.silent("SAFE-04", "ADH-06")
    t.fires("ADH-01", {"drug": "zoledronic_acid", "due": D("2026-10-03"), "reminder_date": D("2026-09-30")})


def test_ibandronate_on_dialysis_is_2_mg_over_an_hour_whatever_the_clearance(then) -> None:
    then(V10_IBAN).fires(
        "BTA-04",
        {"drug": "ibandronate", "dose_mg": 2.0, "crcl_ml_min": None, "infusion_min": 60},
        kind="action",
        severity="high",
        due=D("2026-09-15"),
    )
    then(V10_IBAN_NO_DIALYSIS).fires(
        "BTA-04", {"drug": "ibandronate", "dose_mg": 6.0, "crcl_ml_min": 60.0, "infusion_min": 15}
    )
    # 6 mg already given on dialysis: above the 2 mg of the <30 band (BTA-09) and the dose must change
    t = then(V10_IBAN_GIVEN_6)
    t.fires(
        "BTA-09",
        {"drug": "ibandronate", "dose_mg": 6.0, "recommended_dose_mg": 2.0, "crcl_ml_min": None},
    )
    t.fires("BTA-04", {"drug": "ibandronate", "dose_mg": 2.0, "crcl_ml_min": None, "infusion_min": 60}, kind="action")


def test_incadronate_on_dialysis_is_5_mg_below_65_years(then) -> None:
    then(V10_INCA).fires("BTA-05", {"drug": "incadronate", "dose_mg": 5.0, "age_years": 60, "crcl_ml_min": None})
    then(V10_INCA_NO_DIALYSIS).fires("BTA-05", {"drug": "incadronate", "dose_mg": 10.0, "age_years": 60, "crcl_ml_min": 60.0})


# ---- VAL-09: a deceased patient has no findings, and the evaluation says so -----------------------

V09_DEAD = scenario("v11.deceased_on_the_day", CM.died("2026-09-05"), on="2026-09-05")
V09_ALIVE = scenario("v11.death_after_the_day", CM.died("2026-09-06"), on="2026-09-05")


def test_a_deceased_patient_gets_no_findings_and_is_said_to_be_deceased(then) -> None:
    dead = then(V09_DEAD).evaluation
    assert dead.findings == ()
    assert dead.deceased is True
    assert dead.to_json()["deceased"] is True
    alive = then(V09_ALIVE)
    assert alive.evaluation.deceased is False
    assert "deceased" not in alive.evaluation.to_json()
    alive.fires("BTA-01")


# ---- SAFE-17: pamidronate in severe renal impairment or dialysis -----------------------------------

PAM = CM.plan("pamidronate")
S17_29_9 = scenario("v11.pamidronate_crcl_29_9", PAM.weight("2026-09-04", 26.91), on="2026-09-05")
S17_30 = scenario("v11.pamidronate_crcl_30", PAM.weight("2026-09-04", 27), on="2026-09-05")
S17_DIALYSIS = scenario("v11.pamidronate_dialysis", PAM.with_(comorbidities=["dialysis"]), on="2026-09-05")
PAM_ACTIVE = DIALYSIS.dose("2026-09-05", "pamidronate", 90.0)
S17_ACTIVE_DUE = scenario("v11.pamidronate_active_dialysis_overdue", PAM_ACTIVE, on="2026-10-10")
S17_STOPPED = scenario(
    "v11.pamidronate_stopped", PAM_ACTIVE.event("bta_stop", "2026-09-20", reason="renal_toxicity"), on="2026-10-10"
)


def test_pamidronate_is_not_recommended_in_severe_renal_impairment_or_on_dialysis(then) -> None:
    then(S17_29_9).fires(
        "SAFE-17", {"drug": "pamidronate", "crcl_ml_min": 29.9, "dialysis": False}, kind="alert", severity="high"
    )
    then(S17_30).silent("SAFE-17")
    then(S17_DIALYSIS).fires("SAFE-17", {"drug": "pamidronate", "crcl_ml_min": None, "dialysis": True})


def test_pamidronate_held_by_safe17_sends_no_dose_reminder(then) -> None:
    t = then(S17_ACTIVE_DUE)  # 90 mg on 2026-09-05, due 2026-10-03: 7 days overdue
    t.fires("SAFE-17", {"drug": "pamidronate", "crcl_ml_min": None, "dialysis": True})
    t.fires("ADH-06", {"drug": "pamidronate", "held_by": "SAFE-17"})
    t.silent("ADH-02")
    then(S17_STOPPED).silent("SAFE-17", "ADH-06")


# ---- SAFE-08: a dental exam that found disease does not clear the start ----------------------------

NO_DENTAL = CM.drop_events("dental")
S08_DISEASE = scenario("v11.dental_needs_treatment", NO_DENTAL.dental("2026-09-03", "needs_treatment"), on="2026-09-05")
S08_TREATED = scenario(
    "v11.dental_needs_treatment_then_ok",
    NO_DENTAL.dental("2026-08-20", "needs_treatment").dental("2026-09-03", "ok"),
    on="2026-09-05",
)
S08_RELAPSE = scenario(
    "v11.dental_ok_then_needs_treatment",
    NO_DENTAL.dental("2026-08-20", "ok").dental("2026-09-03", "needs_treatment"),
    on="2026-09-05",
)
S08_EXTRACTION = scenario(
    "v11.dental_extraction_done", NO_DENTAL.dental("2026-09-03", "invasive_procedure_done"), on="2026-09-05"
)
S08_STARTED = scenario(
    "v11.started_after_a_dental_exam_found_disease",
    NO_DENTAL.dental("2026-09-03", "needs_treatment").dose("2026-09-05", "denosumab"),
    on="2026-09-12",
)


def test_a_dental_exam_that_found_disease_does_not_clear_the_first_dose(then) -> None:
    then(S08_DISEASE).fires(
        "SAFE-08",
        {"last_dental_date": D("2026-09-03"), "last_dental_result": "needs_treatment"},
        kind="action",
        severity="high",
    )
    then(S08_RELAPSE).fires(
        "SAFE-08", {"last_dental_date": D("2026-09-03"), "last_dental_result": "needs_treatment"}, severity="high"
    )
    then(S08_STARTED).fires(
        "SAFE-08", {"last_dental_date": D("2026-09-03"), "last_dental_result": "needs_treatment"}, severity="high"
    )
    then(S08_TREATED).silent("SAFE-08")
    then(S08_EXTRACTION).silent("SAFE-08")


# ---- SAFE-10: an invasive dental procedure in the last 90 days is an ONJ risk factor ----------------

ON_DENO = CM.dose("2026-09-05", "denosumab")
S10_90 = scenario("v11.invasive_dental_90_days", ON_DENO.dental("2026-09-06", "invasive_procedure_done"), on="2026-12-05")
S10_91 = scenario("v11.invasive_dental_91_days", ON_DENO.dental("2026-09-06", "invasive_procedure_done"), on="2026-12-06")


def test_an_invasive_dental_procedure_within_90_days_is_flagged_not_a_stop(then) -> None:
    # denosumab q4w also carries interval_lt_5w (D-12); the procedure adds its own factor
    then(S10_90).fires("SAFE-10", {"factors": ["interval_lt_5w", "invasive_dental_90d"]}, kind="info", severity="low")
    then(S10_91).fires("SAFE-10", {"factors": ["interval_lt_5w"]})


# ---- BTA-03/04/05: a course already at the right dose is info, never a worklist item ---------------

B03_RIGHT = scenario("v11.zoledronic_acid_at_the_right_dose", CM.dose("2026-09-05", "zoledronic_acid", 3.5), on="2026-09-20")
B03_WRONG = scenario("v11.zoledronic_acid_4_mg_at_crcl_60", CM.dose("2026-09-05", "zoledronic_acid", 4.0), on="2026-09-20")
B03_LOWER = scenario("v11.zoledronic_acid_3_mg_at_crcl_60", CM.dose("2026-09-05", "zoledronic_acid", 3.0), on="2026-09-20")
B03_START = scenario("v11.zoledronic_acid_start", CM, on="2026-09-05")
B05_RIGHT = scenario(
    "v11.incadronate_at_the_right_dose",
    Patient.man("1950-01-01").confirmed("2026-09-01", lesion("rib")).dental("2026-09-03").dose("2026-09-05", "incadronate", 5.0),
    on="2026-09-20",
)

ZOL_35 = {"drug": "zoledronic_acid", "dose_mg": 3.5, "crcl_ml_min": 60.0, "infusion_min": 15}


def test_zoledronic_acid_at_the_right_dose_is_shown_as_info_due_with_the_next_dose(then) -> None:
    then(B03_RIGHT).fires("BTA-03", ZOL_35, kind="info", severity="low", due=D("2026-10-03"))


def test_zoledronic_acid_at_another_dose_than_recommended_is_an_action(then) -> None:
    then(B03_WRONG).fires("BTA-03", ZOL_35, kind="action", severity="high", due=D("2026-10-03"))
    then(B03_LOWER).fires("BTA-03", ZOL_35, kind="action", severity="high", due=D("2026-10-03"))


def test_starting_zoledronic_acid_is_an_action_due_with_bta01(then) -> None:
    t = then(B03_START)
    t.fires("BTA-01", due=D("2026-09-15"))
    t.fires("BTA-03", ZOL_35, kind="action", severity="high", due=D("2026-09-15"))


def test_incadronate_at_the_right_dose_for_age_is_info(then) -> None:
    then(B05_RIGHT).fires(
        "BTA-05", {"drug": "incadronate", "dose_mg": 5.0, "age_years": 76, "crcl_ml_min": None}, kind="info", severity="low"
    )


# ---- RT-01: not offered alone at an impending fracture or an unstable spine ------------------------

FEMUR_9 = lesion("femur", "lytic", cortical_involvement_pct=50)  # 2 + 2 (NRS >= 4) + 3 + 2 = 9
FEMUR_8 = lesion("femur", "mixed", cortical_involvement_pct=50)  # 2 + 2 + 2 + 2 = 8
T12_13 = lesion("thoracic_spine", "lytic", level="T12", alignment="deformity", collapse="lt50", posterolateral="bilateral")
T12_12 = lesion(
    "thoracic_spine", "lytic", level="T12", alignment="deformity", collapse="none_gt50_involved", posterolateral="bilateral"
)
PAINFUL = Patient.man()
R01_M9 = scenario(
    "v11.rt01_mirels_9", PAINFUL.confirmed("2026-02-01", FEMUR_9).symptoms("2026-03-01", 6, "femur"), on="2026-03-02"
)
R01_M8 = scenario(
    "v11.rt01_mirels_8", PAINFUL.confirmed("2026-02-01", FEMUR_8).symptoms("2026-03-01", 6, "femur"), on="2026-03-02"
)
R01_S13 = scenario(
    "v11.rt01_sins_13", PAINFUL.confirmed("2026-02-01", T12_13).symptoms("2026-03-01", 6, "thoracic_spine"), on="2026-03-02"
)
R01_S12 = scenario(
    "v11.rt01_sins_12", PAINFUL.confirmed("2026-02-01", T12_12).symptoms("2026-03-01", 6, "thoracic_spine"), on="2026-03-02"
)
RT = {"dose_gy": 8.0, "fractions": 1}


def test_an_impending_femoral_fracture_goes_to_surgery_before_radiotherapy(then) -> None:
    t = then(R01_M9)
    t.fires("SURG-01", {"score": "mirels", "site": "femur", "total": 9.0}, kind="action", severity="high")
    t.silent("RT-01")
    then(R01_M8).fires("RT-01", {"site": "femur", **RT}, item="femur")


def test_an_unstable_spine_goes_to_surgery_before_radiotherapy_and_is_critical(then) -> None:
    t = then(R01_S13)
    t.fires("SURG-02", {"score": "sins", "site": "thoracic_spine", "total": 13.0, "category": "unstable"}, severity="critical")
    t.silent("RT-01")
    # MDT within 2 days of the trigger (the confirmation of 2026-02-01), critical
    t.fires("MDT-01", {"triggers": ["SURG-02"], "trigger_date": D("2026-02-01")}, severity="critical", due=D("2026-02-03"))
    t12 = then(R01_S12)
    t12.fires("SURG-02", {"score": "sins", "site": "thoracic_spine", "total": 12.0, "category": "potentially_unstable"}, severity="medium")
    t12.fires("RT-01", {"site": "thoracic_spine", **RT}, item="thoracic_spine")
    t12.fires("MDT-01", {"triggers": ["SURG-02"], "trigger_date": D("2026-02-01")}, severity="high", due=D("2026-02-15"))
