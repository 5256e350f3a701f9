"""Patients and principals of the MDT tests (dates pinned)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store.accounts import Principal, Role

REFERRAL_DAY = dt.date(2026, 10, 21)
MEETING_DAY = dt.date(2026, 10, 23)
HOSPITAL = {"id": "H1", "name": "县医院", "city_tier": "tier3-4", "type": "general"}

SUSPECTED: dict[str, Any] = {
    "format": "bonepath-record/1",
    "id": "MDT-SUSP",
    "source": "test",
    "hospital": HOSPITAL,
    "sex": "female",
    "birth_date": "1966-12-05",
    "identity": {"name": "王秀英", "phone": "13800001111"},
    "cancer": {
        "diagnosis_date": "2026-09-01",
        "histology": "adenocarcinoma",
        "stage": "IV",
        "setting": "advanced",
        "drivers": {"EGFR": "negative", "ALK": "negative"},
    },
    "bone_metastasis": {"status": "suspected"},
    "events": {
        "imaging": [
            {
                "date": "2026-09-28",
                "modality": "bone_scan",
                "region": "whole_body",
                "result": "positive",
                "sites": ["pelvis"],
                "lesion_count": 1,
            },
            {
                "date": "2026-10-02",
                "modality": "ct",
                "region": "pelvis",
                "result": "suspicious",
                "sites": ["pelvis"],
                "bone_window_reviewed": True,
            },
        ],
        "vitals": [{"date": "2026-09-01", "weight_kg": 61}],
        "labs": [{"date": "2026-10-06", "test": "creatinine", "value": 0.8, "unit": "mg/dL"}],
    },
}
"""One suspected pelvic lesion, uncertain after CT: DX-04 → MDT-01 (trigger 2026-10-02, due
2026-10-16, overdue on the referral day)."""

UNSTABLE: dict[str, Any] = {
    "format": "bonepath-record/1",
    "id": "MDT-SPINE",
    "source": "test",
    "hospital": HOSPITAL,
    "sex": "male",
    "birth_date": "1956-03-02",
    "cancer": {
        "diagnosis_date": "2026-05-10",
        "histology": "squamous",
        "stage": "IV",
        "setting": "advanced",
        "drivers": {"EGFR": "negative"},
    },
    "bone_metastasis": {
        "status": "confirmed",
        "confirmed_date": "2026-09-10",
        "lesions": [
            {
                "site": "femur",
                "kind": "lytic",
                "cortical_involvement_pct": 70,
                "peritrochanteric": True,
            },
            {
                "site": "lumbar_spine",
                "level": "L1",
                "kind": "lytic",
                "alignment": "normal",
                "collapse": "lt50",
                "posterolateral": "unilateral",
            },
        ],
    },
    "events": {
        "imaging": [
            {
                "date": "2026-09-08",
                "modality": "ct",
                "region": "spine",
                "result": "positive",
                "sites": ["lumbar_spine"],
                "report_text": "骨窗：L1椎体溶骨性破坏，伴病理性压缩骨折。",
            },
        ],
        "vitals": [{"date": "2026-09-10", "weight_kg": 70, "height_cm": 172}],
        "labs": [
            {"date": "2026-10-10", "test": "creatinine", "value": 88, "unit": "umol/L"},
            {"date": "2026-10-10", "test": "calcium", "value": 2.1, "unit": "mmol/L"},
            {"date": "2026-10-10", "test": "albumin", "value": 30, "unit": "g/L"},
        ],
        "symptoms": [
            {
                "date": "2026-10-12",
                "bone_pain": 8,
                "pain_sites": ["femur", "lumbar_spine"],
                "mechanical_pain": True,
                "neuro_deficit": False,
            },
        ],
        "bta": [{"date": "2026-09-20", "drug": "zoledronic_acid", "dose_mg": 4.0, "route": "iv"}],
        "medications": [{"date": "2026-10-12", "class": "strong_opioid_long", "action": "start"}],
    },
}
"""A confirmed patient with a peritrochanteric lytic femur lesion (Mirels 12) and an L1 lesion
with mechanical pain (SINS), NRS 8 on a strong opioid: MDT-01 for surgery."""


def record(data: dict[str, Any], **changes: Any) -> Record:
    doc = copy.deepcopy(data)
    doc.update(changes)
    return parse_record(doc, today=REFERRAL_DAY)


def principal(
    role: Role = Role.MDT_COORDINATOR,
    username: str = "coord",
    hospitals: tuple[str, ...] = ("H1",),
    user_id: int = 1,
) -> Principal:
    return Principal(user_id=user_id, username=username, role=role, hospitals=frozenset(hospitals))
