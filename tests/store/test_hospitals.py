"""Hospitals known to the store and the audit row per list request (issue 15 item 7), on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from api.support import seed
from bonepath.errors import InputError
from bonepath.store import accounts, hospitals
from bonepath.store.accounts import Principal, Role
from bonepath.store.repository import open_store
from bonepath.vocab import CityTier, Department, HospitalType


def test_a_hospital_is_known_when_registered_or_named_by_a_patient(db_url: str) -> None:
    with open_store(db_url) as store:
        seed(store)  # patients of HA and HB
        assert hospitals.unknown_hospitals(store.engine, ["HA", "H99", "*", "HB"]) == ["H99"]
        with pytest.raises(hospitals.UnknownHospital, match="H99"):
            hospitals.require_known(store.engine, ["HA", "H99"])
        with pytest.raises(InputError, match="unknown hospital type"):
            hospitals.save_hospital(store.engine, "H99", "县人民医院", type="clinic")
        hospitals.save_hospital(
            store.engine,
            "H99",
            "县人民医院",
            city_tier="tier3-4",
            type="general",
            departments=["oncology", "thoracic_surgery"],
        )
        hospitals.require_known(store.engine, ["H99"])
        by_id = {h.id: h for h in hospitals.list_hospitals(store.engine)}
        assert by_id["H99"].departments == (Department.ONCOLOGY, Department.THORACIC_SURGERY)
        assert (by_id["H99"].city_tier, by_id["H99"].type) == (
            CityTier.TIER3_4,
            HospitalType.GENERAL,
        )
        assert by_id["H99"].registered and by_id["H99"].patients == 0
        assert not by_id["HA"].registered and by_id["HA"].patients > 0
        assert [h.id for h in hospitals.list_hospitals(store.engine, ["H99"])] == ["H99"]
        hospitals.save_hospital(store.engine, "H99", "县第一人民医院")  # renamed in place
        assert hospitals.hospital_names(store.engine)["H99"] == "县第一人民医院"


def test_a_list_request_is_one_audit_row_naming_its_patients(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "nurse1", "a long password", "nurse", ["H01", "H02"])
        nurse = Principal(1, "nurse1", Role.NURSE, frozenset({"H01", "H02"}))
        shown = [("his", f"P{i}", "H01") for i in range(150)] + [("his", "Q_1%", "H02")]
        accounts.audit_many(engine, nurse, "worklist.read", shown, client="10.0.0.7")
        [row] = accounts.read_audit(engine)
        assert (row.action, row.hospital_id, row.patient_id) == ("worklist.read", None, None)
        assert row.patients == tuple(shown) and row.detail is None
        assert [e.id for e in accounts.read_audit(engine, patient_id="P7")] == [row.id]
        assert accounts.read_audit(engine, patient_id="P") == []  # whole ids only
        assert accounts.read_audit(engine, patient_id="Q_1%")[0].id == row.id
        assert accounts.read_audit(engine, patient_id="Q01%") == []  # _ and % are literal
        # an admin of H01 sees the row, without the H02 patient
        h01 = Principal(9, "admin1", Role.ADMIN, frozenset({"H01"}))
        [seen] = accounts.read_audit(engine, viewer=h01)
        assert len(seen.patients) == 150 and all(h == "H01" for _s, _i, h in seen.patients)
        # filters: action prefix, outcome, time window
        assert accounts.read_audit(engine, action="worklist.") != []
        assert accounts.read_audit(engine, outcome="denied") == []
        later = row.at + dt.timedelta(seconds=1)
        assert accounts.read_audit(engine, since=later) == []
        assert accounts.read_audit(engine, until=later)[0].id == row.id


def test_roles_and_grants_change(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        accounts.create_user(engine, "li", "a long password", "nurse", ["H01"])
        principal = accounts.authenticate(engine, "li", "a long password", "t")
        assert principal is not None
        session = accounts.start_session(engine, principal)
        accounts.set_role(engine, "li", "clinician")
        accounts.set_hospitals(engine, "li", ["H02", "H03"])
        user = accounts.find_user(engine, "li")
        assert (user.role, user.hospitals) == (Role.CLINICIAN, ("H02", "H03"))
        assert accounts.resume_session(engine, session.token) is None  # logs in again
        with pytest.raises(InputError, match="unknown role"):
            accounts.set_role(engine, "li", "surgeon")
        with pytest.raises(InputError, match="at least one"):
            accounts.set_hospitals(engine, "li", [])
