"""The MDT case page names the summary's missing score inputs in words (browser walk, 2026-12):
the Tokuhashi line read ``缺少: visceral_metastasis`` (a record key) before."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import open_store

from .support import REFERRAL_DAY, UNSTABLE, record

PASSWORD = "correct horse battery"


def test_missing_tokuhashi_inputs_read_in_words_in_both_languages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'words.sqlite3'}"
    with open_store(url) as store:
        store.upsert_records([record(UNSTABLE)], import_source="tests")
        accounts.create_user(store.engine, "coord", PASSWORD, "mdt_coordinator", ["H1"])
        app = create_app(Settings(database_url=url), today=lambda: REFERRAL_DAY, store=store)
        client = TestClient(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post(
            "/login",
            data={"username": "coord", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/mdt").text)
        assert csrf is not None
        made = client.post(
            "/mdt/cases/new",
            data={
                "csrf_token": csrf.group(1),
                "source": "test",
                "patient": "MDT-SPINE",
                "question": "surgery_intervention",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        case_url = made.headers["location"].split("?")[0]
        line = re.search(r'<p id="tokuhashi">(.*?)</p>', client.get(case_url).text)
        assert line is not None
        assert "内脏转移" in line.group(1) and "KPS评分" in line.group(1)
        assert "visceral_metastasis" not in line.group(1) and "kps" not in line.group(1)
        client.get("/lang/en")
        line = re.search(r'<p id="tokuhashi">(.*?)</p>', client.get(case_url).text)
        assert line is not None and "visceral metastases" in line.group(1)
