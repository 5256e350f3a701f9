"""One scenario per rule family and rule: it fires with the values rules.md names, and it stays
silent where rules.md says so. Expected figures are worked by hand in the comments."""

from __future__ import annotations

import datetime as dt

from rules.support import base, confirmed, ev, fired, one

# ---- SCR ---------------------------------------------------------------------------------------


def test_scr02_due_six_months_after_last_bone_scan() -> None:
    r = base(events={"imaging": [{"date": "2026-01-20", "modality": "bone_scan", "region": "whole_body", "result": "negative"}]})
    assert "SCR-02" not in fired(ev(r, "2026-07-19"))
    assert one(ev(r, "2026-07-20"), "SCR-02") == {"modality": "bone_scan", "due": dt.date(2026, 7, 20)}


def test_scr04_yearly_scan_after_resection_and_silent_when_confirmed() -> None:
    r = base(cancer={"diagnosis_date": "2025-03-01", "stage": "I", "setting": "resected", "surgery_date": "2025-03-20"})
    assert one(ev(r, "2026-03-20"), "SCR-04") == {"modality": "bone_scan", "due": dt.date(2026, 3, 20)}
    r["bone_metastasis"] = {"status": "confirmed", "confirmed_date": "2026-02-01"}
    assert "SCR-04" not in fired(ev(r, "2026-03-20"))


def test_scr05_ct_without_bone_window_within_90_days() -> None:
    ct = {"date": "2026-05-01", "modality": "ct", "region": "chest", "result": "negative"}
    r = base(events={"imaging": [ct]})
    assert one(ev(r, "2026-07-30"), "SCR-05") == {"exam_date": dt.date(2026, 5, 1)}  # 90 days
    assert "SCR-05" not in fired(ev(r, "2026-07-31"))  # 91 days: out of the look-back
    ct["bone_window_reviewed"] = True
    assert "SCR-05" not in fired(ev(r, "2026-07-30"))


def test_scr06_neuro_deficit_is_critical_and_asks_for_mri() -> None:
    r = base(events={"symptoms": [{"date": "2026-05-01", "bone_pain": 5, "neuro_deficit": True}]})
    f = ev(r, "2026-05-02").fired("SCR-06")[0]
    assert f.severity.value == "critical"
    assert f.values == {"triggers": ["bone_pain", "neuro_deficit"], "modality": "mri", "due": dt.date(2026, 5, 2)}


def test_scr07_marker_above_uln_and_dx06_note() -> None:
    r = base(events={"labs": [{"date": "2026-05-01", "test": "alp", "value": 180, "unit": "U/L"},
                              {"date": "2026-05-01", "test": "ctx", "value": 0.9, "unit": "ng/mL"}]})
    e = ev(r, "2026-05-02")
    # ALP judged against the default ULN 125 U/L; CTX has no default ULN, so it is not judged
    assert one(e, "SCR-07") == {"tests": ["alp"], "modality": "bone_scan"}
    assert one(e, "DX-06") == {"tests": ["alp"]}


# ---- DX ----------------------------------------------------------------------------------------


def test_dx01_dx02_dx05_for_a_scan_positive_spine_site() -> None:
    r = base(bone_metastasis={"status": "suspected"}, events={"imaging": [
        {"date": "2026-02-01", "modality": "bone_scan", "region": "whole_body", "result": "positive", "sites": ["lumbar_spine"]},
        {"date": "2026-02-03", "modality": "xray", "region": "spine", "result": "negative", "sites": ["lumbar_spine"]},
    ]})
    e = ev(r, "2026-02-05")
    assert one(e, "DX-01") == {"site": "lumbar_spine", "modality": "ct"}
    assert one(e, "DX-02") == {"site": "lumbar_spine", "modality": "ct"}
    assert one(e, "DX-05") == {"site": "lumbar_spine", "modality": "mri"}
    assert "BTA-01" not in fired(e)


