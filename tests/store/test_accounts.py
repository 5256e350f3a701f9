"""Accounts in the store: grants, tokens, refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

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
