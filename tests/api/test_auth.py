"""Login, sessions and throttling: argon2 hashes, cookie flags, expiry, lockout, logout."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bonepath.store import accounts
from bonepath.store.accounts import users, web_sessions
from bonepath.store.repository import Store

from .support import PASSWORD, login


def _login_form(client: TestClient, username: str, password: str) -> int:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    ).status_code


def test_passwords_are_stored_as_argon2id_hashes(store: Store) -> None:
    with store.engine.connect() as conn:
        hashes = conn.execute(select(users.c.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def test_session_cookie_is_httponly_samesite_strict_with_expiry(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": "doc_a", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie  # 8 hours


def test_login_without_the_form_token_is_refused(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "doc_a", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_five_failed_logins_lock_the_name_for_fifteen_minutes(
    client: TestClient, store: Store
) -> None:
    for _ in range(5):
        assert _login_form(client, "doc_a", "wrong password") == 401
    # the right password is no longer even checked
    assert _login_form(client, "doc_a", PASSWORD) == 429
    failed = [(e.action, e.outcome) for e in accounts.read_audit(store.engine, username="doc_a")]
    assert failed[0] == ("login", "throttled")
    assert failed.count(("login", "failed")) == 5


def test_expired_and_idle_sessions_end(client: TestClient, store: Store) -> None:
    login(client, "doc_a")
    assert client.get("/api/me").status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    with store.engine.begin() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=past))
    assert client.get("/api/me").status_code == 401  # idle for more than 30 minutes
    login(client, "doc_a")
    with store.engine.begin() as conn:
        conn.execute(update(web_sessions).values(expires_at=past))
    assert client.get("/api/me").status_code == 401


def test_logout_ends_the_session_on_the_server(client: TestClient, store: Store) -> None:
    csrf = login(client, "doc_a")
    cookie = client.cookies.get("bonepath_session")
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("bonepath_session", cookie or "")
    assert client.get("/api/me").status_code == 401


def test_disabled_user_loses_access(client: TestClient, store: Store) -> None:
    login(client, "doc_a")
    accounts.set_active(store.engine, "doc_a", False)
    assert client.get("/api/me").status_code == 401
    assert _login_form(client, "doc_a", PASSWORD) == 401


def test_pages_send_security_headers_and_no_outside_assets(client: TestClient) -> None:
    login(client, "doc_a")
    page = client.get("/worklist")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page.text
    assert client.get("/static/app.css").status_code == 200


def test_login_redirect_only_goes_to_this_site(client: TestClient) -> None:
    page = client.get("/login", params={"next": "//evil.example/x"})
    assert 'name="next" value="/worklist"' in page.text