def test_dx07_confirms_by_scan_plus_ct_and_starts_bta() -> None:
    r = base(events={"imaging": [
        {"date": "2026-02-01", "modality": "bone_scan", "region": "whole_body", "result": "positive", "sites": ["pelvis"]},
        {"date": "2026-02-10", "modality": "ct", "region": "pelvis", "result": "positive", "sites": ["pelvis"], "bone_window_reviewed": True},
    ]})
    e = ev(r, "2026-02-12")
    assert one(e, "DX-07") == {"confirmed_date": dt.date(2026, 2, 10), "site": "pelvis"}
    assert one(e, "BTA-01") == {"confirmed_date": dt.date(2026, 2, 10), "days_since_confirmation": 2}
    assert e.fired("BTA-01")[0].due == dt.date(2026, 2, 24)


def test_val05_recorded_none_contradicts_imaging_and_holds_bta01() -> None:
    r = base(bone_metastasis={"status": "none"}, events={"biopsy": [{"date": "2026-03-01", "site": "femur", "result": "metastatic_lung"}]})
    e = ev(r, "2026-03-02")
    assert one(e, "VAL-05") == {"recorded_status": "none", "derived_status": "confirmed", "derived_date": dt.date(2026, 3, 1)}
    assert "BTA-01" not in fired(e)


# ---- BTA / VAL-04 --------------------------------------------------------------------------------


def test_val04_denosumab_60mg_is_not_a_bta_dose() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "denosumab", "dose_mg": 60, "route": "sc"}])
    e = ev(r, "2026-02-06")
    assert one(e, "VAL-04") == {"drug": "denosumab", "dose_mg": 60.0, "date": dt.date(2026, 2, 5)}
    assert "BTA-01" in fired(e)  # still no counted dose


def test_bta01c_short_life_expectancy_is_a_clinician_decision() -> None:
    r = confirmed(performance=[{"date": "2026-02-03", "ecog": 3, "life_expectancy_months": 2}])
    e = ev(r, "2026-02-04")
    assert one(e, "BTA-01c") == {"life_expectancy_months": 2.0}
    assert "BTA-01" not in fired(e)


def test_bta04_ibandronate_bands() -> None:
    # female 69 y (on 2026-02-04), 60 kg, SCr 80 umol/L = 0.905 mg/dL:
    # (140-69)*60/(72*0.905)*0.85 = 55.6 -> >= 50 -> 6 mg over 15 min
    r = confirmed()
    r["bta_plan"] = {"drug": "ibandronate", "interval_days": 28}
    assert one(ev(r, "2026-02-04"), "BTA-04") == {"drug": "ibandronate", "dose_mg": 6.0, "crcl_ml_min": 55.6, "infusion_min": 15}


def test_bta07b_and_bta08_and_bta09() -> None:
    r = confirmed(
        bta=[{"date": "2026-02-05", "drug": "zoledronic_acid", "dose_mg": 4, "route": "iv"},
             {"date": "2026-02-20", "drug": "denosumab", "dose_mg": 120, "route": "sc"},
             {"date": "2026-03-05", "drug": "zoledronic_acid", "dose_mg": 4, "route": "iv"}],
        performance=[{"date": "2026-03-01", "ecog": 3}],
    )
    e = ev(r, "2026-03-06")
    assert one(e, "BTA-07b") == {"ecog": 3, "kps": None}
    assert one(e, "BTA-08") == {"drugs": ["denosumab", "zoledronic_acid"]}
    # baseline CrCl 55.6 (first dose of the course 2026-02-05) -> 3.5 mg; 4 mg given
    assert one(e, "BTA-09") == {"drug": "zoledronic_acid", "dose_mg": 4.0, "recommended_dose_mg": 3.5, "crcl_ml_min": 55.6}


# ---- SAFE ----------------------------------------------------------------------------------------


