"""Patient ids through the routes (issue 13 item 12): an id holding ``/`` (HIS numbering,
``2024/00123``) is imported, opened and written through the API and the web pages, and its
worklist link leads to it; an import never tells that an id lives in another hospital; a FHIR
id costs a bounded number of lookups whatever it holds (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from bonepath.store import accounts
from bonepath.store.repository import Store

from .support import AS_OF, due_patient, login

SLASHED = "2024/00123"


def _bearer(store: Store, user: str = "doc_a") -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 'ids')}"}


def _import(client: TestClient, headers: dict[str, str], *records: dict[str, Any]) -> Any:
    body = b"\n".join(orjson.dumps(r) for r in records)
    response = client.post(
        "/api/imports",
        files={"file": ("batch.ndjson", body, "application/x-ndjson")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_id_with_a_slash_opens_through_the_api(client: TestClient, store: Store) -> None:
    headers = _bearer(store)
    assert _import(client, headers, due_patient(SLASHED))["imported"] == 1
    for path in ("/api/patients/his/2024/00123", "/api/patients/his/2024%2F00123"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["id"] == SLASHED
    findings = client.get("/api/patients/his/2024/00123/findings", headers=headers)
    assert findings.status_code == 200
    assert findings.json()["patient"] == SLASHED
    lab = {"date": "2026-11-01", "test": "calcium", "value": 2.3, "unit": "mmol/L"}
    written = client.post(
        "/api/patients/his/2024/00123/events/labs", json={"event": lab}, headers=headers
    )
    assert written.status_code == 201, written.text
    record = store.get_record("his", SLASHED)
    assert (
        record is not None and len(record.events.labs) == len(due_patient()["events"]["labs"]) + 1
    )


def test_an_id_with_a_slash_opens_through_the_pages_and_the_worklist_link(
    client: TestClient, store: Store
) -> None:
    store_headers = _bearer(store)
    _import(client, store_headers, due_patient(SLASHED))
    csrf = login(client, "doc_a")
    worklist = client.get("/worklist").text
    link = f"/patients/his/2024%2F00123?as_of={AS_OF.isoformat()}"
    assert f'href="{link}"' in worklist
    page = client.get(link)
    assert page.status_code == 200
    assert SLASHED in page.text
    # the patients list links the same way, and the page's forms post back to the patient
    assert 'href="/patients/his/2024%2F00123"' in client.get("/patients").text
    assert 'action="/patients/his/2024%2F00123/labs"' in page.text
    saved = client.post(
        "/patients/his/2024%2F00123/labs",
        data={
            "csrf_token": csrf,
            "date": "2026-11-01",
            "test": "calcium",
            "value": "2.3",
            "unit": "mmol/L",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/patients/his/2024%2F00123?saved=labs"
    assert client.get(saved.headers["location"]).status_code == 200


def test_an_import_does_not_reveal_an_id_of_another_hospital(
    client: TestClient, store: Store
) -> None:
    """B-ONE lives in HB: doc_a (HA) importing it for HA gets the very refusal of a record of a
    hospital not granted, which names neither HB nor that the id exists."""
    report = _import(client, _bearer(store), due_patient("B-ONE", "HA"), due_patient("C-NEW", "HC"))
    existing, foreign = (r["errors"] for r in report["refusals"])
    assert existing == foreign
    assert existing[0]["code"] == "HOSPITAL_NOT_GRANTED"
    assert "HB" not in orjson.dumps(existing).decode()
    record = store.get_record("his", "B-ONE")
    assert record is not None and record.hospital is not None and record.hospital.id == "HB"


class Lookups:
    """Counts the statements the store runs."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        self.store = store

    def __enter__(self) -> Lookups:
        event.listen(self.store.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.store.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def _lookups(client: TestClient, store: Store, headers: dict[str, str], path: str) -> int:
    with Lookups(store) as lookups:
        response = client.get(path, headers=headers)
    assert response.status_code in (200, 404, 422), response.text
    return lookups.count


@pytest.mark.parametrize("dots", [40, 8000])
def test_a_fhir_id_of_many_dots_costs_no_more_than_an_id_of_one(
    client: TestClient, store: Store, dots: int
) -> None:
    """Issue 13: 8,000 dots were 8,000 lookups (3.7 s). Now every split of an id is looked up
    in one query, and an id longer than a FHIR id is refused before any."""
    headers = _bearer(store)
    one = _lookups(client, store, headers, "/fhir/Patient/no.such")
    assert _lookups(client, store, headers, "/fhir/Patient/" + "." * dots) <= one
    assert _lookups(client, store, headers, "/fhir/Patient?_id=" + "a." * (dots // 2)) <= one + 1


def test_a_fhir_id_with_dots_still_finds_its_patient(client: TestClient, store: Store) -> None:
    headers = _bearer(store)
    _import(client, headers, {**due_patient("a.b.c"), "source": "x.y"})
    response = client.get("/fhir/Patient/x.y.a.b.c", headers=headers)
    assert response.status_code == 200
    assert response.json()["id"] == "x.y.a.b.c"
