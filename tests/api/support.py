"""A small two-hospital registry for the API and browser tests, and its accounts.

Hospital ``HA`` holds ``A-DUE`` (zoledronic acid every 4 weeks, the next dose due two days
after :data:`AS_OF`: ADH-01 reminds) and ``A-RENAL`` (zoledronic acid 3.3 mg started at a
CrCl of about 45 mL/min: a 4 mg dose is above the renal recommendation, BTA-09); hospital
``HB`` holds ``B-ONE``. Seeded synthetic patients (hospitals ``H..``) make the worklist
realistic. Dates are pinned; nothing depends on the real today.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from fastapi.testclient import TestClient

from bonepath.record.parse import parse_record
from bonepath.store import accounts
from bonepath.store.repository import Store
from bonepath.synth import generate_record

AS_OF: Final = dt.date(2026, 11, 2)
PASSWORD: Final = "correct horse battery"

USERS: Final = {
    "doc_a": ("clinician", ["HA"]),
    "nurse_a": ("nurse", ["HA"]),
    "mdt_a": ("mdt_coordinator", ["HA"]),
    "qm": ("quality_manager", ["*"]),
    "admin": ("admin", ["*"]),
    "doc_b": ("clinician", ["HB"]),
}


def _patient(pid: str, hospital: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "format": "bonepath-record/1",
        "id": pid,
        "source": "his",
        "hospital": {"id": hospital, "name": f"Hospital {hospital}", "city_tier": "tier1-2"},
        "department": "oncology",
        "sex": "male",
        "birth_date": "1960-03-15",
        "cancer": {
            "diagnosis_date": "2026-01-10",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "setting": "advanced",
        },
        "bone_metastasis": {
            "status": "confirmed",
            "confirmed_date": "2026-02-01",
            "lesions": [{"site": "lumbar_spine", "kind": "lytic"}],
        },
    }
    record.update(extra)
    return record


def due_patient(pid: str = "A-DUE", hospital: str = "HA") -> dict[str, Any]:
    """Zoledronic acid 4 mg every 28 days, last dose 2026-10-08: next due 2026-11-05."""
    doses = ["2026-07-16", "2026-08-13", "2026-09-10", "2026-10-08"]
    return _patient(
        pid,
        hospital,
        bta_plan={"drug": "zoledronic_acid", "interval_days": 28},
        events={
            "imaging": [
                {
                    "date": "2026-02-01",
                    "modality": "bone_scan",
                    "result": "positive",
                    "sites": ["lumbar_spine"],
                },
                {
                    "date": "2026-09-20",
                    "modality": "ct",
                    "region": "chest",
                    "result": "positive",
                    "bone_window_reviewed": True,
                },
            ],
            "labs": [
                {"date": d, "test": "creatinine", "value": v, "unit": "mg/dL"}
                for d, v in (
                    ("2026-07-14", 0.9),
                    ("2026-08-11", 0.95),
                    ("2026-09-08", 0.92),
                    ("2026-10-06", 0.97),
                    ("2026-10-30", 0.96),
                )
            ]
            + [
                {"date": d, "test": "calcium", "value": v, "unit": "mmol/L"}
                for d, v in (("2026-07-14", 2.35), ("2026-09-08", 2.31), ("2026-10-30", 2.28))
            ]
            + [
                {"date": "2026-10-30", "test": "albumin", "value": 40, "unit": "g/L"},
                {"date": "2026-07-14", "test": "alp", "value": 180, "unit": "U/L", "uln": 125},
                {"date": "2026-10-06", "test": "alp", "value": 120, "unit": "U/L", "uln": 125},
            ],
            "vitals": [{"date": "2026-07-14", "weight_kg": 70, "height_cm": 172}],
            "dental": [{"date": "2026-07-01", "result": "ok"}],
            "supplements": [
                {"date": "2026-07-16", "calcium_mg_daily": 600, "vitamin_d_iu_daily": 400}
            ],
            "bta": [
                {
                    "date": d,
                    "drug": "zoledronic_acid",
                    "dose_mg": 4.0,
                    "route": "iv",
                    "interval_days": 28,
                }
                for d in doses
            ],
        },
    )


def renal_patient(pid: str = "A-RENAL", hospital: str = "HA") -> dict[str, Any]:
    """CrCl about 45 mL/min (creatinine 1.7 mg/dL, 70 kg, 66 years): zoledronic acid 3.3 mg."""
    record = due_patient(pid, hospital)
    events = record["events"]
    events["labs"] = [
        {"date": d, "test": "creatinine", "value": 1.7, "unit": "mg/dL"}
        for d in ("2026-07-14", "2026-08-11", "2026-09-08", "2026-10-06", "2026-10-30")
    ] + [
        {"date": "2026-10-30", "test": "calcium", "value": 2.3, "unit": "mmol/L"},
        {"date": "2026-10-30", "test": "albumin", "value": 40, "unit": "g/L"},
    ]
    for dose in events["bta"]:
        dose["dose_mg"] = 3.3
    return record


def seed(store: Store, *, synthetic: int = 0) -> None:
    """The hand-written patients, ``synthetic`` seeded synthetic ones, and every user."""
    data = [due_patient(), renal_patient(), due_patient("B-ONE", "HB")]
    data += [generate_record(i, 11) for i in range(synthetic)]
    store.upsert_records([parse_record(d, today=AS_OF) for d in data], import_source="tests")
    for name, (role, hospitals) in USERS.items():
        accounts.create_user(store.engine, name, PASSWORD, role, hospitals)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    worklist = client.get("/patients")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', worklist.text)
    assert csrf is not None
    return csrf.group(1)
