"""An MDT case and its decision as FHIR (docs/fhir.md "MDT referrals, cases and decisions")."""

from __future__ import annotations

import datetime as dt

from bonepath.interop.fhir.from_record import split_id
from bonepath.interop.fhir.mdt import case_resources
from bonepath.mdt.model import CaseDecision, Decision, DecisionType, Specialty


def test_a_decided_case_is_a_task_and_a_care_plan_with_its_attendees_and_findings() -> None:
    decision = CaseDecision(
        decided_on=dt.date(2026, 11, 2),
        decisions=(
            Decision(DecisionType.BM_CONFIRMED),
            Decision(DecisionType.BTA_START, drug="denosumab"),
        ),
        rationale="MRI 符合骨转移",
        attendees=(Specialty.RADIOLOGY, Specialty.NUCLEAR_MEDICINE, Specialty.ONCOLOGY),
    ).to_json()
    decision["findings"] = [{"rule": "DX-04"}, {"rule": "MDT-01"}]
    case = {
        "id": 7,
        "state": "decided",
        "question": {"type": "diagnosis", "text": "是否骨转移"},
        "triggers": ["DX-04"],
        "due": "2026-11-10",
        "created_on": "2026-10-27",
        "referred_to": None,
        "withdrawn_reason": None,
    }
    task, plan = case_resources(case, decision, patient_id="his.P1")
    assert (task["id"], plan["id"]) == ("his.P1-mdtcase-7", "his.P1-mdtplan-7")
    assert split_id(task["id"]) == ("his.P1", "mdtcase", "7")  # the /fhir reader finds it
    assert task["status"] == "in-progress" and task["businessStatus"]["text"] == "decided"
    assert task["input"][0]["valueString"] == "DX-04"
    assert task["restriction"]["period"]["end"] == "2026-11-10"
    assert [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]] == [
        "bm_confirmed",
        "bta_start",
    ]
    assert plan["activity"][1]["detail"]["description"] == "denosumab"
    assert [e["valueCodeableConcept"]["coding"][0]["code"] for e in plan["extension"]] == [
        "radiology",
        "nuclear_medicine",
        "oncology",
    ]
    assert plan["note"][0]["text"] == "MRI 符合骨转移" and "DX-04" in plan["description"]
    assert plan["supportingInfo"][0]["reference"] == "Task/his.P1-mdtcase-7"


def test_a_withdrawn_case_is_a_cancelled_task_with_its_reason() -> None:
    case = {
        "id": 2,
        "state": "withdrawn",
        "question": {"type": "pain", "text": ""},
        "triggers": [],
        "created_on": "2026-10-01",
        "withdrawn_reason": "患者转院",
        "referred_to": "R0",
    }
    [task] = case_resources(case, None, patient_id="P1")
    assert task["status"] == "cancelled" and task["statusReason"]["text"] == "患者转院"
    assert task["owner"]["identifier"]["value"] == "R0"
