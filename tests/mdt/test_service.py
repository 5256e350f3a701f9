"""The MDT services on both stores: a case from MDT-01 in one step, the agenda deadline, quorum
recorded with the attendance, the decision written into the record (MDT-01 closes, BTA-01
starts), tasks to their owners, implementation, every change audited, and a refused decision
writing nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bonepath.api import mdt_service as svc
from bonepath.engine.evaluate import evaluate
from bonepath.errors import NotFound, RecordRefused
from bonepath.mdt import (
    Attendance,
    CaseDecision,
    CaseState,
    Decision,
    DecisionType,
    QuestionType,
    Specialty,
)
from bonepath.store.accounts import Role, audit_log
from bonepath.store.repository import Store, open_store

from .support import MEETING_DAY, REFERRAL_DAY, SUSPECTED, UNSTABLE, principal, record

DIAGNOSIS_TEAM = (
    Attendance(Specialty.RADIOLOGY, "rad1"),
    Attendance(Specialty.NUCLEAR_MEDICINE, "nm1"),
    Attendance(Specialty.ONCOLOGY, "onc1"),
)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as s:
        s.upsert_records([record(SUSPECTED), record(UNSTABLE)], import_source="test")
        yield s


def _meeting(store: Store, **kw: Any) -> int:
    meeting = svc.create_meeting(
        store,
        principal(),
        host_id="H1",
        date=MEETING_DAY,
        title="骨转移MDT",
        chair="chief1",
        recorder="coord",
        planned=kw.pop("planned", DIAGNOSIS_TEAM),
        today=REFERRAL_DAY,
        **kw,
    )
    return meeting.id


def _discussed_case(store: Store) -> int:
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    meeting_id = _meeting(store)
    svc.schedule(store, principal(), case.id, meeting_id, today=REFERRAL_DAY)
    svc.record_attendance(store, principal(), meeting_id, DIAGNOSIS_TEAM)
    return case.id


def _confirm(day: dt.date = MEETING_DAY, confirmed: dt.date | None = None) -> CaseDecision:
    return CaseDecision(
        decided_on=day,
        decisions=(
            Decision(DecisionType.BM_CONFIRMED, confirmed_date=confirmed),
            Decision(DecisionType.BTA_START, drug="zoledronic_acid"),
        ),
        rationale="骨扫描阳性、CT可疑，结合影像会诊确诊骨转移",
        attendees=(),
    )


def _audit_actions(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.action.like("mdt.%"))
                .order_by(audit_log.c.id)
            ).scalars()
        )


def test_a_case_from_mdt01_carries_its_triggers_due_date_and_a_frozen_summary(
    store: Store,
) -> None:
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    assert case.state is CaseState.PROPOSED
    assert case.triggers == ("DX-04",)
    assert case.question is QuestionType.DIAGNOSIS
    assert (case.trigger_date, case.due) == (dt.date(2026, 10, 2), dt.date(2026, 10, 16))
    assert case.summary["bone"]["status"] == "suspected"
    assert case.to_json()["triggers"] == ["DX-04"]
    # one open case per patient
    with pytest.raises(RecordRefused) as refused:
        svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    assert refused.value.problems[0].code == "MDT_CASE_EXISTS"
    # frozen: a later write to the record leaves the summary as it was
    later = record(
        SUSPECTED, bone_metastasis={"status": "confirmed", "confirmed_date": "2026-10-20"}
    )
    store.upsert_records([later], import_source="test")
    assert svc.visible_case(store, principal(), case.id).summary["bone"]["status"] == "suspected"


def test_a_case_by_hand_needs_a_question_and_another_hospital_cannot_see_it(
    store: Store,
) -> None:
    with pytest.raises(RecordRefused):
        svc.create_case(
            store, principal(), "test", "MDT-SPINE", today=REFERRAL_DAY, from_finding=False
        )
    case = svc.create_case(
        store,
        principal(),
        "test",
        "MDT-SPINE",
        today=REFERRAL_DAY,
        from_finding=False,
        question=QuestionType.PAIN,
        question_text="疼痛控制方案",
    )
    assert case.triggers == () and case.question_text == "疼痛控制方案"
    other = principal(username="h2", hospitals=("H2",))
    with pytest.raises(NotFound):
        svc.visible_case(store, other, case.id)
    with pytest.raises(NotFound):
        svc.create_case(store, other, "test", "MDT-SUSP", today=REFERRAL_DAY)
    assert svc.list_cases(store, other) == []


def test_no_case_from_a_finding_that_does_not_fire(store: Store) -> None:
    quiet = record(SUSPECTED, id="QUIET", events={}, bone_metastasis={"status": "none"})
    store.upsert_records([quiet], import_source="test")
    with pytest.raises(RecordRefused) as refused:
        svc.create_case(store, principal(), "test", "QUIET", today=REFERRAL_DAY)
    assert refused.value.problems[0].code == "MDT_NO_TRIGGER"


def test_the_agenda_closes_at_the_submission_deadline(store: Store) -> None:
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    meeting_id = _meeting(store, submission_deadline=REFERRAL_DAY)
    with pytest.raises(RecordRefused) as refused:
        svc.schedule(
            store, principal(), case.id, meeting_id, today=REFERRAL_DAY + dt.timedelta(days=1)
        )
    assert refused.value.problems[0].code == "MDT_AFTER_DEADLINE"
    assert (
        svc.schedule(store, principal(), case.id, meeting_id, today=REFERRAL_DAY).state
        is CaseState.SCHEDULED
    )


def test_quorum_is_shown_before_and_recorded_after_the_meeting(store: Store) -> None:
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    planned = (Attendance(Specialty.RADIOLOGY, "rad1"), Attendance(Specialty.ONCOLOGY, "onc1"))
    meeting_id = _meeting(store, planned=planned)
    svc.schedule(store, principal(), case.id, meeting_id, today=REFERRAL_DAY)
    (item,) = svc.agenda(store, principal(), meeting_id).items
    assert not item.quorum.met and item.quorum.missing == (Specialty.NUCLEAR_MEDICINE,)
    # nuclear medicine did not come: the case stays scheduled, its missed quorum recorded
    svc.record_attendance(store, principal(), meeting_id, planned)
    view = svc.case_view(store, principal(), case.id)
    assert view.case.state is CaseState.SCHEDULED
    assert view.quorum_recorded is not None
    assert view.quorum_recorded["met"] is False
    assert view.quorum_recorded["missing"] == ["nuclear_medicine"]
    with pytest.raises(RecordRefused) as refused:
        svc.decide(store, principal(), case.id, _confirm(), today=MEETING_DAY)
    assert refused.value.problems[0].code == "MDT_NOT_DISCUSSED"
    # with nuclear medicine the quorum is met and recorded: the case is discussed
    svc.record_attendance(store, principal(), meeting_id, DIAGNOSIS_TEAM)
    view = svc.case_view(store, principal(), case.id)
    assert view.case.state is CaseState.DISCUSSED
    assert view.quorum_recorded is not None and view.quorum_recorded["met"] is True


def test_a_confirmation_closes_mdt01_starts_bta01_and_gives_the_owners_tasks(
    store: Store,
) -> None:
    case_id = _discussed_case(store)
    before = evaluate(store.get_record("test", "MDT-SUSP"), MEETING_DAY)  # type: ignore[arg-type]
    assert "MDT-01" in {f.rule for f in before.findings}
    assert "BTA-01" not in {f.rule for f in before.findings}

    decided, tasks = svc.decide(store, principal(), case_id, _confirm(), today=MEETING_DAY)
    assert decided.state is CaseState.DECIDED
    assert decided.decision is not None
    assert decided.decision.codes() == ("bm_confirmed", "bta_start")
    # attendees from the recorded attendance; the findings that were on the case kept
    assert decided.decision.attendees == (
        Specialty.RADIOLOGY,
        Specialty.NUCLEAR_MEDICINE,
        Specialty.ONCOLOGY,
    )
    assert "MDT-01" in {f.rule for f in decided.decision.findings}

    stored = store.get_record("test", "MDT-SUSP")
    assert stored is not None and stored.bone_metastasis is not None
    assert stored.bone_metastasis.confirmed_date == MEETING_DAY
    (item,) = stored.events.mdt
    assert item.date == MEETING_DAY and [d.value for d in item.decisions] == [
        "bm_confirmed",
        "bta_start",
    ]
    after = {f.rule: f for f in evaluate(stored, MEETING_DAY).findings}
    assert "MDT-01" not in after
    assert after["BTA-01"].due == MEETING_DAY + dt.timedelta(days=14)

    assert {(t.owner_role, t.code) for t in tasks} == {
        ("clinician", "record_confirmation_plan_bta"),
        ("nurse", "dental_check"),
        ("clinician", "prescribe_first_dose"),
        ("nurse", "calcium_vitamin_d"),
    }
    nurse = principal(Role.NURSE, "nurse1", user_id=2)
    nurse_tasks = svc.my_tasks(store, nurse)
    assert [t.code for t in nurse_tasks] == ["dental_check", "calcium_vitamin_d"]
    assert nurse_tasks[0].due == dt.date(2026, 10, 30)
    assert nurse_tasks[0].overdue(dt.date(2026, 10, 31))

    # a nurse may not close the clinician's task; closing the last one implements the case
    clinician = principal(Role.CLINICIAN, "doc1", user_id=3)
    with pytest.raises(PermissionError):
        svc.complete_task(store, nurse, next(t.id for t in tasks if t.owner_role == "clinician"))
    for task in tasks:
        owner = nurse if task.owner_role == "nurse" else clinician
        svc.complete_task(store, owner, task.id)
    assert svc.visible_case(store, principal(), case_id).state is CaseState.IMPLEMENTED
    assert _audit_actions(store) == [
        "mdt.case.create",
        "mdt.meeting.create",
        "mdt.case.schedule",
        "mdt.case.discuss",
        "mdt.meeting.attendance",
        "mdt.case.decide",
        "mdt.task.done",
        "mdt.task.done",
        "mdt.task.done",
        "mdt.task.done",
        "mdt.case.implement",
    ]
    history = [(h["from"], h["to"]) for h in svc.case_view(store, principal(), case_id).history]
    assert history == [
        (None, "proposed"),
        ("proposed", "scheduled"),
        ("scheduled", "discussed"),
        ("discussed", "decided"),
        ("decided", "implemented"),
    ]


def _snapshot(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        tables = ("patients", "mdt", "mdt_tasks", "mdt_case_events", "audit_log")
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        hashes = conn.execute(text("SELECT content_hash FROM patients ORDER BY pk")).all()
    return {"counts": counts, "hashes": [h[0] for h in hashes]}


def test_a_confirmation_dated_in_the_future_is_refused_and_nothing_is_written(
    store: Store,
) -> None:
    case_id = _discussed_case(store)
    before = _snapshot(store)
    with pytest.raises(RecordRefused) as refused:
        svc.decide(
            store,
            principal(),
            case_id,
            _confirm(confirmed=MEETING_DAY + dt.timedelta(days=30)),
            today=MEETING_DAY,
        )
    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("/bone_metastasis/confirmed_date", "FUTURE_DATE")
    ]
    # a decision dated after today is refused by the record too
    with pytest.raises(RecordRefused) as refused:
        svc.decide(store, principal(), case_id, _confirm(day=MEETING_DAY), today=REFERRAL_DAY)
    assert "FUTURE_DATE" in {p.code for p in refused.value.problems}
    assert _snapshot(store) == before
    case = svc.visible_case(store, principal(), case_id)
    assert case.state is CaseState.DISCUSSED and case.decision is None


def test_a_failure_after_the_record_write_rolls_the_record_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _discussed_case(store)
    before = _snapshot(store)

    def broken(*_args: Any, **_kw: Any) -> list[int]:
        raise RuntimeError("tasks table unavailable")

    monkeypatch.setattr(svc.repo, "create_tasks", broken)
    with pytest.raises(RuntimeError):
        svc.decide(store, principal(), case_id, _confirm(), today=MEETING_DAY)
    assert _snapshot(store) == before


def test_withdrawal_needs_a_reason_and_is_audited(store: Store) -> None:
    case = svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY)
    with pytest.raises(RecordRefused):
        svc.withdraw(store, principal(), case.id, "")
    withdrawn = svc.withdraw(store, principal(), case.id, "患者拒绝进一步检查")
    assert withdrawn.state is CaseState.WITHDRAWN
    assert withdrawn.withdrawn_reason == "患者拒绝进一步检查"
    assert _audit_actions(store)[-1] == "mdt.case.withdraw"
    with store.engine.connect() as conn:
        detail = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "mdt.case.withdraw")
        ).scalar_one()
    assert "患者" not in detail  # the reason stays on the case, not in the audit row
    # a new case may be opened once the old one is closed
    assert svc.create_case(store, principal(), "test", "MDT-SUSP", today=REFERRAL_DAY).id != case.id


def test_the_responsibility_table_is_editable_by_admins(store: Store) -> None:
    from bonepath.mdt import Responsibility

    admin = principal(Role.ADMIN, "admin", hospitals=("*",), user_id=9)
    with pytest.raises(PermissionError):
        svc.save_responsibility(store, principal(), svc.responsibilities(store, admin)[0])
    row = Responsibility(
        DecisionType.BM_CONFIRMED, "dental_check", "nurse", 3, "口腔检查", "Dental"
    )
    svc.save_responsibility(store, admin, row)
    table = svc.responsibilities(store, admin)
    assert row in table
    case_id = _discussed_case(store)
    _, tasks = svc.decide(store, principal(), case_id, _confirm(), today=MEETING_DAY)
    dental = next(t for t in tasks if t.code == "dental_check")
    assert dental.due == MEETING_DAY + dt.timedelta(days=3)
    with store.engine.connect() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "mdt.responsibility.save")
        ).scalar_one()
    assert n == 1
