"""The app on a seeded store (SQLite file and PostgreSQL schema), driven through HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store

from .support import AS_OF, seed


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        seed(opened)
        yield opened


@pytest.fixture
def client(store: Store, db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
