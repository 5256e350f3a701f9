"""Users logging in at the same moment, over real HTTP on a served app: every one gets an
answer, none a server error. On SQLite a login reads (throttling, the password hash) and then
writes (the attempt, the session, the audit row); a transaction begun deferred could not
upgrade its read lock while another login wrote, and failed at once with "database is
locked" whatever the busy timeout (2 simultaneous logins: one 500; 20: nineteen)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store.repository import Store

from .serving import serve
from .support import AS_OF, PASSWORD, USERS

LOGINS = 20


def _log_in(base: str, username: str, start: threading.Barrier) -> int:
    with httpx.Client(base_url=base, timeout=120) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        start.wait()  # every login is posted at the same moment
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        return response.status_code


def test_simultaneous_logins_all_succeed(store: Store, db_url: str) -> None:
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    names = [list(USERS)[n % len(USERS)] for n in range(LOGINS)]
    start = threading.Barrier(LOGINS)
    with serve(app) as base, ThreadPoolExecutor(LOGINS) as pool:
        statuses = list(pool.map(lambda name: _log_in(base, name, start), names))
    assert statuses == [303] * LOGINS
