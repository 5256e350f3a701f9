"""The remaining rules, each made to fire with its exact values and kept silent where rules.md
says so (continues test_families.py; the same builders)."""

from __future__ import annotations

import datetime as dt

from rules.support import base, confirmed, ev, fired, one


def test_score_cg_info_form() -> None:
    # female 69 y, 60 kg, SCr 80 umol/L (0.905 mg/dL): (140-69)*60/(72*0.905)*0.85 = 55.6
    e = ev(confirmed(), "2026-02-04")
    f = e.fired("SCORE-CG")[0]
    assert f.kind.value == "info"
    assert f.values == {"score": "cockcroft_gault", "total": 55.6, "scr_mg_dl": 0.9, "weight_kg": 60.0, "age_years": 69}


def test_dx03_several_sites_on_the_bone_scan() -> None:
    r = base(bone_metastasis={"status": "suspected"}, events={"imaging": [
        {"date": "2026-02-01", "modality": "bone_scan", "region": "whole_body", "result": "suspicious",
         "sites": ["rib", "pelvis"]}]})
    assert one(ev(r, "2026-02-02"), "DX-03") == {"modality": "pet_ct"}
    r["events"]["imaging"][0]["sites"] = ["rib"]
    assert "DX-03" not in fired(ev(r, "2026-02-02"))


def test_bta07_info_after_an_sre_on_treatment() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "denosumab", "dose_mg": 120, "route": "sc"}],
                  sre=[{"date": "2026-02-20", "kind": "pathologic_fracture"}])
    f = ev(r, "2026-02-25").fired("BTA-07")[0]
    assert f.kind.value == "info" and f.values == {"reason": "sre"}
    assert "BTA-07" not in fired(ev(r, "2026-05-22"))  # 91 days after the SRE


def test_safe01_stale_creatinine_before_the_next_infusion() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "zoledronic_acid", "dose_mg": 3.5, "route": "iv"}])
    # due 2026-03-05; from 2026-02-26 (due - 7) a creatinine within 14 days is needed
    assert "SAFE-01" not in fired(ev(r, "2026-02-25"))
    assert one(ev(r, "2026-02-27"), "SAFE-01") == {"drug": "zoledronic_acid", "due": dt.date(2026, 3, 5), "scr_age_days": 25}


def test_safe03_lower_band_now_than_at_baseline() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "zoledronic_acid", "dose_mg": 3.5, "route": "iv"}])
    # baseline 55.6 -> 3.5 mg; SCr now 1.1 mg/dL: 71*60/(72*1.1)*0.85 = 45.7 -> 3.3 mg; rise 0.2 < 0.5
    r["events"]["labs"].append({"date": "2026-02-25", "test": "creatinine", "value": 1.1, "unit": "mg/dL"})
    assert one(ev(r, "2026-02-26"), "SAFE-03") == {"drug": "zoledronic_acid", "baseline_crcl_ml_min": 55.6,
                                                   "crcl_ml_min": 45.7, "baseline_dose_mg": 3.5, "band_dose_mg": 3.3}


def test_safe07_denosumab_on_dialysis() -> None:
    r = confirmed()
    r["comorbidities"] = ["dialysis"]
    r["bta_plan"] = {"drug": "denosumab"}
    assert one(ev(r, "2026-02-04"), "SAFE-07") == {"crcl_ml_min": None}


def test_safe08_dental_exam_before_the_first_dose() -> None:
    r = confirmed()
    del r["events"]["dental"]
    assert one(ev(r, "2026-02-04"), "SAFE-08") == {"last_dental_date": None}
    r["events"]["dental"] = [{"date": "2025-10-01", "result": "ok"}]  # more than 90 days before
    assert one(ev(r, "2026-02-04"), "SAFE-08") == {"last_dental_date": dt.date(2025, 10, 1)}


def test_adh05_long_gap_without_a_stop() -> None:
    r = confirmed(bta=[{"date": "2026-02-05", "drug": "denosumab", "dose_mg": 120, "route": "sc"}])
    assert "ADH-05" not in fired(ev(r, "2026-04-30"))  # 84 days
    assert one(ev(r, "2026-05-01"), "ADH-05") == {"drug": "denosumab", "last_dose_date": dt.date(2026, 2, 5),
                                                  "days_since_last_dose": 85}


def test_tx03_and_tx04() -> None:
    r = confirmed(performance=[{"date": "2026-02-02", "ecog": 1}])
    r["cancer"]["drivers"] = {"EGFR": "negative", "ALK": "negative"}
    assert one(ev(r, "2026-02-04"), "TX-03") == {"ecog": 1}
    r["events"]["treatments"] = [{"date": "2026-02-03", "kind": "chemo_immunotherapy"}]
    e = ev(r, "2026-02-04")
    assert "TX-03" not in fired(e)
    assert one(e, "TX-04") == {}


def test_pain01_and_pain02() -> None:
    e = ev(confirmed(), "2026-02-04")
    assert one(e, "PAIN-01") == {"last_assessed": None}
    r = confirmed(symptoms=[{"date": "2026-02-03", "bone_pain": 2}])
    e = ev(r, "2026-02-04")
    assert "PAIN-01" not in fired(e)
    assert one(e, "PAIN-02") == {"nrs": 2}


def test_rt02_postoperative_rt_and_rt04_radionuclide() -> None:
    r = confirmed(treatments=[{"date": "2026-02-10", "kind": "surgery_bone", "site": "femur"},
                              {"date": "2025-12-01", "kind": "radiotherapy_bone", "site": "rib"}],
                  symptoms=[{"date": "2026-02-20", "bone_pain": 5, "pain_sites": ["rib", "pelvis", "sternum"]}])
    e = ev(r, "2026-02-21")
    assert one(e, "RT-02") == {"site": "femur"}
    assert one(e, "RT-04") == {"nrs": 5, "site_count": 3}
    r["events"]["treatments"].append({"date": "2026-02-18", "kind": "radiotherapy_bone", "site": "femur"})
    assert "RT-02" not in fired(ev(r, "2026-02-21"))


def test_surg03_tokuhashi_surg04_solitary_surg05_pelvis() -> None:
    r = base(bone_metastasis={"status": "confirmed", "confirmed_date": "2026-02-01",
                              "lesions": [{"site": "lumbar_spine", "kind": "lytic"}]},
             events={"performance": [{"date": "2026-02-02", "ecog": 1}],
                     "symptoms": [{"date": "2026-02-02", "bone_pain": 0, "neuro_deficit": False}]})
    r["cancer"]["visceral_metastasis"] = "none"
    e = ev(r, "2026-02-03")
    # KPS 70 -> 1; no extraspinal -> 2; 1 vertebral -> 2; no visceral -> 2; lung 0; no palsy -> 2
    assert one(e, "SURG-03") == {"score": "tokuhashi_revised", "total": 9.0, "prognosis": "ge_6_months"}
    assert one(e, "SURG-04") == {"site": "lumbar_spine"}
    r["bone_metastasis"]["lesions"].append({"site": "acetabulum", "kind": "mixed"})
    e = ev(r, "2026-02-03")
    assert "SURG-04" not in fired(e)
    assert one(e, "SURG-05") == {"site": "acetabulum"}
