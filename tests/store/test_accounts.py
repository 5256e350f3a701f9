"""Accounts in the store: grants, tokens, refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

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
