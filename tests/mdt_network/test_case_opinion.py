"""The MDT opinion (会诊意见) of a hospital's own decided case: attendees and decisions, HTML
and PDF; another hospital's user gets 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bonepath.api import mdt_service as svc
from bonepath.api.app import create_app
from bonepath.mdt import Attendance, CaseDecision, Decision, DecisionType, Specialty
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store, open_store
from mdt.support import MEETING_DAY, REFERRAL_DAY, SUSPECTED, principal, record

from .test_network import PASSWORD, pdf_text

TEAM = (
    Attendance(Specialty.RADIOLOGY, "李影像"),
    Attendance(Specialty.NUCLEAR_MEDICINE, "赵核医"),
    Attendance(Specialty.ONCOLOGY, "王肿瘤"),
)


@pytest.fixture
def decided(tmp_path: Any) -> Iterator[tuple[Store, int, str]]:
    url = f"sqlite:///{tmp_path / 'case.sqlite3'}"
    with open_store(url) as store:
        store.upsert_records([record(SUSPECTED)], import_source="test")
        case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
        meeting = svc.create_meeting(
            store,
            principal(),
            host_id="H1",
            date=MEETING_DAY,
            title="骨转移MDT",
            chair="陈主任",
            recorder="coord",
            planned=TEAM,
            today=REFERRAL_DAY,
        )
        svc.schedule(store, principal(), case.id, meeting.id, today=REFERRAL_DAY)
        svc.record_attendance(store, principal(), meeting.id, TEAM)
        svc.decide(
            store,
            principal(),
            case.id,
            CaseDecision(
                decided_on=MEETING_DAY,
                decisions=(
                    Decision(DecisionType.BM_CONFIRMED),
                    Decision(DecisionType.BTA_START, drug="zoledronic_acid"),
                ),
                rationale="骨扫描阳性、CT可疑，结合影像会诊确诊骨转移",
                attendees=(),
            ),
            today=MEETING_DAY,
        )
        accounts.create_user(store.engine, "doc_h1", PASSWORD, "clinician", ["H1"])
        accounts.create_user(store.engine, "doc_h2", PASSWORD, "clinician", ["H2"])
        yield store, case.id, url


def test_the_opinion_lists_attendees_and_decisions_in_chinese(
    decided: tuple[Store, int, str],
) -> None:
    store, case_id, url = decided
    app = create_app(Settings(database_url=url), today=lambda: dt.date(2026, 10, 24), store=store)
    own = {"Authorization": f"Bearer {accounts.create_api_token(store.engine, 'doc_h1', 't')}"}
    other = {"Authorization": f"Bearer {accounts.create_api_token(store.engine, 'doc_h2', 't')}"}
    with TestClient(app) as client:
        page = client.get(f"/mdt/cases/{case_id}/opinion.html", headers=own)
        assert page.status_code == 200
        for text in (
            "多学科会诊意见",
            "院内多学科会诊",
            "陈主任",
            "放射科 李影像",
            "核医学科 赵核医",
        ):
            assert text in page.text, text
        assert "骨转移确诊" in page.text and "开始骨靶向药物" in page.text
        assert "结合影像会诊确诊骨转移" in page.text and "2026-10-23" in page.text
        pdf = client.get(f"/mdt/cases/{case_id}/opinion.pdf", headers=own)
        assert pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        assert "李影像" in text and f"MDT-{case_id}" in text
        for path in ("opinion.html", "opinion.pdf"):
            assert client.get(f"/mdt/cases/{case_id}/{path}", headers=other).status_code == 404


def test_mdt_timeliness_qc13_qc14_from_the_cases(decided: tuple[Store, int, str]) -> None:
    from bonepath.population.mdt_quality import mdt_indicators
    from bonepath.store import mdt as mdt_store

    store, case_id, _url = decided
    case = mdt_store.get_case(store.engine, case_id)
    assert case.trigger_date is not None
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    before = mdt_indicators(store.engine, *period)
    assert before.trigger_to_decision.n == 1
    assert before.trigger_to_decision.median == (MEETING_DAY - case.trigger_date).days
    assert before.decision_to_implementation.n == 0  # tasks still open
    for task in mdt_store.list_tasks(store.engine, case_id=case_id):
        svc.complete_task(store, principal(), task.id)
    after = mdt_indicators(store.engine, *period)
    assert mdt_store.get_case(store.engine, case_id).state.value == "implemented"
    assert after.decision_to_implementation.n == 1
    assert after.decision_to_implementation.median is not None
    assert mdt_indicators(store.engine, *period, hospitals=["H2"]).trigger_to_decision.n == 0
