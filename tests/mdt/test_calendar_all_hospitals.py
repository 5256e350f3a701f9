"""Walk of ``bonepath demo`` (2026-12): an MDT coordinator granted every hospital (``*``)
found no hospital to plan a meeting for on the calendar (the grant's list minus ``*`` is empty)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.hospitals import save_hospital
from bonepath.store.repository import Store, open_store

from .support import REFERRAL_DAY, SUSPECTED, record

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'cal.sqlite3'}") as opened:
        opened.upsert_records([record(SUSPECTED)], import_source="tests")  # a patient of H1
        save_hospital(opened.engine, "H2", "乙县人民医院", city_tier="tier3-4")
        accounts.create_user(opened.engine, "coordall", PASSWORD, "mdt_coordinator", ["*"])
        yield opened


def test_an_all_hospitals_coordinator_plans_a_meeting_for_a_known_hospital(
    store: Store, tmp_path: Path
) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'cal.sqlite3'}"),
        today=lambda: REFERRAL_DAY,
        store=store,
    )
    auth = {"Authorization": f"Bearer {accounts.create_api_token(store.engine, 'coordall', 't')}"}
    with TestClient(app) as client:
        page = client.get("/mdt/calendar", headers=auth)
        assert page.status_code == 200
        select = re.search(r'<select name="host_id">(.*?)</select>', page.text, re.S)
        assert select is not None
        hosts = re.findall(r'<option value="([^"]+)"', select.group(1))
        # the registered hospital and the one named by the stored patient, never "*"
        assert "H1" in hosts and "H2" in hosts and "*" not in hosts
        planned = client.post(
            "/mdt/meetings",
            data={"host_id": "H2", "title": "骨转移MDT", "date": "2026-10-28"},
            headers=auth,
            follow_redirects=False,
        )
        assert planned.status_code == 303, planned.text
        assert re.fullmatch(r"/mdt/meetings/\d+", planned.headers["location"])
