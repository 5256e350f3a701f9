"""The audit log through the API and pages: tenancy for hospital admins, and refused
cross-tenant requests recorded as ``denied`` without answering the caller differently
(issue 13, item 7)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bonepath.interop.fhir.to_record import IDENTIFIER_SYSTEM
from bonepath.population.registry import evaluate_registry
from bonepath.reminders.tasks import sync_tasks
from bonepath.store import accounts
from bonepath.store.repository import Store

from .support import PASSWORD, login


def _bearer(store: Store, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 'test')}"}


def _without_random_tokens(page: str) -> str:
    """The page less its CSRF tokens: 43 random URL-safe characters hold "HB" about once in a
    hundred pages, which is not a leak."""
    cleaned, removed = re.subn(r'(name="csrf_token" value|data-csrf)="[^"]*"', "", page)
    assert removed >= 1
    return cleaned


def _denied(store: Store, user: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (e.action, e.patient_id, e.hospital_id, e.detail)
        for e in accounts.read_audit(store.engine, username=user)
        if e.outcome == "denied"
    ]


def test_a_hospital_admin_sees_no_other_hospitals_patients_in_the_audit(
    client: TestClient, store: Store
) -> None:
    accounts.create_user(store.engine, "admin_a", PASSWORD, "admin", ["HA"])
    doc_a, doc_b = _bearer(store, "doc_a"), _bearer(store, "doc_b")
    assert client.get("/api/patients/his/A-DUE", headers=doc_a).status_code == 200
    assert client.get("/api/patients/his/B-ONE", headers=doc_b).status_code == 200
    assert client.get("/api/patients/his/B-ONE", headers=doc_a).status_code == 404
    admin_a = _bearer(store, "admin_a")
    entries = client.get("/api/audit", headers=admin_a).json()["entries"]
    seen = {
        (e["user"], (e["patient"] or {}).get("id"), e["hospital"], e["outcome"]) for e in entries
    }
    assert ("doc_a", "A-DUE", "HA", "ok") in seen
    # doc_a's attempt is their admin's to see, without saying where B-ONE lives
    assert ("doc_a", "B-ONE", None, "denied") in seen
    assert not any(user == "doc_b" for user, *_ in seen)
    assert all(hospital in (None, "HA") for _, _, hospital, _ in seen)
    # the regional admin sees everything, the attempt with the hospital it aimed at
    regional = client.get("/api/audit", headers=_bearer(store, "admin")).json()["entries"]
    assert {("doc_b", "ok"), ("doc_a", "denied")} <= {(e["user"], e["outcome"]) for e in regional}
    denied = [e for e in regional if e["outcome"] == "denied"]
    assert [e["hospital"] for e in denied] == ["HB"]
    # the page applies the same filter
    client.cookies.clear()
    login(client, "admin_a")
    page = _without_random_tokens(client.get("/admin/audit").text)
    assert "A-DUE" in page and "doc_b" not in page and "HB" not in page


def test_denied_fhir_reads_and_searches_are_audited_and_answered_as_not_found(
    client: TestClient, store: Store
) -> None:
    doc_a = _bearer(store, "doc_a")
    asked = [
        "/fhir/Patient/his.B-ONE",
        "/fhir/Observation/his.B-ONE-obs-0",
        "/fhir/Observation?patient=Patient/his.B-ONE",
        "/fhir/Patient?_id=his.B-ONE",
        f"/fhir/Patient?identifier={IDENTIFIER_SYSTEM}/his|B-ONE",
    ]
    other = client.get("/fhir/Patient/his.NOBODY", headers=doc_a)
    for path in asked:
        response = client.get(path, headers=doc_a)
        if "?" in path:
            assert (response.status_code, response.json()["total"]) == (200, 0), path
        else:
            assert response.status_code == other.status_code == 404, path
            assert response.json()["issue"][0]["code"] == other.json()["issue"][0]["code"]
    denied = _denied(store, "doc_a")
    assert len(denied) == len(asked) + 1
    # where the patient asked for lives is recorded (for that hospital's admins) when it exists
    assert [h for *_, h, detail in denied if "NOBODY" in (detail or "")] == [None]
    assert {h for *_, h, detail in denied if "B-ONE" in (detail or "")} == {"HB"}
    assert {action for action, *_ in denied} == {"fhir.read", "fhir.search"}
    assert all(detail and detail.startswith("asked: ") for *_, detail in denied)


@pytest.fixture
def hb_task(store: Store, client: TestClient) -> int:
    sync_tasks(store, evaluate_registry(store, client.app.state.bonepath.today()))
    tasks = client.get("/api/tasks", headers=_bearer(store, "doc_b")).json()["tasks"]
    return int(tasks[0]["id"])


def test_denied_task_closes_and_patient_pages_are_audited(
    client: TestClient, store: Store, hb_task: int
) -> None:
    nurse = _bearer(store, "nurse_a")
    closed = client.post(f"/api/tasks/{hb_task}/close", json={"reason": "cost"}, headers=nurse)
    missing = client.post("/api/tasks/999999/close", json={"reason": "cost"}, headers=nurse)
    assert closed.status_code == missing.status_code == 404
    csrf = login(client, "nurse_a")
    form = client.post(
        f"/patients/his/B-ONE/tasks/{hb_task}/close",
        data={"reason": "cost", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert form.status_code == 404
    assert client.get("/patients/his/B-ONE").status_code == 404
    denied = _denied(store, "nurse_a")
    assert (
        "task.close",
        None,
        "HB",
        f"asked: task {hb_task}",
    ) in denied  # the patient of the task is not named: nurse_a's admin reads this row
    assert ("task.close", None, None, "asked: task 999999") in denied
    assert denied.count(("task.close", None, "HB", f"asked: task {hb_task}")) == 2
    assert ("patient.read", "B-ONE", "HB", None) in denied
    assert re.fullmatch(r"\d+", str(hb_task))
