"""Follow-up tasks from ``bonepath.reminders`` through the API and the patient page: the
caller's hospitals only, ADH-03 closed with an interruption reason, audited."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bonepath.population.registry import evaluate_registry
from bonepath.record.parse import parse_record
from bonepath.reminders.tasks import sync_tasks
from bonepath.store import accounts
from bonepath.store.repository import Store

from .support import AS_OF, due_patient, login


@pytest.fixture
def tasks(store: Store) -> None:
    lapsed = due_patient("A-LAPSED", "HA")
    lapsed["events"]["bta"] = lapsed["events"]["bta"][:2]  # last dose 2026-08-13: ADH-03
    store.upsert_records([parse_record(lapsed, today=AS_OF)], import_source="tests")
    sync_tasks(store, evaluate_registry(store, AS_OF))


def _task_id(client: TestClient, patient: str, rule: str) -> int:
    found = [
        t["id"]
        for t in client.get("/api/tasks").json()["tasks"]
        if (t["patient"], t["rule"]) == (patient, rule)
    ]
    assert len(found) == 1, found
    return int(found[0])


def test_tasks_are_listed_for_the_callers_hospitals_only(client: TestClient, tasks: None) -> None:
    login(client, "doc_a")
    listed = client.get("/api/tasks").json()["tasks"]
    assert {t["hospital"] for t in listed} == {"HA"}
    assert ("A-LAPSED", "ADH-03") in {(t["patient"], t["rule"]) for t in listed}
    client.cookies.clear()
    login(client, "doc_b")
    assert {t["patient"] for t in client.get("/api/tasks").json()["tasks"]} == {"B-ONE"}


def test_adh03_task_closes_only_with_an_interruption_reason(
    client: TestClient, store: Store, tasks: None
) -> None:
    csrf = login(client, "nurse_a")
    task_id = _task_id(client, "A-LAPSED", "ADH-03")
    refused = client.post(
        f"/api/tasks/{task_id}/close", json={"reason": "done"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 422
    assert "cost" in refused.json()["errors"][0]["problem"]
    closed = client.post(
        f"/api/tasks/{task_id}/close", json={"reason": "cost"}, headers={"X-CSRF-Token": csrf}
    )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["closed_by"]) == ("closed", "nurse_a")
    assert closed.json()["close_reason"]["zh"] == "费用原因"
    entry = accounts.read_audit(store.engine, action="task.close")[0]
    assert (entry.username, entry.patient_id, entry.detail) == (
        "nurse_a",
        "A-LAPSED",
        f"ADH-03 task {task_id}: cost",
    )


def test_task_of_another_hospital_cannot_be_closed(client: TestClient, tasks: None) -> None:
    login(client, "doc_b")
    b_task = _task_id(client, "B-ONE", "ADH-01")
    client.cookies.clear()
    csrf = login(client, "doc_a")
    response = client.post(
        f"/api/tasks/{b_task}/close", json={"reason": "done"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 404


def test_patient_page_closes_a_task_with_the_form(client: TestClient, tasks: None) -> None:
    csrf = login(client, "nurse_a")
    page = client.get("/patients/his/A-LAPSED").text
    assert 'data-rule="ADH-03"' in page and "费用原因" in page
    action = re.search(
        r'data-rule="ADH-03" open>.*?action="(/patients/his/A-LAPSED/tasks/\d+/close)"',
        page,
        re.DOTALL,
    )
    assert action is not None
    done = client.post(
        action.group(1),
        data={"csrf_token": csrf, "reason": "patient_declined", "note": ""},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get("/patients/his/A-LAPSED").text
    assert 'data-rule="ADH-03" open>' not in after
