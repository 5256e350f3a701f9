"""A write that still waits for SQLite's one writer after the busy timeout is answered 503
STORE_BUSY with Retry-After (busy, not broken), never a bare 500 (issue 13 item 2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import db
from bonepath.store.repository import open_store

from .support import AS_OF, login, seed


def test_a_write_held_up_past_the_busy_timeout_is_503_store_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.sqlite3"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        seed(store)
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        with TestClient(app, base_url="http://testserver") as client:
            csrf = login(client, "doc_a")
            other = sqlite3.connect(path, isolation_level=None)  # another process's import
            other.execute("BEGIN IMMEDIATE")
            try:
                answer = client.post(
                    "/api/patients/his/A-DUE/events/labs",
                    json={"event": {"date": "2026-11-01", "test": "creatinine", "value": 1.0, "unit": "mg/dL"}},
                    headers={"X-CSRF-Token": csrf},
                )
            finally:
                other.execute("ROLLBACK")
                other.close()
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "5"
            assert answer.json()["errors"][0]["code"] == "STORE_BUSY"
            # once the other writer is done, the same write goes through
            again = client.post(
                "/api/patients/his/A-DUE/events/labs",
                json={"event": {"date": "2026-11-01", "test": "creatinine", "value": 1.0, "unit": "mg/dL"}},
                headers={"X-CSRF-Token": csrf},
            )
            assert again.status_code == 201, again.text
