"""Accounts in the store: grants, tokens, refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from bonepath.errors import InputError, NotFound
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal, Role
from bonepath.store.repository import open_store


def test_grants_decide_what_a_principal_sees() -> None:
    ward = Principal(1, "w", Role.NURSE, frozenset({"H01"}))
    region = Principal(2, "r", Role.QUALITY_MANAGER, frozenset({"*"}))
    assert ward.sees("H01") and not ward.sees("H02")
    assert not ward.sees(None)  # a patient without a hospital: only regional grants
    assert region.sees("H99") and region.sees(None)
    assert ward.hospital_filter() == ("H01",) and region.hospital_filter() is None
    assert not ward.can(Permission.OVERRIDE_SAFETY)
    assert Principal(3, "c", Role.CLINICIAN, frozenset({"H01"})).can(Permission.OVERRIDE_SAFETY)


def test_users_tokens_and_refusals(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "zhang", "a long password", "clinician", ["H02", "H01"])
        with pytest.raises(InputError, match="taken"):
            accounts.create_user(engine, "zhang", "a long password", "nurse", ["H01"])
        with pytest.raises(InputError, match="at least one hospital"):
            accounts.create_user(engine, "li", "a long password", "nurse", [" "])
        with pytest.raises(InputError, match="unknown role"):
            accounts.create_user(engine, "li", "a long password", "surgeon", ["H01"])
        [user] = accounts.list_users(engine)
        assert (user.username, user.role, user.hospitals) == (
            "zhang",
            Role.CLINICIAN,
            ("H01", "H02"),
        )
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        expired = accounts.create_api_token(engine, "zhang", "old", expires_at=past)
        assert accounts.principal_for_token(engine, expired) is None
        live = accounts.create_api_token(engine, "zhang", "his")
        principal = accounts.principal_for_token(engine, live)
        assert principal is not None and principal.via == "token"
        with pytest.raises(NotFound):
            accounts.create_api_token(engine, "nobody", "x")
        accounts.set_password(engine, "zhang", "another long one")
        assert accounts.authenticate(engine, "zhang", "a long password", "c") is None
        assert accounts.authenticate(engine, "zhang", "another long one", "c") is not None


# ---- JWT ids (CDS Hooks replay protection) -----------------------------------------------------


def test_a_jwt_id_is_accepted_once_until_it_expires(db_url: str) -> None:
    from bonepath.store.accounts import first_use_of_jwt, jwt_ids

    at = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    with open_store(db_url) as store:
        engine = store.engine
        until = at + dt.timedelta(minutes=5)
        assert first_use_of_jwt(engine, "https://ehr.example", "a", until, now=at)
        assert not first_use_of_jwt(engine, "https://ehr.example", "a", until, now=at)
        # the same jti of another issuer is another token
        assert first_use_of_jwt(engine, "https://other.example", "a", until, now=at)
        # once expired, ids are forgotten on the next use (the JWT's exp refuses it by then)
        later = until + dt.timedelta(seconds=1)
        assert first_use_of_jwt(engine, "https://ehr.example", "b", later, now=later)
        with engine.connect() as conn:
            left = conn.execute(select(jwt_ids.c.iss, jwt_ids.c.jti)).all()
        assert sorted(left) == [("https://ehr.example", "b")]


# ---- the audit log is append-only (issue 13, item 6) ------------------------------------------


def _one_audit_row(engine: Engine) -> int:
    accounts.audit(engine, None, "login", client="10.0.0.1", username="zhang", outcome="failed")
    [entry] = accounts.read_audit(engine)
    return entry.id


def test_audit_log_refuses_truncate_on_postgresql_and_replace_on_sqlite(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        row_id = _one_audit_row(engine)
        bypasses = ["UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"]
        if engine.dialect.name == "postgresql":
            bypasses += [
                "TRUNCATE audit_log",
                "INSERT INTO audit_log (id, at, action, outcome) VALUES "
                f"({row_id}, now(), 'x', 'ok') ON CONFLICT (id) DO UPDATE SET outcome = 'ok'",
            ]
        else:
            bypasses += [
                "INSERT OR REPLACE INTO audit_log (id, at, action, outcome) VALUES "
                f"({row_id}, '2026-01-01', 'x', 'ok')",
                f"REPLACE INTO audit_log (id, at, action, outcome) VALUES "
                f"({row_id}, '2026-01-01', 'x', 'ok')",
                "INSERT INTO audit_log (id, at, action, outcome) VALUES "
                f"({row_id}, '2026-01-01', 'x', 'ok') ON CONFLICT (id) DO UPDATE SET outcome = 'ok'",
            ]
        for statement in bypasses:
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        [entry] = accounts.read_audit(engine)
        assert (entry.id, entry.action, entry.outcome) == (row_id, "login", "failed")
        accounts.audit(engine, None, "logout", client=None, username="zhang")  # appending works
        assert len(accounts.read_audit(engine)) == 2


# ---- API tokens (item 8) ----------------------------------------------------------------------


def test_password_change_and_disable_revoke_tokens_for_good(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "zhang", "a long password", "clinician", ["H01"])
        before = accounts.create_api_token(engine, "zhang", "his")
        accounts.set_password(engine, "zhang", "another long one")
        assert accounts.principal_for_token(engine, before) is None
        after = accounts.create_api_token(engine, "zhang", "his, again")
        accounts.set_active(engine, "zhang", False)
        accounts.set_active(engine, "zhang", True)
        assert accounts.principal_for_token(engine, after) is None  # enable revives nothing
        fresh = accounts.create_api_token(engine, "zhang", "new")
        assert accounts.principal_for_token(engine, fresh) is not None
        states = [t.state(dt.datetime.now(dt.UTC)) for t in accounts.list_api_tokens(engine)]
        assert states == ["revoked", "revoked", "active"]


def test_tokens_are_listed_with_last_use_and_revoked_one_or_all(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "zhang", "a long password", "clinician", ["H01"])
        accounts.create_user(engine, "li", "a long password", "nurse", ["H01"])
        first = accounts.create_api_token(engine, "zhang", "his")
        second = accounts.create_api_token(engine, "zhang", "lis")
        hers = accounts.create_api_token(engine, "li", "hers")
        assert accounts.principal_for_token(engine, first) is not None
        listed = accounts.list_api_tokens(engine, "zhang")
        assert [(t.name, t.last_used_at is not None) for t in listed] == [
            ("his", True),
            ("lis", False),
        ]
        assert all(t.created_at <= dt.datetime.now(dt.UTC) for t in listed)
        with pytest.raises(NotFound):
            accounts.revoke_api_tokens(
                engine, "zhang", accounts.list_api_tokens(engine, "li")[0].id
            )
        assert accounts.revoke_api_tokens(engine, "zhang", listed[1].id) == 1
        assert accounts.principal_for_token(engine, second) is None
        assert accounts.principal_for_token(engine, first) is not None
        assert accounts.revoke_api_tokens(engine, "zhang") == 1
        assert accounts.principal_for_token(engine, first) is None
        assert accounts.principal_for_token(engine, hers) is not None  # another user's: kept
        with pytest.raises(NotFound):
            accounts.revoke_api_tokens(engine, "nobody")


# ---- login throttling (item 9) ----------------------------------------------------------------

WARD = "10.1.1.1"


def _ward(engine: Engine, count: int) -> list[str]:
    names = [f"nurse{i}" for i in range(count)]
    for name in names:
        accounts.create_user(engine, name, "a long password", "nurse", ["H01"])
    return names


def test_one_persons_typos_lock_only_their_name_not_the_ward(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        first, other = _ward(engine, 2)
        for _ in range(accounts.ACCOUNT_MAX_FAILURES):
            assert accounts.authenticate(engine, first, "a typo!!!!!", WARD) is None
        with pytest.raises(accounts.Throttled):
            accounts.authenticate(engine, first, "a long password", WARD)
        assert accounts.authenticate(engine, other, "a long password", WARD) is not None
        [lock] = accounts.list_login_locks(engine)
        assert (lock.scope, lock.key, lock.failures) == ("account", first, 5)
        # an admin lifts it; the owner logs in at once
        assert accounts.lift_login_lock(engine, "account", first)
        assert accounts.authenticate(engine, first, "a long password", WARD) is not None
        assert accounts.list_login_locks(engine) == []
        with pytest.raises(InputError, match="unknown lock scope"):
            accounts.lift_login_lock(engine, "room", WARD)


def test_spraying_from_one_address_is_bounded_and_a_success_does_not_reset_it(
    db_url: str,
) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        [own] = _ward(engine, 1)
        tried = 0
        with pytest.raises(accounts.Throttled, match="address"):
            for round_ in range(accounts.ADDRESS_MAX_FAILURES):
                # one wrong password for each of many names, the sprayer's own login between
                for i in range(3):
                    accounts.authenticate(engine, f"victim{round_}_{i}", "Winter2026!", WARD)
                    tried += 1
                assert accounts.authenticate(engine, own, "a long password", WARD) is not None
        assert tried == accounts.ADDRESS_MAX_FAILURES
        assert [lock.scope for lock in accounts.list_login_locks(engine)] == ["address"]
        # another address is not concerned
        assert accounts.authenticate(engine, own, "a long password", "10.9.9.9") is not None


def test_concurrent_wrong_passwords_check_at_most_the_limit(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = 0
    lock = threading.Lock()
    real = accounts._check_password

    def counting(password_hash: str, password: str) -> bool:
        nonlocal checked
        with lock:
            checked += 1
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "_check_password", counting)
    with open_store(db_url) as store:
        engine = store.engine
        [victim] = _ward(engine, 1)
        start = threading.Barrier(20)
        outcomes: list[str] = []

        def guess(n: int) -> None:
            start.wait()
            try:
                found = accounts.authenticate(engine, victim, f"guess {n:04d}!", f"10.2.0.{n}")
                outcomes.append("wrong" if found is None else "in")
            except accounts.Throttled:
                outcomes.append("throttled")

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(outcomes) == 40
        assert checked == accounts.ACCOUNT_MAX_FAILURES
        assert outcomes.count("wrong") == accounts.ACCOUNT_MAX_FAILURES
        assert outcomes.count("throttled") == 40 - accounts.ACCOUNT_MAX_FAILURES


# ---- audit tenancy (item 7) -------------------------------------------------------------------


def test_a_hospital_admin_reads_only_their_hospitals_audit(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "nurse1", "a long password", "nurse", ["H01"])
        accounts.create_user(engine, "nurse2", "a long password", "nurse", ["H02"])
        n1 = Principal(1, "nurse1", Role.NURSE, frozenset({"H01"}))
        n2 = Principal(2, "nurse2", Role.NURSE, frozenset({"H02"}))
        accounts.audit(
            engine, n1, "patient.read", client=None, patient=("his", "P1"), hospital="H01"
        )
        accounts.audit(
            engine, n2, "patient.read", client=None, patient=("his", "P2"), hospital="H02"
        )
        accounts.audit(engine, n2, "patient.list", client=None)
        # nurse1 asked for H02's patient: denied; the row names the hospital asked into
        accounts.audit(
            engine,
            n1,
            "patient.read",
            client=None,
            patient=("his", "P2"),
            hospital="H02",
            outcome="denied",
        )
        admin1 = Principal(9, "admin1", Role.ADMIN, frozenset({"H01"}))
        admin2 = Principal(10, "admin2", Role.ADMIN, frozenset({"H02"}))
        region = Principal(11, "region", Role.ADMIN, frozenset({"*"}))

        def seen(viewer: Principal) -> list[tuple[str | None, str | None, str | None, str]]:
            return [
                (e.username, e.patient_id, e.hospital_id, e.outcome)
                for e in accounts.read_audit(engine, viewer=viewer)
            ]

        assert seen(admin1) == [
            ("nurse1", "P2", None, "denied"),  # their user's attempt; where P2 lives is hidden
            ("nurse1", "P1", "H01", "ok"),
        ]
        assert seen(admin2) == [
            ("nurse1", "P2", "H02", "denied"),  # an attempt on their patient
            ("nurse2", None, None, "ok"),
            ("nurse2", "P2", "H02", "ok"),
        ]
        assert len(seen(region)) == 4
