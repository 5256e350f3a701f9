"""The MDT over HTTP: English complete, tenancy (404) and roles (403), the JSON API's refusal
that writes nothing, typed text shown as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store, open_store

from .support import REFERRAL_DAY, SUSPECTED, record

PASSWORD = "correct horse battery"
USERS = {
    "coord": ("mdt_coordinator", ["H1"]),
    "nurse1": ("nurse", ["H1"]),
    "coord2": ("mdt_coordinator", ["H2"]),
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'pages.sqlite3'}") as opened:
        opened.upsert_records([record(SUSPECTED)], import_source="tests")
        for name, (role, hospitals) in USERS.items():
            accounts.create_user(opened.engine, name, PASSWORD, role, hospitals)
        yield opened


@pytest.fixture
def app(store: Store, tmp_path: Path) -> object:
    url = f"sqlite:///{tmp_path / 'pages.sqlite3'}"
    return create_app(Settings(database_url=url), today=lambda: REFERRAL_DAY, store=store)


def _bearer(store: Store, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 'test')}"}


def _login(client: TestClient, user: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/login", data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/mdt").text)
    assert csrf is not None
    return csrf.group(1)


def test_the_api_refuses_a_future_confirmation_and_writes_nothing(
    app: object, store: Store
) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    coord = _bearer(store, "coord")
    made = client.post(
        "/api/mdt/cases", json={"source": "test", "patient": "MDT-SUSP"}, headers=coord
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    meeting = client.post(
        "/api/mdt/meetings",
        json={
            "host_id": "H1",
            "date": REFERRAL_DAY.isoformat(),
            "submission_deadline": REFERRAL_DAY.isoformat(),
            "planned": [{"specialty": s} for s in ("radiology", "nuclear_medicine", "oncology")],
        },
        headers=coord,
    ).json()
    assert (
        client.post(
            f"/api/mdt/cases/{case_id}/schedule",
            json={"meeting_id": meeting["meeting"]["id"]},
            headers=coord,
        ).status_code
        == 200
    )
    agenda = client.post(
        f"/api/mdt/meetings/{meeting['meeting']['id']}/attendance",
        json={"attended": meeting["meeting"]["attendance"]},
        headers=coord,
    )
    assert agenda.json()["cases"][0]["quorum"]["met"] is True
    before = store.get_record("test", "MDT-SUSP")
    refused = client.post(
        f"/api/mdt/cases/{case_id}/decision",
        json={
            "decisions": [{"type": "bm_confirmed", "confirmed_date": "2026-12-31"}],
            "rationale": "确诊",
        },
        headers=coord,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "/bone_metastasis/confirmed_date"
    assert store.get_record("test", "MDT-SUSP") == before
    detail = client.get(f"/api/mdt/cases/{case_id}", headers=coord).json()
    assert detail["state"] == "discussed" and detail["tasks"] == []
    # the nurse may not decide (403); another hospital's coordinator gets 404
    nurse = _bearer(store, "nurse1")
    assert (
        client.post(
            f"/api/mdt/cases/{case_id}/decision",
            json={"decisions": ["bm_confirmed"], "rationale": "x"},
            headers=nurse,
        ).status_code
        == 403
    )
    other = _bearer(store, "coord2")
    assert client.get(f"/api/mdt/cases/{case_id}", headers=other).status_code == 404
    assert (
        client.post(
            f"/api/mdt/cases/{case_id}/withdraw", json={"reason": "x"}, headers=other
        ).status_code
        == 404
    )
    assert client.get("/api/mdt/cases", headers=other).json() == {"cases": []}
    decided = client.post(
        f"/api/mdt/cases/{case_id}/decision",
        json={"decisions": [{"type": "bm_confirmed"}], "rationale": "确诊"},
        headers=coord,
    ).json()
    assert decided["state"] == "decided"
    assert {t["owner_role"] for t in decided["tasks"]} == {"clinician", "nurse"}


def test_pages_in_english_and_typed_text_stays_text(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    csrf = _login(client, "coord")
    made = client.post(
        "/mdt/cases/new",
        data={
            "csrf_token": csrf,
            "source": "test",
            "patient": "MDT-SUSP",
            "question": "diagnosis",
            "question_text": "<script>alert(1)</script>",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    case_url = made.headers["location"].split("?")[0]
    page = client.get(case_url).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "待安排" in page and "病例摘要" in page
    client.get("/lang/en")
    page = client.get(case_url).text
    assert "MDT case #" in page and "Proposed" in page and "Case summary" in page
    assert "待安排" not in page and "病例摘要" not in page
    board = client.get("/mdt").text
    assert "MDT case board" in board and "Scheduled" in board
    # a refused form says what to change in the page's language, nothing saved
    refused = client.post(f"{case_url}/withdraw", data={"csrf_token": csrf, "reason": " "})
    assert refused.status_code == 422
    assert "MDT_REASON_REQUIRED" in refused.text and "say why in the reason field" in refused.text
    # another hospital's coordinator: the case page does not exist for them
    other = TestClient(app)  # type: ignore[arg-type]
    _login(other, "coord2")
    assert other.get(case_url).status_code == 404