def test_safe02_renal_deterioration_withholds_and_suppresses_reminders() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "zoledronic_acid", "dose_mg": 3.5, "route": "iv"}])
    r["events"]["labs"].append({"date": "2026-02-28", "test": "creatinine", "value": 1.45, "unit": "mg/dL"})
    e = ev(r, "2026-03-02")  # due 2026-03-05: reminder window, but held
    assert one(e, "SAFE-02") == {"drug": "zoledronic_acid", "baseline_scr_mg_dl": 0.9, "scr_mg_dl": 1.45,
                                 "rise_mg_dl": 0.55, "resume_below_mg_dl": 0.99}
    assert "ADH-01" not in fired(e)
    assert one(e, "ADH-06") == {"drug": "zoledronic_acid", "held_by": "SAFE-02"}


def test_safe06_supplements_and_safe09_safe10() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "denosumab", "dose_mg": 120, "route": "sc"},
                       {"date": "2026-06-01", "drug": "denosumab", "dose_mg": 120, "route": "sc"}])
    r["smoking"] = "current"
    e = ev(r, "2026-06-10")
    assert one(e, "SAFE-06") == {"calcium_mg_daily": 500, "vitamin_d_iu_daily": 400}
    assert one(e, "SAFE-10") == {"factors": ["interval_lt_5w", "current_smoker"]}
    # dental 2026-02-02 is 4 months old: fine at 12 months, but a smoker needs it every 6 months
    assert "SAFE-09" not in fired(e)
    assert one(ev(r, "2026-08-10"), "SAFE-09") == {"last_dental_date": dt.date(2026, 2, 2)}


def test_safe11_onj_goes_to_mdt_and_safe15_hypercalcaemia() -> None:
    r = confirmed(adverse_events=[{"date": "2026-03-01", "kind": "onj", "stage": 2}])
    r["events"]["labs"].append({"date": "2026-03-01", "test": "calcium", "value": 12.6, "unit": "mg/dL"})
    e = ev(r, "2026-03-02")
    assert one(e, "SAFE-11") == {"stage": 2}
    assert one(e, "MDT-01")["triggers"] == ["SAFE-11"]
    f = e.fired("SAFE-15")[0]  # 12.6 mg/dL uncorrected: > 12.5 -> grade 3, critical, HCM
    assert f.values == {"grade": 3, "corrected_ca": 12.6, "ca_unit": "mg/dL", "hcm": True}
    assert f.severity.value == "critical"


def test_safe13_creatinine_grade_from_uln() -> None:
    r = base(events={"labs": [{"date": "2026-03-01", "test": "creatinine", "value": 2.0, "unit": "mg/dL"}]})
    f = ev(r, "2026-03-02").fired("SAFE-13")[0]  # 2.0 > 1.5 x ULN 1.2 = 1.8 -> grade 2
    assert f.values == {"grade": 2, "scr_mg_dl": 2.0} and f.severity.value == "medium"


def test_safe16_thigh_pain_after_a_year_of_bta() -> None:
    r = confirmed(bta=[{"date": "2025-02-05", "drug": "denosumab", "dose_mg": 120, "route": "sc"},
                       {"date": "2026-02-20", "drug": "denosumab", "dose_mg": 120, "route": "sc"}],
                  symptoms=[{"date": "2026-03-01", "bone_pain": 3, "pain_sites": ["femur"]}])
    r["bone_metastasis"]["confirmed_date"] = "2025-02-01"
    assert one(ev(r, "2026-03-02"), "SAFE-16") == {"site": "femur"}


# ---- TX / PAIN / RT ------------------------------------------------------------------------------


def test_tx02_driver_positive_without_targeted_therapy() -> None:
    r = base()
    r["cancer"]["drivers"] = {"ALK": "positive", "EGFR": "negative", "ROS1": "positive"}
    assert one(ev(r, "2026-02-01"), "TX-02") == {"genes": ["ALK", "ROS1"]}
    r["events"]["treatments"] = [{"date": "2026-01-20", "kind": "targeted"}]
    assert "TX-02" not in fired(ev(r, "2026-02-01"))


