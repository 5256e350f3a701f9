"""A real SMTP server in process (aiosmtpd) that journals what it receives, and stores holding
the hand-built registry of tests/population/support.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bonepath.store.repository import Store
from reminders.support import SmtpServer, registry_store, running_smtp_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 accepting everything (UTF-8 too), journaling each message."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The small registry in a store on each database (closed afterwards)."""
    with registry_store(db_url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Iterator[Store]:
    """The small registry on SQLite only (behaviour that does not depend on the database)."""
    with registry_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened
