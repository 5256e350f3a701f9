"""Attendance names accounts (issue 16 loose end 3): the meeting form offers the hospital's
accounts per specialty (a guest is still a typed name), an account of another hospital is
refused, and "my cases" follows the account, never a typed name."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bonepath.api import mdt_service as svc
from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.accounts import Role
from bonepath.store.repository import Store, open_store

from .support import REFERRAL_DAY, SUSPECTED, principal, record

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'att.sqlite3'}") as opened:
        opened.upsert_records([record(SUSPECTED)], import_source="tests")
        for name, role, hospitals in (
            ("coord", "mdt_coordinator", ["H1"]),
            ("onc1", "clinician", ["H1"]),
            ("rad9", "clinician", ["H1"]),
            ("far", "clinician", ["H2"]),
        ):
            accounts.create_user(opened.engine, name, PASSWORD, role, hospitals)
        yield opened


def test_attendance_by_account_and_my_cases_by_account(store: Store, tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'att.sqlite3'}"),
        today=lambda: REFERRAL_DAY,
        store=store,
    )
    coord = {"Authorization": f"Bearer {accounts.create_api_token(store.engine, 'coord', 't')}"}
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get("/mdt/calendar", headers=coord).text
        select = re.search(r'<select name="user_oncology".*?</select>', page, re.S)
        assert select is not None
        assert re.findall(r'<option value="(\w+)"', select.group(0)) == ["coord", "onc1", "rad9"]
        form = {
            "host_id": "H1",
            "date": (REFERRAL_DAY + dt.timedelta(days=3)).isoformat(),
            "specialty": ["oncology", "radiology", "nuclear_medicine"],
            "user_oncology": "onc1",
            "name_radiology": "rad9",  # typed: a guest of that name, not the account
            "user_nuclear_medicine": "far",  # an account of another hospital
        }
        refused = client.post("/mdt/meetings", data=form, headers=coord, follow_redirects=False)
        assert refused.status_code == 422 and "所选账号不属于召开会议的医院" in refused.text
        form["user_nuclear_medicine"] = ""
        made = client.post("/mdt/meetings", data=form, headers=coord, follow_redirects=False)
        assert made.status_code == 303
    meeting_id = int(made.headers["location"].rsplit("/", 1)[1])
    meeting = svc.agenda(store, principal(), meeting_id).meeting
    assert [(a.specialty.value, a.name, a.username) for a in meeting.attendance] == [
        ("oncology", "onc1", "onc1"),
        ("radiology", "rad9", None),
        ("nuclear_medicine", "", None),
    ]
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    svc.schedule(store, principal(), case.id, meeting_id, today=REFERRAL_DAY)
    onc1 = principal(Role.CLINICIAN, "onc1", ("H1",), 2)
    rad9 = principal(Role.CLINICIAN, "rad9", ("H1",), 3)
    assert [c.id for c, _ in svc.my_cases(store, onc1, today=REFERRAL_DAY)] == [case.id]
    assert svc.my_cases(store, rad9, today=REFERRAL_DAY) == []
