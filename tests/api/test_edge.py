"""Edge validation (issue 13 item 10): numbers and strings the store cannot hold, and control
characters in a path or query, are 422 with the usual body, never a 500 or a "store
unavailable" 503 (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bonepath.store import accounts
from bonepath.store.accounts import audit_log
from bonepath.store.repository import Store

from .support import login

BIG: str = str(2**63)
LONG_ID: str = "x" * 65


def _bearer(store: Store, user: str = "doc_a") -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 'edge')}"}


@pytest.mark.parametrize(
    ("user", "target", "where"),
    [
        ("doc_a", f"/api/patients?offset={BIG}", "/query/offset"),
        ("doc_a", f"/api/tasks?offset={BIG}", "/query/offset"),
        ("admin", f"/api/audit?before_id={BIG}", "/query/before_id"),
        ("admin", "/api/audit?before_id=2147483648", "/query/before_id"),
        ("doc_a", f"/api/patients/his/{LONG_ID}", "/path/patient_id"),
        ("doc_a", f"/api/patients/{LONG_ID}/A-DUE/findings", "/path/source"),
        ("doc_a", "/api/tasks?rule=" + "R" * 17, "/query/rule/0"),
        ("doc_a", "/api/worklist?hospital=" + "H" * 65, "/query/hospital/0"),
        ("doc_a", "/api/tasks?rule=%00", "/query/rule"),
        ("doc_a", "/api/worklist?physician=a%0Ab", "/query/physician"),
        ("doc_a", "/api/patients/his/A-%00DUE", "/path"),
    ],
)
def test_values_the_store_cannot_hold_are_refused_at_the_edge(
    client: TestClient, store: Store, user: str, target: str, where: str
) -> None:
    response = client.get(target, headers=_bearer(store, user))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == [where]
    assert errors[0]["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("task_id", ["2147483648", "99999999999999999999", "0"])
def test_task_ids_beyond_the_column_are_refused(
    client: TestClient, store: Store, task_id: str
) -> None:
    response = client.post(
        f"/api/tasks/{task_id}/close", json={"reason": "cost"}, headers=_bearer(store)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/path/task_id"


def test_a_refused_id_writes_no_audit_row(client: TestClient, store: Store) -> None:
    """The 65-character id of issue 13 failed when its denial was audited (String(64))."""
    headers = _bearer(store)
    with store.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert client.get(f"/api/patients/his/{LONG_ID}", headers=headers).status_code == 422
    with store.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert after == before


@pytest.mark.parametrize(
    "target",
    [
        f"/patients?offset={BIG}",
        f"/worklist?offset={BIG}",
        "/worklist?rule=%00",
        f"/patients/his/{LONG_ID}",
        f"/admin/audit?before_id={BIG}",
    ],
)
def test_pages_refuse_the_same_values_with_the_error_page(client: TestClient, target: str) -> None:
    login(client, "admin")
    response = client.get(target, headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
