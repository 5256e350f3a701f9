"""The boundaries and silences the guideline issue names, one scenario each.

Each scenario is a format-v1 record (validated by the real parser) evaluated on a pinned day;
the expected figures are worked by hand from rules.md in the comments.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)


def confirmed_patient(**overrides: Any) -> dict[str, Any]:
    """A 60-year-old man, stage IV, bone metastasis confirmed 2026-09-01, no BTA yet."""
    record: dict[str, Any] = {
        "format": "bonepath-record/1",
        "id": "T1",
        "source": "test",
        "sex": "male",
        "birth_date": "1966-01-01",
        "cancer": {"diagnosis_date": "2026-06-01", "histology": "adenocarcinoma", "stage": "IV", "setting": "advanced"},
        "bone_metastasis": {"status": "confirmed", "confirmed_date": "2026-09-01", "lesions": [{"site": "rib", "kind": "lytic"}]},
        "events": {
            "vitals": [{"date": "2026-09-01", "weight_kg": 54}],
            "labs": [{"date": "2026-09-02", "test": "creatinine", "value": 1.0, "unit": "mg/dL"}],
            "dental": [{"date": "2026-09-03", "result": "ok"}],
        },
    }
    for path, value in overrides.items():
        target = record
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return record


def run(data: dict[str, Any], day: str) -> Evaluation:
    return evaluate(parse_record(copy.deepcopy(data), today=TODAY), dt.date.fromisoformat(day))


def values(ev: Evaluation, rule: str) -> dict[str, Any]:
    found = ev.fired(rule)
    assert found, f"{rule} did not fire; fired: {[f.rule for f in ev.findings]}"
    return found[0].values


@pytest.mark.parametrize(
    ("weight_kg", "crcl", "dose_mg"),
    [
        # male, 60 y, SCr 1.0 mg/dL: CrCl = 80 × weight / 72
        (54.0, 60.0, 3.5),  # D-01: 60.0 is in the 50–60 band
        (54.09, 60.1, 4.0),
        (45.0, 50.0, 3.5),
        (44.91, 49.9, 3.3),
        (36.0, 40.0, 3.3),
        (35.91, 39.9, 3.0),
        (27.0, 30.0, 3.0),
    ],
)
def test_zoledronic_dose_bands_at_their_edges(weight_kg: float, crcl: float, dose_mg: float) -> None:
    data = confirmed_patient()
    data["events"]["vitals"][0]["weight_kg"] = weight_kg
    v = values(run(data, "2026-09-05"), "BTA-03")
    assert v["crcl_ml_min"] == crcl
    assert v["dose_mg"] == dose_mg
    assert v["infusion_min"] == 15


def test_crcl_below_30_stops_zoledronic_and_offers_denosumab() -> None:
    data = confirmed_patient()
    data["events"]["vitals"][0]["weight_kg"] = 26.9  # CrCl 29.9
    ev = run(data, "2026-09-05")
    assert values(ev, "SAFE-04") == {"drug": "zoledronic_acid", "crcl_ml_min": 29.9, "scr_mg_dl": 1.0}
    assert not ev.fired("BTA-03")
    assert values(ev, "BTA-06")["drug"] == "denosumab"


def test_missing_weight_gives_data_needed_and_no_dose() -> None:
    data = confirmed_patient()
    del data["events"]["vitals"]
    ev = run(data, "2026-09-05")
    cg = ev.fired("SCORE-CG")[0]
    assert cg.kind.value == "data_needed" and cg.values == {"score": "cockcroft_gault", "missing": ["weight_kg"]}
    assert not ev.fired("BTA-03") and not ev.fired("SAFE-04")
    assert ev.fired("BTA-01")  # the start itself is still due


@pytest.mark.parametrize(("birth_date", "dose_mg", "safe12"), [("1961-09-04", 5.0, False), ("1961-09-06", 10.0, False)])
def test_incadronate_at_65_gets_5_mg_but_is_not_a_nephrotoxicity_factor(
    birth_date: str, dose_mg: float, safe12: bool
) -> None:
    data = confirmed_patient(birth_date=birth_date, bta_plan={"drug": "incadronate", "interval_days": 28})
    ev = run(data, "2026-09-05")  # 1961-09-04 → 65 on the day; 1961-09-06 → 64
    v = values(ev, "BTA-05")
    assert v["dose_mg"] == dose_mg and v["drug"] == "incadronate"
    assert bool(ev.fired("SAFE-12")) is safe12  # no course yet; > 65 needed anyway (D-10)


def _on_denosumab() -> dict[str, Any]:
    data = confirmed_patient()
    data["events"]["bta"] = [
        {"date": "2026-09-05", "drug": "denosumab", "dose_mg": 120, "route": "sc"},
        {"date": "2026-10-03", "drug": "denosumab", "dose_mg": 120, "route": "sc"},
    ]
    data["events"]["supplements"] = [{"date": "2026-09-05", "calcium_mg_daily": 600, "vitamin_d_iu_daily": 800}]
    return data


@pytest.mark.parametrize(
    ("day", "fires", "silent"),
    [
        ("2026-10-28", ["ADH-01"], ["ADH-02"]),  # due 2026-10-31; reminder from 10-28
        ("2026-10-27", [], ["ADH-01", "ADH-02"]),
        ("2026-11-28", ["ADH-02"], ["ADH-03"]),  # 28 days overdue: not yet > 28
        ("2026-11-29", ["ADH-02", "ADH-03"], []),  # 29 days overdue
    ],
)
def test_adherence_windows(day: str, fires: list[str], silent: list[str]) -> None:
    ev = run(_on_denosumab(), day)
    for rule in fires:
        assert ev.fired(rule), rule
    for rule in silent:
        assert not ev.fired(rule), rule
    if "ADH-03" in fires:
        assert values(ev, "ADH-03") == {"drug": "denosumab", "due": dt.date(2026, 10, 31), "overdue_days": 29}


def test_no_reminder_while_hypocalcaemia_holds_the_drug() -> None:
    data = _on_denosumab()
    data["events"]["labs"].append({"date": "2026-10-27", "test": "calcium", "value": 1.9, "unit": "mmol/L"})
    ev = run(data, "2026-10-28")
    assert ev.fired("SAFE-05") and not ev.fired("ADH-01")
    assert values(ev, "ADH-06") == {"drug": "denosumab", "held_by": "SAFE-05"}


def test_pain_relief_is_never_accepted_as_a_stop_reason() -> None:
    data = _on_denosumab()
    data["events"]["bta_stop"] = [{"date": "2026-10-20", "reason": "pain_relief"}]
    ev = run(data, "2026-10-28")
    bta07 = ev.fired("BTA-07")[0]
    assert bta07.kind.value == "alert" and bta07.values == {"reason": "pain_relief"}
    assert not ev.fired("ADH-01")  # the course is stopped: no dose reminder


def test_suspected_lesion_gets_no_bta_recommendation() -> None:
    data = confirmed_patient(bone_metastasis={"status": "suspected"})
    ev = run(data, "2026-09-05")
    assert values(ev, "BTA-01b") == {"status": "suspected"}
    for rule in ("BTA-01", "BTA-03", "BTA-06", "SAFE-08"):
        assert not ev.fired(rule), rule


def test_calendar_months_clamp_to_month_end() -> None:
    """VAL-06: SCR-03 is due 3 months after the last chest CT; 2025-11-30 + 3 months = 2026-02-28."""
    data = confirmed_patient(bone_metastasis={"status": "none"})
    data["cancer"]["diagnosis_date"] = "2025-10-01"
    data["events"]["imaging"] = [
        {"date": "2025-11-30", "modality": "ct", "region": "chest", "result": "negative", "bone_window_reviewed": True},
        {"date": "2025-10-05", "modality": "bone_scan", "region": "whole_body", "result": "negative"},
    ]
    assert not run(data, "2026-02-27").fired("SCR-03")
    assert values(run(data, "2026-02-28"), "SCR-03") == {"modality": "ct", "due": dt.date(2026, 2, 28)}


def test_deceased_patient_gets_no_findings() -> None:
    data = confirmed_patient(death_date="2026-09-04")
    assert run(data, "2026-09-03").findings  # alive the day before
    assert run(data, "2026-09-05").findings == ()
