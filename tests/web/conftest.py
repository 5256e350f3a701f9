"""The app on a seeded SQLite store, for page tests (HTTP) and browser tests (chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.support import AS_OF, seed
from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'web.sqlite3'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with open_store(sqlite_url) as opened:
        seed(opened, synthetic=20)
        yield opened


@pytest.fixture
def client(store: Store, sqlite_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=sqlite_url), today=lambda: AS_OF, store=store)
    with TestClient(app) as test_client:
        yield test_client
