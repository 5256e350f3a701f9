"""The demo's MDT (issue 16 item 6): cases in every state at the hospital with the most MDT-01
findings, made through the same services as the pages (frozen summaries, audited changes,
decisions written into the records).

On the cohort's day D: a meeting held 7 days before (quorum met) with a decided case, an
implemented case (its tasks done) and a case still to decide (discussed); a case withdrawn;
a meeting in 3 days with two scheduled cases; the other MDT-01 patients proposed (up to 4).
A second run leaves existing cases alone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from bonepath.engine.findings import Evaluation
    from bonepath.mdt import CaseDecision, QuestionType
    from bonepath.store.repository import Store

COORDINATOR: Final = "demo-mdt-coordinator"


def _decision(question: QuestionType, day: dt.date, status: str | None) -> CaseDecision:
    from bonepath.mdt import CaseDecision, Decision, DecisionType, QuestionType

    choices = {
        QuestionType.DIAGNOSIS: (
            [
                Decision(DecisionType.BM_CONFIRMED),
                Decision(DecisionType.BTA_START, drug="zoledronic_acid"),
            ]
            if status == "suspected"
            else [Decision(DecisionType.BIOPSY)]
        ),
        QuestionType.SURGERY_INTERVENTION: [
            Decision(DecisionType.SURGERY_FIXATION),
            Decision(DecisionType.RT_POSTOPERATIVE),
        ],
        QuestionType.RADIOTHERAPY: [Decision(DecisionType.RT_SINGLE_8GY)],
        QuestionType.PAIN: [Decision(DecisionType.PAIN_PLAN), Decision(DecisionType.RT_SINGLE_8GY)],
    }
    return CaseDecision(
        decided_on=day,
        decisions=tuple(choices.get(question, [Decision(DecisionType.FOLLOW_UP)])),
        rationale="演示：多学科讨论后一致意见",
        attendees=(),
    )


def demo_mdt(store: Store, as_of: dt.date, evaluations: Sequence[Evaluation]) -> Counter[str]:
    """Create the demo's MDT cases and meetings; returns the cases per state.

    Every stored time (history, meetings, tasks, audit) is on the demo's clock: each step is
    stamped on the day it happens in the story (submitted 12 days before ``as_of``, discussed
    and decided 7 days before, the rest on ``as_of``), never on the real date."""
    from bonepath import clock

    with clock.on_day(as_of):
        return _demo_mdt(store, as_of, evaluations, clock.on_day)


def _demo_mdt(
    store: Store,
    as_of: dt.date,
    evaluations: Sequence[Evaluation],
    on_day: Callable[[dt.date], AbstractContextManager[None]],
) -> Counter[str]:
    from bonepath.api import mdt_service as svc
    from bonepath.errors import BonepathError
    from bonepath.mdt import Attendance, Case, CaseState, QuestionType, Specialty, quorum
    from bonepath.store import mdt as repo
    from bonepath.store.accounts import ALL_HOSPITALS, Principal, Role

    existing = repo.count_cases(store.engine)
    if sum(existing.values()):
        return Counter({s.value: n for s, n in existing.items() if n})
    principal = Principal(0, COORDINATOR, Role.MDT_COORDINATOR, frozenset({ALL_HOSPITALS}))
    held_day, next_day = as_of - dt.timedelta(days=7), as_of + dt.timedelta(days=3)
    referral = held_day - dt.timedelta(days=5)  # the cases were submitted 12 days ago
    candidates: list[tuple[str, str, str | None]] = []
    for ev in evaluations:
        for f in ev.findings:
            trigger = f.values.get("trigger_date") if f.rule == "MDT-01" else None
            if isinstance(trigger, dt.date) and trigger <= referral:
                candidates.append((ev.source, ev.patient, None))
    hospitals: Counter[str] = Counter()
    records = {}
    for source, patient, _ in candidates:
        record = store.get_record(source, patient)
        if record is not None and record.hospital is not None and record.hospital.id:
            hospitals[record.hospital.id] += 1
            records[(source, patient)] = record
    if not hospitals:
        return Counter()
    rank = {h: i for i, (h, _) in enumerate(hospitals.most_common())}
    home = {k: r.hospital.id for k, r in records.items() if r.hospital and r.hospital.id}
    chosen = sorted(home, key=lambda k: (rank[home[k]], k))[:11]
    everyone = [Attendance(s, f"demo-{s.value}") for s in Specialty]
    diagnosis_team = [a for a in everyone if a.specialty in quorum(QuestionType.DIAGNOSIS)]
    cases = []
    for source, patient in chosen:
        try:
            with on_day(referral):
                cases.append(
                    svc.create_case(
                        store, principal, source, patient, today=referral, client="demo"
                    )
                )
        except BonepathError:
            continue
    held: dict[str, int] = {}
    upcoming: dict[str, int] = {}

    def meeting(case: Case, which: dict[str, int], day: dt.date, since: dt.date) -> int:
        host = case.hospital_id or ""
        if host not in which:
            which[host] = svc.create_meeting(
                store,
                principal,
                host_id=host,
                date=day,
                title="骨转移MDT（演示）",
                chair="demo-clinician",
                recorder=COORDINATOR,
                planned=everyone if which is held else diagnosis_team,
                today=since,
            ).id
        return which[host]

    # by position: 0 decided, 1 implemented, 2 discussed (one meeting held 7 days ago, quorum
    # met), 3 withdrawn, 4-5 scheduled on the meeting in 3 days, the rest proposed
    with on_day(referral):
        for case in cases[:3]:
            svc.schedule(
                store, principal, case.id, meeting(case, held, held_day, referral), today=referral
            )
    with on_day(held_day):
        for meeting_id in held.values():
            svc.record_attendance(store, principal, meeting_id, everyone, client="demo")
    for position, case in enumerate(cases[:2]):
        bone = records[(case.patient_source, case.patient_id)].bone_metastasis
        status = bone.status.value if bone and bone.status else None
        try:
            with on_day(held_day):
                _, tasks = svc.decide(
                    store,
                    principal,
                    case.id,
                    _decision(case.question, held_day, status),
                    today=as_of,
                    client="demo",
                )
        except BonepathError:
            continue
        if position == 1:
            for task in tasks:
                svc.complete_task(store, principal, task.id, client="demo", today=as_of)
    if len(cases) > 3:
        svc.withdraw(store, principal, cases[3].id, "演示：患者选择在外院继续治疗")
    for case in cases[4:6]:
        svc.schedule(
            store, principal, case.id, meeting(case, upcoming, next_day, as_of), today=as_of
        )
    counts = repo.count_cases(store.engine)
    return Counter({s.value: n for s, n in counts.items() if n and s in CaseState})