def test_pain_bands_and_refractory_pain() -> None:
    r = base(events={"symptoms": [{"date": "2026-03-01", "bone_pain": 6}],
                     "medications": [{"date": "2026-02-20", "class": "weak_opioid", "action": "start"}]})
    e = ev(r, "2026-03-02")
    assert one(e, "PAIN-03") == {"nrs": 6}
    assert one(e, "PAIN-05") == {"nrs": 6, "mechanical_pain": False}  # opioid started 9 days before
    assert "PAIN-04" not in fired(e) and "PAIN-02" not in fired(e)


def test_rt01_single_fraction_for_a_painful_lesion_and_rt05_emergency() -> None:
    r = confirmed(symptoms=[{"date": "2026-03-01", "bone_pain": 7, "pain_sites": ["rib"]}])
    e = ev(r, "2026-03-02")
    assert one(e, "RT-01") == {"site": "rib", "dose_gy": 8.0, "fractions": 1}
    assert one(e, "PAIN-04") == {"nrs": 7}
    r["events"]["symptoms"].append({"date": "2026-03-02", "neuro_deficit": True, "pain_sites": ["thoracic_spine"]})
    e = ev(r, "2026-03-02")
    assert one(e, "RT-05") == {"mri_within_h": 24, "decision_within_h": 24}
    mdt = e.fired("MDT-01")[0]
    assert mdt.severity.value == "critical" and mdt.due == dt.date(2026, 3, 3)
    assert "RT-01" not in fired(e)  # a neurological deficit: not the simple single-fraction case


# ---- SURG / MDT ------------------------------------------------------------------------------------


def test_mirels_and_sins_scores() -> None:
    r = base(bone_metastasis={"status": "confirmed", "confirmed_date": "2026-02-01", "lesions": [
        # femur 2 + mechanical pain 3 + lytic 3 + cortex 70 % 3 = 11 -> fixation
        {"site": "femur", "kind": "lytic", "cortical_involvement_pct": 70},
        # T12 junctional 3 + no pain 0 + lytic 2 + normal 0 + lt50 2 + unilateral 1 = 8
        {"site": "thoracic_spine", "kind": "lytic", "level": "T12", "alignment": "normal", "collapse": "lt50", "posterolateral": "unilateral"},
    ]}, events={"symptoms": [{"date": "2026-03-01", "bone_pain": 6, "mechanical_pain": True, "pain_sites": ["femur"]}]})
    e = ev(r, "2026-03-02")
    mirels = e.fired("SURG-01")[0]
    assert mirels.values == {"score": "mirels", "site": "femur", "total": 11.0}
    assert mirels.kind.value == "action" and mirels.severity.value == "high"
    sins = e.fired("SURG-02")[0]
    assert sins.values == {"score": "sins", "site": "thoracic_spine", "total": 8.0, "category": "potentially_unstable"}
    assert one(e, "MDT-01")["triggers"] == ["SURG-01", "SURG-02"]


def test_mirels_without_cortical_involvement_is_data_needed() -> None:
    r = base(bone_metastasis={"status": "confirmed", "confirmed_date": "2026-02-01",
                              "lesions": [{"site": "humerus", "kind": "blastic"}]})
    f = ev(r, "2026-03-02").fired("SURG-01")[0]
    assert f.kind.value == "data_needed"
    assert f.values == {"score": "mirels", "site": "humerus", "missing": ["cortical_involvement_pct"]}


def test_mdt01_silent_after_an_mdt_and_mdt02_for_tier34() -> None:
    r = confirmed(adverse_events=[{"date": "2026-03-01", "kind": "onj"}])
    r["hospital"] = {"id": "H9", "city_tier": "tier3-4", "type": "general"}
    e = ev(r, "2026-03-02")
    assert "MDT-01" in fired(e) and one(e, "MDT-02") == {}
    r["events"]["mdt"] = [{"date": "2026-03-05", "decision": "hold BTA 8 weeks", "attendees": ["oncology", "other"]}]
    assert {"MDT-01", "MDT-02"}.isdisjoint(fired(ev(r, "2026-03-06")))
