"""Patients through the JSON API: tenancy on every route, validation by JSON path, the dose
safety check, CSRF, and one audit row per access (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bonepath.record.parse import parse_record
from bonepath.store import accounts
from bonepath.store.accounts import audit_log
from bonepath.store.repository import Store

from .support import AS_OF, login, renal_patient

DOSE_4MG = {"date": AS_OF.isoformat(), "drug": "zoledronic_acid", "dose_mg": 4.0, "route": "iv"}


def audit_rows(store: Store, **where: Any) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.id)
    for column, value in where.items():
        query = query.where(audit_log.c[column] == value)
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def test_list_and_search_show_only_granted_hospitals(client: TestClient, store: Store) -> None:
    csrf = login(client, "doc_a")
    assert csrf
    listed = client.get("/api/patients").json()
    assert {(p["id"], p["hospital"]) for p in listed["patients"]} == {
        ("A-DUE", "HA"),
        ("A-RENAL", "HA"),
    }
    assert listed["total"] == 2
    # searching for hospital B's patient by its id finds nothing, and neither does a filter
    assert client.get("/api/patients", params={"q": "B-ONE"}).json()["total"] == 0
    assert client.get("/api/patients", params={"hospital": "HB"}).json()["total"] == 0
    actions = [row["action"] for row in audit_rows(store, username="doc_a")]
    assert actions[-3:] == ["patient.list", "patient.search", "patient.list"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/patients/his/B-ONE", None),
        ("GET", "/api/patients/his/B-ONE/findings", None),
        (
            "POST",
            "/api/patients/his/B-ONE/events/labs",
            {"event": {"date": "2026-11-01", "test": "calcium", "value": 2.3, "unit": "mmol/L"}},
        ),
        ("POST", "/api/patients/his/B-ONE/events/bta/check", {"event": DOSE_4MG}),
    ],
)
def test_patient_of_another_hospital_is_not_found_through_every_route(
    client: TestClient, store: Store, method: str, path: str, body: Any
) -> None:
    csrf = login(client, "doc_a")
    response = client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"
    # the same answer as for a patient that does not exist: ids cannot be probed
    missing = client.request(
        method, path.replace("B-ONE", "NO-SUCH"), json=body, headers={"X-CSRF-Token": csrf}
    )
    assert missing.status_code == 404
    assert missing.json() == json.loads(response.text.replace("B-ONE", "NO-SUCH"))
    denied = audit_rows(store, patient_id="B-ONE")
    assert [(r["username"], r["outcome"]) for r in denied] == [("doc_a", "denied")]
    # and nothing was written to B's record
    record = store.get_record("his", "B-ONE")
    assert record is not None and len(record.events.labs) == 11


def test_worklist_filters_by_physician(client: TestClient, store: Store) -> None:
    """A-RENAL is now Dr DR-7's patient: ``physician=DR-7`` lists only A-RENAL's items, the
    same items as the unfiltered list has for A-RENAL."""
    record = renal_patient()
    record["physician"] = {"id": "DR-7"}
    store.upsert_records([parse_record(record, today=AS_OF)], import_source="tests")
    login(client, "doc_a")
    day = {"as_of": AS_OF.isoformat()}
    every = client.get("/api/worklist", params=day).json()["items"]
    mine = client.get("/api/worklist", params={**day, "physician": "DR-7"}).json()["items"]
    assert {i["patient"] for i in every} == {"A-DUE", "A-RENAL"}
    assert mine == [i for i in every if i["patient"] == "A-RENAL"] != []
    nobody = client.get("/api/worklist", params={**day, "physician": "DR-8"}).json()["items"]
    assert nobody == []


def test_worklist_and_exports_leave_other_hospitals_out(client: TestClient, store: Store) -> None:
    login(client, "doc_a")
    items = client.get("/api/worklist", params={"as_of": AS_OF.isoformat()}).json()["items"]
    assert {i["patient"] for i in items} == {"A-DUE", "A-RENAL"}
    assert ("A-DUE", "ADH-01", "2026-11-05") in {(i["patient"], i["rule"], i["due"]) for i in items}
    [read] = accounts.read_audit(store.engine, action="worklist.read")  # one row per request
    assert (read.hospital_id, sorted(read.patients)) == (
        "HA",
        [("his", "A-DUE", "HA"), ("his", "A-RENAL", "HA")],
    )
    csv = client.get("/api/worklist/export.csv").content.decode("utf-8-sig")
    assert "A-DUE" in csv and "B-ONE" not in csv
    assert csv.splitlines()[0].startswith("评估日期,紧急程度,截止日期,逾期天数,")
    xlsx = client.get("/api/worklist/export.xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    exported = accounts.read_audit(store.engine, action="worklist.export")
    assert len(exported) == 2  # one row per export, naming every patient it holds
    assert {p for e in exported for p in e.patients} == {
        ("his", "A-DUE", "HA"),
        ("his", "A-RENAL", "HA"),
    }


def test_read_is_audited_with_who_role_where_and_when(client: TestClient, store: Store) -> None:
    login(client, "nurse_a")
    record = client.get("/api/patients/his/A-DUE").json()
    assert record["id"] == "A-DUE" and record["format"] == "bonepath-record/1"
    findings = client.get("/api/patients/his/A-DUE/findings").json()
    assert findings["as_of"] == AS_OF.isoformat()
    assert "ADH-01" in {f["rule"] for f in findings["findings"]}
    listed = accounts.read_audit(store.engine, patient_id="A-DUE", action="patient.list")
    assert [e.patient_id for e in listed] == [None]  # the login helper opened the list
    assert ("his", "A-DUE", "HA") in listed[0].patients
    rows = audit_rows(store, patient_id="A-DUE")
    assert [
        (r["username"], r["role"], r["action"], r["hospital_id"], r["client"]) for r in rows
    ] == [
        ("nurse_a", "nurse", "patient.read", "HA", "testclient"),
        ("nurse_a", "nurse", "patient.findings", "HA", "testclient"),
    ]
    assert all(r["at"] is not None for r in rows)


def test_audit_log_is_append_only(store: Store, client: TestClient) -> None:
    login(client, "doc_a")
    client.get("/api/patients/his/A-DUE")
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert audit_rows(store, action="patient.read")[0]["action"] == "patient.read"


def test_event_write_is_validated_like_an_import(client: TestClient, store: Store) -> None:
    csrf = login(client, "nurse_a")
    bad = client.post(
        "/api/patients/his/A-DUE/events/labs",
        json={"event": {"date": "2026-11-01", "test": "calcium", "value": 2.3, "unit": "mg/L"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    problem = bad.json()["errors"][0]
    assert problem["path"] == "/events/labs/11/unit"
    assert "mmol/L" in problem["accepted"]
    future = client.post(
        "/api/patients/his/A-DUE/events/dental",
        json={"event": {"date": "2026-11-03", "result": "ok"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert future.status_code == 422  # after the app's today (VAL-01)
    assert future.json()["errors"][0]["path"] == "/events/dental/1/date"
    good = client.post(
        "/api/patients/his/A-DUE/events/labs",
        json={"event": {"date": "2026-11-01", "test": "calcium", "value": 2.3, "unit": "mmol/L"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert good.status_code == 201 and good.json()["status"] == "updated"
    record = store.get_record("his", "A-DUE")
    assert record is not None and record.events.labs[-1].value == 2.3
    provenance = store.get_provenance("his", "A-DUE")
    assert provenance is not None and provenance.import_source == "web:nurse_a"


def test_dose_reminder_leaves_the_worklist_once_the_dose_is_recorded(
    client: TestClient,
) -> None:
    csrf = login(client, "nurse_a")

    def adh01() -> set[str]:
        items = client.get("/api/worklist", params={"rule": "ADH-01"}).json()["items"]
        return {i["patient"] for i in items}

    assert adh01() == {"A-DUE", "A-RENAL"}
    saved = client.post(
        "/api/patients/his/A-DUE/events/bta",
        json={"event": DOSE_4MG},
        headers={"X-CSRF-Token": csrf},
    )
    assert saved.status_code == 201 and saved.json()["warnings"] == []
    assert adh01() == {"A-RENAL"}


def test_unsafe_dose_needs_a_clinicians_override_reason(client: TestClient, store: Store) -> None:
    csrf = login(client, "doc_a")
    check = client.post(
        "/api/patients/his/A-RENAL/events/bta/check",
        json={"event": DOSE_4MG},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert [(w["rule"], w["values"]["recommended_dose_mg"]) for w in check["warnings"]] == [
        ("BTA-09", 3.3)
    ]
    refused = client.post(
        "/api/patients/his/A-RENAL/events/bta",
        json={"event": DOSE_4MG},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "SAFETY_OVERRIDE_REQUIRED"
    assert [w["rule"] for w in refused.json()["warnings"]] == ["BTA-09"]
    record = store.get_record("his", "A-RENAL")
    assert record is not None and len(record.events.bta) == 4  # nothing saved
    saved = client.post(
        "/api/patients/his/A-RENAL/events/bta",
        json={"event": DOSE_4MG, "override_reason": "MDT decision 2026-11-01: full dose"},
        headers={"X-CSRF-Token": csrf},
    )
    assert saved.status_code == 201
    assert saved.json()["override_reason"] == "MDT decision 2026-11-01: full dose"
    row = audit_rows(store, action="event.bta.override")[0]
    assert row["username"] == "doc_a"
    assert row["detail"] == "override BTA-09: MDT decision 2026-11-01: full dose"


def test_a_nurse_cannot_override_the_safety_warning(client: TestClient) -> None:
    csrf = login(client, "nurse_a")
    response = client.post(
        "/api/patients/his/A-RENAL/events/bta",
        json={"event": DOSE_4MG, "override_reason": "I think it is fine"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 409


def test_cookie_writes_need_the_csrf_token(client: TestClient, store: Store) -> None:
    login(client, "doc_a")
    body = {"event": {"date": "2026-11-01", "result": "ok"}}
    missing = client.post("/api/patients/his/A-DUE/events/dental", json=body)
    wrong = client.post(
        "/api/patients/his/A-DUE/events/dental", json=body, headers={"X-CSRF-Token": "forged"}
    )
    assert (missing.status_code, wrong.status_code) == (403, 403)
    record = store.get_record("his", "A-DUE")
    assert record is not None and len(record.events.dental) == 1
    # a form post without the token is refused too (the page forms carry it)
    form = client.post("/patients/his/A-DUE/dental", data={"date": "2026-11-01", "result": "ok"})
    assert form.status_code == 403


def test_bearer_token_for_integrations_needs_no_csrf_and_keeps_tenancy(
    client: TestClient, store: Store
) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "his-bridge")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).json()["via"] == "token"
    written = client.post(
        "/api/patients/his/A-DUE/events/dental",
        json={"event": {"date": "2026-11-01", "result": "ok"}},
        headers=auth,
    )
    assert written.status_code == 201
    assert client.get("/api/patients/his/B-ONE", headers=auth).status_code == 404
    assert client.get("/api/me", headers={"Authorization": "Bearer bp_wrong"}).status_code == 401
    accounts.revoke_api_tokens(store.engine, "doc_a")
    assert client.get("/api/me", headers=auth).status_code == 401


def test_roles_without_a_permission_get_403(client: TestClient) -> None:
    csrf = login(client, "qm")
    response = client.post(
        "/api/patients/his/A-DUE/events/dental",
        json={"event": {"date": "2026-11-01", "result": "ok"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert client.get("/api/audit").status_code == 403


def test_unauthenticated_api_gets_401_and_pages_redirect_to_login(client: TestClient) -> None:
    api = client.get("/api/patients")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    page = client.get("/worklist", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/worklist"


def test_malformed_requests_are_refused_by_path(client: TestClient) -> None:
    csrf = login(client, "doc_a")
    response = client.post(
        "/api/patients/his/A-DUE/events/labs", json={"evnt": {}}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/body/event"
    forbidden = client.get("/admin/audit", headers={"Accept": "text/html"})
    assert forbidden.status_code == 403 and "您无权执行此操作。" in forbidden.text
