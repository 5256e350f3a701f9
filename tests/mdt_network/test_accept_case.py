"""Accepting a regional centre's answer on a referral made from a hospital MDT case decides
that case, as a hospital decision does (issue 16 loose ends 1 and 4), on both stores: the
record, the referral, the case (decided), its responsibility-table tasks, history and audit in
one transaction; a case no longer open refuses the acceptance and nothing is written. The
referral's times follow the app's pinned day, not the real clock."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bonepath.api import mdt_service, network_service
from bonepath.errors import RecordRefused
from bonepath.mdt import CaseState
from bonepath.store import network
from bonepath.store.accounts import Role, audit_log
from bonepath.store.hospitals import save_hospital
from bonepath.store.repository import Store, open_store
from mdt.support import REFERRAL_DAY, SUSPECTED, principal, record

ANSWER_DAY = REFERRAL_DAY + dt.timedelta(days=1)  # 2026-10-22
ACCEPT_DAY = REFERRAL_DAY + dt.timedelta(days=3)  # 2026-10-24
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
COUNTY = principal(Role.CLINICIAN, "county", ("H1",), 2)
CENTRE = principal(Role.CLINICIAN, "centre", ("R0",), 3)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as s:
        s.upsert_records([record(SUSPECTED)], import_source="test")
        save_hospital(s.engine, "R0", "省肿瘤医院", city_tier="tier1-2")
        save_hospital(s.engine, "H1", "县医院", city_tier="tier3-4")
        network.save_network(s.engine, "N1", "省骨转移MDT网络", "R0")
        network.add_member(s.engine, "N1", "H1")
        yield s


def _answered(store: Store) -> tuple[int, network.Referral]:
    case = mdt_service.create_case(store, COUNTY, "test", "MDT-SUSP", today=REFERRAL_DAY)
    sent = network_service.refer(
        store,
        COUNTY,
        ("test", "MDT-SUSP"),
        question="diagnosis",
        question_text="是否骨转移？",
        today=REFERRAL_DAY,
        case_id=case.id,
    )
    network_service.post_message(
        store, CENTRE, sent, "centre", specialty="radiology", body="符合转移", today=ANSWER_DAY
    )
    signed = network.get_referral(store.engine, sent.code)
    assert signed is not None
    network_service.answer(
        store,
        CENTRE,
        signed,
        decisions=[{"type": "bm_confirmed"}],
        rationale="骨扫描阳性，CT可疑，远程会诊确诊",
        attendees=["oncology", "nuclear_medicine"],
        today=ANSWER_DAY,
    )
    found = network.get_referral(store.engine, sent.code)
    assert found is not None
    return case.id, found


def test_accepting_the_centres_answer_decides_the_linked_case(store: Store) -> None:
    case_id, referral = _answered(store)
    network_service.accept(store, COUNTY, referral, today=ACCEPT_DAY)

    case = mdt_service.case_view(store, COUNTY, case_id)
    assert case.case.state is CaseState.DECIDED
    decision = case.case.decision
    assert decision is not None
    assert (decision.decided_on, decision.codes(), decision.remote, decision.centre) == (
        ANSWER_DAY,
        ("bm_confirmed",),
        True,
        "R0",
    )
    assert {s.value for s in decision.attendees} == {"oncology", "nuclear_medicine", "radiology"}
    # the responsibility table's two rows for a confirmation, due from the decision day
    assert sorted((t.code, t.owner_role, t.due) for t in case.tasks) == [
        ("dental_check", "nurse", dt.date(2026, 10, 29)),
        ("record_confirmation_plan_bta", "clinician", dt.date(2026, 11, 5)),
    ]
    assert case.history[-1]["to"] == "decided" and case.history[-1]["from"] == "proposed"
    # the record: the remote mdt item and the confirmation
    rec = store.get_record("test", "MDT-SUSP")
    assert rec is not None
    data = rec.to_json_dict()
    assert data["bone_metastasis"]["status"] == "confirmed"
    [item] = data["events"]["mdt"]
    assert (item["remote"], item["centre"], item["date"]) == (True, "R0", "2026-10-22")
    with store.engine.connect() as conn:
        [detail] = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "mdt.case.decide")
        ).scalars()
    assert json.loads(detail) == {
        "case": case_id,
        "from": "proposed",
        "to": "decided",
        "decisions": ["bm_confirmed"],
        "remote": True,
        "referral": referral.code,
    }
    # the referral's times are on the app's days, not the real clock's
    done = network.get_referral(store.engine, referral.code)
    assert done is not None and done.state == "accepted"
    assert done.referred_at.astimezone(SHANGHAI).date() == REFERRAL_DAY
    assert done.answered_at is not None and done.accepted_at is not None
    assert done.answered_at.astimezone(SHANGHAI).date() == ANSWER_DAY
    assert done.accepted_at.astimezone(SHANGHAI).date() == ACCEPT_DAY
    assert [m.at.astimezone(SHANGHAI).date() for m in done.messages] == [ANSWER_DAY]


def test_a_withdrawn_case_refuses_the_acceptance_and_nothing_is_written(store: Store) -> None:
    case_id, referral = _answered(store)
    mdt_service.withdraw(store, COUNTY, case_id, reason="转上级医院")
    before = store.get_record("test", "MDT-SUSP")
    with pytest.raises(RecordRefused) as refused:
        network_service.accept(store, COUNTY, referral, today=ACCEPT_DAY)
    assert refused.value.problems[0].code == "MDT_BAD_TRANSITION"
    after = store.get_record("test", "MDT-SUSP")
    assert before is not None and after is not None
    assert after.to_json_dict() == before.to_json_dict()
    again = network.get_referral(store.engine, referral.code)
    assert again is not None and again.state == "answered"
    assert mdt_service.case_view(store, COUNTY, case_id).tasks == []


def test_the_centre_has_a_calendar_of_its_remote_consultations(store: Store) -> None:
    from fastapi.testclient import TestClient

    from bonepath.api.app import create_app
    from bonepath.settings import Settings
    from bonepath.store import accounts

    _case_id, referral = _answered(store)
    at = dt.datetime(2026, 10, 23, 15, 30, tzinfo=SHANGHAI)
    network_service.schedule_meeting(
        store, CENTRE, referral, at=at, link="https://meet.example.org/rc?x=1"
    )
    for name, grants in (("centre", ["R0"]), ("county", ["H1"]), ("far", ["H2"])):
        accounts.create_user(store.engine, name, "correct horse battery", "clinician", grants)
    app = create_app(
        Settings(database_url=str(store.engine.url)), today=lambda: ANSWER_DAY, store=store
    )
    with TestClient(app, base_url="http://testserver") as client:
        pages = {
            name: client.get(
                "/mdt/network",
                headers={
                    "Authorization": f"Bearer {accounts.create_api_token(store.engine, name, 't')}"
                },
            ).text
            for name in ("centre", "county", "far")
        }
    for name in ("centre", "county"):
        row = re.search(r'<tr data-code="RC-\w+" class="upcoming">.*?</tr>', pages[name])
        assert row is not None, name
        assert referral.code in row.group(0) and "2026-10-23 15:30" in row.group(0)
        assert 'href="https://meet.example.org/rc?x=1" rel="noopener noreferrer"' in row.group(0)
    assert "远程会诊日程" in pages["far"] and referral.code not in pages["far"]
