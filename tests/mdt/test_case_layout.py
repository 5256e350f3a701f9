"""Walk of ``bonepath demo`` (2026-12): on the MDT case page the imaging table's 结果 column
wrapped one character a line (结/果) and the decision checkboxes sat tight against the previous
label. The styles that prevent it are served and the page uses them."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from bonepath.api import mdt_service
from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.accounts import Principal, Role
from bonepath.store.repository import open_store

from .support import REFERRAL_DAY, SUSPECTED, record


def test_case_page_result_column_and_decision_checkboxes_have_room(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'layout.sqlite3'}"
    with open_store(url) as store:
        store.upsert_records([record(SUSPECTED)], import_source="tests")
        accounts.create_user(
            store.engine, "coord", "correct horse battery", "mdt_coordinator", ["H1"]
        )
        who = Principal(1, "coord", Role.MDT_COORDINATOR, frozenset({"H1"}))
        case = mdt_service.create_case(store, who, "test", "MDT-SUSP", today=REFERRAL_DAY)
        app = create_app(Settings(database_url=url), today=lambda: REFERRAL_DAY, store=store)
        token = accounts.create_api_token(store.engine, "coord", "t")
        with TestClient(app) as client:
            page = client.get(f"/mdt/cases/{case.id}", headers={"Authorization": f"Bearer {token}"})
            assert page.status_code == 200
            imaging = re.search(
                r'<table class="compact" id="imaging">(.*?)</table>', page.text, re.S
            )
            assert imaging is not None
            assert "<th>结果</th>" in imaging.group(1)
            assert re.search(r'<td class="nowrap">(可疑|阳性)</td>', imaging.group(1))
            css = client.get("/static/app.css").text
    assert (
        ".summary table.compact th, .summary table.compact td.nowrap { white-space: nowrap; }"
        in css
    )
    assert re.search(r"\.decision-form fieldset \{[^}]*gap: \.4rem 1\.2rem", css)
