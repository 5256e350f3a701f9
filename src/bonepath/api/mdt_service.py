"""What the MDT pages, JSON API and CLI do, free of any web framework (issue 16 items 1-3).

Every function takes the caller's :class:`~bonepath.store.accounts.Principal` and applies
tenancy: a case of a hospital not granted to the caller does not exist for them
(:class:`~bonepath.errors.NotFound`, 404). Every change of a case is one write transaction that
also appends its history row and one audit-log row (``mdt.*`` actions); a decision writes, in
the same transaction, the patient's record (built by :func:`bonepath.mdt.apply_decision` and
parsed by :func:`bonepath.record.parse.parse_record`, the validation of any form or import),
the case and the tasks of the responsibility table. A decision the record refuses (a
confirmation dated in the future, …) raises :class:`~bonepath.errors.RecordRefused` before
anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from sqlalchemy import Connection, insert

from bonepath import clock
from bonepath.errors import NotFound, Problem, RecordRefused
from bonepath.mdt import (
    ATTACHMENT_KINDS,
    OPEN_STATES,
    Attendance,
    Case,
    CaseDecision,
    CaseState,
    FindingRef,
    Meeting,
    MeetingHost,
    MeetingState,
    QuestionType,
    QuorumCheck,
    Responsibility,
    Task,
    TaskStatus,
    apply_decision,
    check_decision,
    check_quorum,
    question_for_triggers,
    tasks_for,
)
from bonepath.mdt.model import REMOTE_DECIDABLE
from bonepath.mdt.summary import case_summary
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store import mdt as repo
from bonepath.store.accounts import (
    Permission,
    Principal,
    Role,
    UserInfo,
    audit_log,
    list_users,
)
from bonepath.store.db import write_transaction
from bonepath.store.repository import Store, content_hash

WEB_SOURCE_PREFIX: Final = "web:"
ZONE: Final = zoneinfo.ZoneInfo("Asia/Shanghai")
COORDINATING_ROLES: Final = frozenset({Role.MDT_COORDINATOR, Role.CLINICIAN})
"""Roles that plan meetings, put cases on agendas and record discussions and decisions."""
MAX_TEXT: Final = 4000
MAX_TITLE: Final = 200


# ---- access -------------------------------------------------------------------------------------


def _hospital_of(record: Record) -> str | None:
    return record.hospital.id if record.hospital else None


def moment(today: dt.date) -> dt.datetime:
    """A timestamp on the app's clock: now when the app's day (``context.today()``, pinned in
    the demo and the tests) is the real local day (Asia/Shanghai), else the time of day now on
    the app's day, so that referral, thread, answer, acceptance and task times agree with the
    dates the record and the MDT indicators (QC-14, QC-15) read."""
    now = dt.datetime.now(dt.UTC)
    local = now.astimezone(ZONE)
    if local.date() == today:
        return now
    return dt.datetime.combine(today, local.time(), ZONE).astimezone(dt.UTC)


def _refuse(problem: Problem) -> NoReturn:
    raise RecordRefused([problem])


def can_coordinate(principal: Principal) -> bool:
    return principal.role in COORDINATING_ROLES


def _need(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise PermissionError(f"needs the {permission.value} permission")


def _need_coordinator(principal: Principal) -> None:
    if not can_coordinate(principal):
        raise PermissionError("needs the mdt_coordinator or clinician role")


def visible_case(store: Store, principal: Principal, case_id: int) -> Case:
    """The case, if the caller may see it: their hospital's only. A regional centre never sees
    the case itself (its summary names the patient's record): it sees the referral's
    de-identified package on the network pages (docs/mdt.md "What the centre sees")."""
    case = repo.get_case(store.engine, case_id)
    if not principal.can(Permission.READ_PATIENTS) or not principal.sees(case.hospital_id):
        raise NotFound(f"no MDT case {case_id}")
    return case


def _own_case(store: Store, principal: Principal, case_id: int) -> Case:
    """The case, if it belongs to one of the caller's hospitals (changes are theirs)."""
    case = repo.get_case(store.engine, case_id)
    if not principal.can(Permission.READ_PATIENTS) or not principal.sees(case.hospital_id):
        raise NotFound(f"no MDT case {case_id}")
    return case


def visible_meeting(
    store: Store, principal: Principal, meeting_id: int, kind: str = "planned"
) -> Meeting:
    meeting = repo.get_meeting(store.engine, meeting_id, kind=kind)
    if not principal.can(Permission.READ_PATIENTS) or not principal.sees(meeting.host_id):
        raise NotFound(f"no MDT meeting {meeting_id}")
    return meeting


def _audit(
    conn: Connection,
    principal: Principal,
    action: str,
    *,
    case: Case | None = None,
    hospital: str | None = None,
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """One audit-log row in the caller's transaction (the change and its audit stand or fall
    together). ``detail``: case id and states, never patient data."""
    conn.execute(
        insert(audit_log).values(
            at=clock.now(),
            user_id=principal.user_id,
            username=principal.username,
            role=principal.role.value,
            action=action,
            patient_source=case.patient_source if case else None,
            patient_id=case.patient_id if case else None,
            hospital_id=case.hospital_id if case else hospital,
            client=(client or "")[:64] or None,
            outcome="ok",
            detail=json.dumps(dict(detail), ensure_ascii=False, sort_keys=True) if detail else None,
        )
    )


def _text(value: str | None, path: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        _refuse(Problem(path, "MISSING_FIELD", f"{path.strip('/')} is required"))
    if len(text) > limit:
        _refuse(Problem(path, "OUT_OF_RANGE", f"{path.strip('/')} is over {limit} characters"))
    if "\x00" in text:
        _refuse(Problem(path, "CONTROL_CHARACTER", "the text holds U+0000"))
    return text


# ---- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case with what its page shows: history, meeting, quorum and tasks."""

    case: Case
    history: list[dict[str, Any]]
    meeting: Meeting | None
    quorum_planned: QuorumCheck | None
    quorum_recorded: dict[str, Any] | None
    tasks: list[Task]


def create_case(
    store: Store,
    principal: Principal,
    source: str,
    patient_id: str,
    *,
    today: dt.date,
    question: QuestionType | None = None,
    question_text: str = "",
    from_finding: bool = True,
    referred_to: str | None = None,
    client: str | None = None,
) -> Case:
    """A case in one step: the summary frozen from the record as of ``today`` and, with
    ``from_finding``, MDT-01's triggers, trigger date and due date (``MDT_NO_TRIGGER`` when the
    finding does not fire). By hand (``from_finding`` False) a question is required. A patient
    has at most one case not yet decided (``MDT_CASE_EXISTS``)."""
    _need(principal, Permission.WRITE_EVENTS)
    record = store.get_record(source, patient_id)
    if record is None or not principal.sees(_hospital_of(record)):
        raise NotFound(f"no patient {source}/{patient_id}")
    text = _text(question_text, "/question_text")
    summary = case_summary(record, today)
    finding = next((f for f in summary["findings"] if f["rule"] == "MDT-01"), None)
    triggers: tuple[str, ...] = ()
    trigger_date = due = None
    if from_finding:
        if finding is None:
            _refuse(Problem("/", "MDT_NO_TRIGGER", "MDT-01 does not fire for this patient today"))
        assert finding is not None
        triggers = tuple(finding["values"].get("triggers") or ())
        day = finding["values"].get("trigger_date")
        trigger_date = dt.date.fromisoformat(day) if day else None
        due = dt.date.fromisoformat(finding["due"]) if finding.get("due") else None
        question = question or question_for_triggers(triggers)
    elif question is None:
        _refuse(
            Problem(
                "/question",
                "MISSING_FIELD",
                "a case made by hand needs a question",
                tuple(q.value for q in QuestionType),
            )
        )
    assert question is not None
    with write_transaction(store.engine) as conn:
        existing = repo.open_case_of(conn, source, patient_id)
        if existing is not None:
            _refuse(
                Problem(
                    "/",
                    "MDT_CASE_EXISTS",
                    f"the patient already has MDT case {existing}",
                    (existing,),
                )
            )
        case_id = repo.create_case(
            conn,
            patient_source=source,
            patient_id=patient_id,
            hospital_id=_hospital_of(record),
            question=question,
            question_text=text,
            triggers=triggers,
            trigger_date=trigger_date,
            due=due,
            referred_to=referred_to,
            summary=summary,
            created_on=today,
            created_by=principal.username,
        )
        case = repo.get_case(conn, case_id)
        _audit(
            conn,
            principal,
            "mdt.case.create",
            case=case,
            detail={"case": case_id, "triggers": list(triggers), "question": question.value},
            client=client,
        )
    return case


def open_cases(
    store: Store, principal: Principal, keys: Iterable[tuple[str, str]]
) -> dict[str, tuple[int, CaseState]]:
    """``"source/id" -> (case id, state)`` of the patients' cases in progress, for the
    worklist rows (the caller sees these patients already)."""
    if not principal.can(Permission.READ_PATIENTS):
        return {}
    found = repo.open_cases_of(store.engine, keys)
    return {f"{s}/{i}": v for (s, i), v in found.items()}


def list_cases(
    store: Store,
    principal: Principal,
    *,
    states: Iterable[CaseState] | None = None,
    hospital: str | None = None,
    limit: int | None = None,
) -> list[Case]:
    """The caller's hospitals' cases (the coordinator's board), oldest due first."""
    _need(principal, Permission.READ_PATIENTS)
    hospitals = principal.hospital_filter()
    if hospital is not None:
        if not principal.sees(hospital):
            return []
        hospitals = (hospital,)
    return repo.list_cases(store.engine, states=states, hospitals=hospitals, limit=limit)


def board(
    store: Store, principal: Principal, *, hospital: str | None = None
) -> dict[CaseState, list[Case]]:
    """Open cases by state (proposed, scheduled, discussed, decided)."""
    cases = list_cases(store, principal, states=OPEN_STATES, hospital=hospital)
    out: dict[CaseState, list[Case]] = {s: [] for s in OPEN_STATES}
    for case in cases:
        out[case.state].append(case)
    return out


def case_view(store: Store, principal: Principal, case_id: int) -> CaseView:
    case = visible_case(store, principal, case_id)
    meeting = None
    planned = None
    if case.meeting_id is not None:
        meeting = repo.get_meeting(store.engine, case.meeting_id)
        planned = check_quorum(case.question, meeting.specialties)
    return CaseView(
        case=case,
        history=repo.case_history(store.engine, case_id),
        meeting=meeting,
        quorum_planned=planned,
        quorum_recorded=repo.case_quorum(store.engine, case_id),
        tasks=repo.list_tasks(store.engine, case_id=case_id),
    )


def withdraw(
    store: Store, principal: Principal, case_id: int, reason: str, *, client: str | None = None
) -> Case:
    _need(principal, Permission.WRITE_EVENTS)
    case = _own_case(store, principal, case_id)
    text = _text(reason, "/reason")
    with write_transaction(store.engine) as conn:
        before = repo.set_state(
            conn,
            case.id,
            CaseState.WITHDRAWN,
            username=principal.username,
            note=text,
            values={"withdrawn_reason": text or None},
        )
        _audit(
            conn,
            principal,
            "mdt.case.withdraw",
            case=case,
            detail={"case": case.id, "from": before.value, "to": "withdrawn"},
            client=client,
        )
        return repo.get_case(conn, case.id)


def add_attachment(
    store: Store,
    principal: Principal,
    case_id: int,
    *,
    kind: str,
    title: str,
    text: str | None = None,
    uri: str | None = None,
    client: str | None = None,
) -> int:
    _need(principal, Permission.WRITE_EVENTS)
    case = _own_case(store, principal, case_id)
    if kind not in ATTACHMENT_KINDS:
        _refuse(
            Problem(
                "/kind",
                "UNKNOWN_CODE",
                f"unknown attachment kind {kind!r}",
                tuple(ATTACHMENT_KINDS),
            )
        )
    name = _text(title, "/title", required=True, limit=MAX_TITLE)
    body = _text(text, "/text", limit=20000) or None
    link = _text(uri, "/uri", limit=MAX_TITLE) or None
    if link and not link.startswith(("/", "https://", "http://")):
        _refuse(
            Problem("/uri", "WRONG_FORMAT", "a link is a path on this server or an http(s) address")
        )
    if body is None and link is None:
        _refuse(Problem("/text", "MISSING_FIELD", "an attachment has a text or a link"))
    with write_transaction(store.engine) as conn:
        attachment = repo.add_attachment(
            conn, case.id, kind=kind, title=name, text=body, uri=link, added_by=principal.username
        )
        _audit(
            conn,
            principal,
            "mdt.case.attach",
            case=case,
            detail={"case": case.id, "attachment": attachment},
            client=client,
        )
    return attachment


# ---- meetings -----------------------------------------------------------------------------------


def create_meeting(
    store: Store,
    principal: Principal,
    *,
    host_id: str,
    date: dt.date,
    submission_deadline: dt.date | None = None,
    title: str = "",
    chair: str | None = None,
    recorder: str | None = None,
    planned: Iterable[Attendance] = (),
    host: MeetingHost = MeetingHost.HOSPITAL,
    today: dt.date,
    link: str | None = None,
    client: str | None = None,
) -> Meeting:
    """A meeting of a granted hospital (or centre). The submission deadline defaults to two
    days before; it may not fall after the meeting."""
    _need_coordinator(principal)
    if not principal.sees(host_id):
        raise NotFound(f"no hospital {host_id}")
    deadline = submission_deadline or (date - dt.timedelta(days=2))
    if deadline > date:
        _refuse(
            Problem(
                "/submission_deadline",
                "MDT_DEADLINE_AFTER_MEETING",
                "the submission deadline falls after the meeting",
                (f"on or before {date}",),
            )
        )
    if date < today:
        _refuse(
            Problem(
                "/date",
                "MDT_MEETING_IN_PAST",
                "a new meeting cannot be dated in the past",
                (f"on or after {today}",),
            )
        )
    with write_transaction(store.engine) as conn:
        meeting_id = repo.create_meeting(
            conn,
            host=host,
            host_id=host_id,
            date=date,
            submission_deadline=deadline,
            title=_text(title, "/title", limit=MAX_TITLE),
            chair=_text(chair, "/chair", limit=64) or None,
            recorder=_text(recorder, "/recorder", limit=64) or None,
            created_by=principal.username,
            link=link,
        )
        repo.set_attendance(conn, meeting_id, "planned", _people(planned, store, host_id))
        _audit(
            conn,
            principal,
            "mdt.meeting.create",
            hospital=host_id,
            detail={"meeting": meeting_id, "date": date.isoformat()},
            client=client,
        )
        return repo.get_meeting(conn, meeting_id)


def hospital_users(store: Store, hospital_id: str) -> list[UserInfo]:
    """The active accounts granted ``hospital_id`` (or every hospital): who may be named as
    an MDT attendee, chair or recorder of its meetings."""
    return [
        u
        for u in list_users(store.engine)
        if u.active and (hospital_id in u.hospitals or "*" in u.hospitals)
    ]


def _people(
    people: Iterable[Attendance], store: Store | None = None, host_id: str | None = None
) -> list[Attendance]:
    """Attendance checked: a named account must be one of the host hospital's
    (``MDT_UNKNOWN_USER``); a guest is a name without an account."""
    accounts = (
        {u.username: u for u in hospital_users(store, host_id)}
        if store is not None and host_id is not None
        else None
    )
    out = []
    for i, a in enumerate(people):
        username = (a.username or "").strip() or None
        name = _text(a.name, "/attendance/name", limit=64)
        if username is not None and accounts is not None:
            account = accounts.get(username)
            if account is None:
                _refuse(
                    Problem(
                        f"/attendance/{i}/username",
                        "MDT_UNKNOWN_USER",
                        f"{username!r} is not an account of hospital {host_id}",
                        tuple(sorted(accounts))[:20],
                    )
                )
            name = name or account.display_name or username
        out.append(Attendance(a.specialty, name, username))
    return out


def list_meetings(
    store: Store,
    principal: Principal,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[Meeting]:
    _need(principal, Permission.READ_PATIENTS)
    return repo.list_meetings(
        store.engine, host_ids=principal.hospital_filter(), date_from=date_from, date_to=date_to
    )


@dataclass(frozen=True, slots=True)
class AgendaItem:
    case: Case
    quorum: QuorumCheck
    """Before the meeting: against the planned attendance; after: against who attended."""
    recorded: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Agenda:
    meeting: Meeting
    attended: Meeting
    items: list[AgendaItem]

    @property
    def held(self) -> bool:
        return self.meeting.state is MeetingState.HELD


def agenda(store: Store, principal: Principal, meeting_id: int) -> Agenda:
    """The meeting's cases, each with its quorum: planned before the meeting, recorded after."""
    meeting = visible_meeting(store, principal, meeting_id)
    attended = repo.get_meeting(store.engine, meeting_id, kind="attended")
    cases = repo.list_cases(store.engine, meeting_id=meeting_id)
    held = meeting.state is MeetingState.HELD
    items = []
    for case in cases:
        if not principal.sees(case.hospital_id):  # a centre: the network pages, de-identified
            continue
        present = attended.specialties if held else meeting.specialties
        items.append(
            AgendaItem(
                case, check_quorum(case.question, present), repo.case_quorum(store.engine, case.id)
            )
        )
    return Agenda(meeting, attended, items)


def schedule(
    store: Store,
    principal: Principal,
    case_id: int,
    meeting_id: int,
    *,
    today: dt.date,
    client: str | None = None,
) -> Case:
    """Put a proposed case on a planned meeting's agenda, by the submission deadline. A
    hospital meeting takes its hospital's cases; a centre's takes the cases referred to it."""
    _need_coordinator(principal)
    case = visible_case(store, principal, case_id)
    meeting = visible_meeting(store, principal, meeting_id)
    if meeting.state is not MeetingState.PLANNED:
        _refuse(
            Problem(
                "/meeting_id",
                "MDT_MEETING_CLOSED",
                f"meeting {meeting_id} is {meeting.state.value}",
            )
        )
    if today > meeting.submission_deadline:
        _refuse(
            Problem(
                "/meeting_id",
                "MDT_AFTER_DEADLINE",
                f"the submission deadline of meeting {meeting_id} was {meeting.submission_deadline}",
                (f"a meeting whose deadline is on or after {today}",),
            )
        )
    fits = (
        case.referred_to == meeting.host_id
        if meeting.host is MeetingHost.CENTRE
        else case.hospital_id == meeting.host_id
    )
    if not fits:
        _refuse(
            Problem(
                "/meeting_id",
                "MDT_WRONG_MEETING",
                f"meeting {meeting_id} belongs to {meeting.host_id}, the case to "
                f"{case.referred_to if meeting.host is MeetingHost.CENTRE else case.hospital_id}",
            )
        )
    with write_transaction(store.engine) as conn:
        before = repo.set_state(
            conn,
            case.id,
            CaseState.SCHEDULED,
            username=principal.username,
            note=f"{meeting.date} #{meeting_id}",
            values={"meeting_id": meeting_id},
        )
        _audit(
            conn,
            principal,
            "mdt.case.schedule",
            case=case,
            detail={
                "case": case.id,
                "from": before.value,
                "to": "scheduled",
                "meeting": meeting_id,
            },
            client=client,
        )
        return repo.get_case(conn, case.id)


def unschedule(
    store: Store, principal: Principal, case_id: int, *, client: str | None = None
) -> Case:
    """Take a scheduled case off its agenda (back to proposed)."""
    _need_coordinator(principal)
    case = _own_case(store, principal, case_id)
    with write_transaction(store.engine) as conn:
        before = repo.set_state(
            conn,
            case.id,
            CaseState.PROPOSED,
            username=principal.username,
            values={"meeting_id": None},
        )
        _audit(
            conn,
            principal,
            "mdt.case.unschedule",
            case=case,
            detail={"case": case.id, "from": before.value, "to": "proposed"},
            client=client,
        )
        return repo.get_case(conn, case.id)


def record_attendance(
    store: Store,
    principal: Principal,
    meeting_id: int,
    attended: Iterable[Attendance],
    *,
    client: str | None = None,
) -> Meeting:
    """Record who attended (the meeting becomes held) and, for every case still scheduled on
    it, the quorum it was discussed with; cases whose quorum is met become discussed."""
    _need_coordinator(principal)
    meeting = visible_meeting(store, principal, meeting_id)
    people = _people(attended, store, meeting.host_id)
    if not people:
        _refuse(Problem("/attendance", "MISSING_FIELD", "at least one specialty attended"))
    with write_transaction(store.engine) as conn:
        repo.set_attendance(conn, meeting_id, "attended", people)
        repo.update_meeting(conn, meeting_id, {"state": MeetingState.HELD.value})
        present = {a.specialty for a in people}
        for case in repo.list_cases_in(conn, meeting_id, CaseState.SCHEDULED):
            check = check_quorum(case.question, present)
            if check.met:
                repo.set_state(
                    conn,
                    case.id,
                    CaseState.DISCUSSED,
                    username=principal.username,
                    note="quorum met",
                    values={"quorum": check.to_json()},
                )
            else:
                repo.set_quorum(conn, case.id, check.to_json())
            _audit(
                conn,
                principal,
                "mdt.case.discuss" if check.met else "mdt.case.no_quorum",
                case=case,
                detail={"case": case.id, "meeting": meeting_id, "quorum": check.to_json()},
                client=client,
            )
        _audit(
            conn,
            principal,
            "mdt.meeting.attendance",
            hospital=meeting.host_id,
            detail={"meeting": meeting_id, "specialties": sorted(s.value for s in present)},
            client=client,
        )
        return repo.get_meeting(conn, meeting_id, kind="attended")


# ---- decisions ----------------------------------------------------------------------------------


def _findings_on(case: Case) -> tuple[FindingRef, ...]:
    out = []
    for f in case.summary.get("findings") or ():
        if f.get("kind") == "info":
            continue
        out.append(FindingRef.from_json(f))
    return tuple(out)


def decide(
    store: Store,
    principal: Principal,
    case_id: int,
    decision: CaseDecision,
    *,
    today: dt.date,
    client: str | None = None,
) -> tuple[Case, list[Task]]:
    """Record the MDT's decision on a discussed case.

    The record gets the ``mdt`` item and the facts the decision settles, parsed like any form
    (a refusal raises ``RecordRefused`` naming the record paths, nothing written); then, in one
    transaction: the record, the case (decided, with the decision, its rationale, the attendees
    and the findings that were on it), the tasks of the responsibility table, history and audit.
    The attendees default to the specialties recorded at the meeting.
    """
    _need_coordinator(principal)
    case = _own_case(store, principal, case_id)
    if case.state is not CaseState.DISCUSSED:
        _refuse(
            Problem(
                "/state",
                "MDT_NOT_DISCUSSED",
                f"a {case.state.value} case cannot be decided; record the meeting's attendance "
                "with its quorum first",
                ("discussed",),
            )
        )
    attendees = decision.attendees
    if not attendees and case.meeting_id is not None:
        attendees = tuple(
            dict.fromkeys(
                a.specialty
                for a in repo.get_meeting(store.engine, case.meeting_id, kind="attended").attendance
            )
        )
    full = CaseDecision(
        decided_on=decision.decided_on,
        decisions=decision.decisions,
        rationale=decision.rationale.strip(),
        attendees=attendees,
        findings=decision.findings or _findings_on(case),
        meeting_id=case.meeting_id,
        remote=decision.remote,
        centre=decision.centre,
        decided_by=principal.username,
    )
    check_decision(full)
    record = store.get_record(case.patient_source, case.patient_id)
    if record is None:
        raise NotFound(f"no patient {case.patient}")
    updated = parse_record(apply_decision(record.to_json_dict(), full, case.question), today=today)
    done: dict[str, Any] = {}
    case_side = _decision_side(store, principal, case, full, done, client=client)

    # the record, the case, its tasks, history and audit: one transaction; refused as
    # RECORD_CHANGED when someone wrote the record since it was read here
    store.write_record(
        updated,
        import_source=f"{WEB_SOURCE_PREFIX}{principal.username}",
        expected_hash=content_hash(record),
        also=case_side,
    )
    decided, tasks = done["case"], done["tasks"]
    return decided, tasks


def _decision_side(
    store: Store,
    principal: Principal,
    case: Case,
    full: CaseDecision,
    done: dict[str, Any],
    *,
    client: str | None,
    referral: str | None = None,
) -> Callable[[Connection], None]:
    """The case's part of a decision's transaction: the case decided (with the decision),
    the responsibility table's tasks, history and audit; ``done`` gets the case and tasks.
    ``referral``: the code of the regional centre's answer being accepted (a remote decision
    from any open state not yet decided)."""
    table = repo.responsibility_table(store.engine)
    planned = tasks_for((d.type for d in full.decisions), full.decided_on, table)

    def case_side(conn: Connection) -> None:
        before = repo.set_state(
            conn,
            case.id,
            CaseState.DECIDED,
            username=principal.username,
            note=", ".join(full.codes()) + (f" ({referral})" if referral else ""),
            values={"decision": full.to_json()},
            remote=referral is not None,
        )
        decided = repo.get_case(conn, case.id)
        repo.create_tasks(conn, decided, planned)
        detail: dict[str, Any] = {
            "case": case.id,
            "from": before.value,
            "to": "decided",
            "decisions": list(full.codes()),
        }
        if referral is not None:
            detail.update(remote=True, referral=referral)
        _audit(conn, principal, "mdt.case.decide", case=case, detail=detail, client=client)
        tasks = repo.list_tasks(conn, case_id=case.id)
        if not tasks:  # a decision with nothing to do (its rows removed by admins)
            repo.set_state(
                conn, case.id, CaseState.IMPLEMENTED, username=principal.username, note="no tasks"
            )
            decided = repo.get_case(conn, case.id)
        done.update(case=decided, tasks=tasks)

    return case_side


def remote_decision_side(
    store: Store,
    principal: Principal,
    case_id: int,
    decision: CaseDecision,
    done: dict[str, Any],
    *,
    referral: str,
    client: str | None = None,
) -> Callable[[Connection], None]:
    """For the network's acceptance of a centre's answer on a referral made from MDT case
    ``case_id``: the case's part of the acceptance's one transaction, exactly as a hospital
    decision (decided, the decision kept, the responsibility table's tasks, history, audit
    ``mdt.case.decide`` with ``remote``). Refused before anything is written when the case is
    not the caller's or no longer open (``MDT_BAD_TRANSITION``)."""
    _need(principal, Permission.WRITE_EVENTS)
    case = _own_case(store, principal, case_id)
    if case.state not in REMOTE_DECIDABLE:
        _refuse(
            Problem(
                "/case",
                "MDT_BAD_TRANSITION",
                f"MDT case {case.id} is {case.state.value}: the centre's answer cannot decide it",
                tuple(s.value for s in sorted(REMOTE_DECIDABLE)),
            )
        )
    full = CaseDecision(
        decided_on=decision.decided_on,
        decisions=decision.decisions,
        rationale=decision.rationale.strip(),
        attendees=decision.attendees,
        findings=decision.findings or _findings_on(case),
        meeting_id=case.meeting_id,
        remote=True,
        centre=decision.centre,
        decided_by=decision.decided_by,
    )
    return _decision_side(store, principal, case, full, done, client=client, referral=referral)


def parse_decision_form(data: Mapping[str, Any], *, today: dt.date) -> CaseDecision:
    """A :class:`CaseDecision` from JSON or form data: ``decided_on`` (default today),
    ``decisions`` (codes, or objects with type/drug/stop_reason/site/confirmed_date/note),
    ``rationale``, optional ``attendees`` (specialties), ``remote``, ``centre``. Problems are
    named by path; dates are checked by the record (a future date is refused there)."""
    from bonepath.mdt import Decision, DecisionType, Specialty

    problems: list[Problem] = []
    day = today
    raw_day = str(data.get("decided_on") or "").strip()
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            problems.append(
                Problem(
                    "/decided_on", "INVALID_DATE", f"{raw_day!r} is not a date", ("YYYY-MM-DD",)
                )
            )
    decisions = []
    for i, item in enumerate(data.get("decisions") or ()):
        entry = {"type": item} if isinstance(item, str) else dict(item)
        code = str(entry.get("type") or "")
        if code not in {d.value for d in DecisionType}:
            problems.append(
                Problem(
                    f"/decisions/{i}",
                    "UNKNOWN_CODE",
                    f"unknown decision {code!r}",
                    tuple(d.value for d in DecisionType),
                )
            )
            continue
        confirmed = None
        raw_confirmed = str(entry.get("confirmed_date") or "").strip()
        if raw_confirmed:
            try:
                confirmed = dt.date.fromisoformat(raw_confirmed)
            except ValueError:
                problems.append(
                    Problem(
                        f"/decisions/{i}/confirmed_date",
                        "INVALID_DATE",
                        f"{raw_confirmed!r} is not a date",
                        ("YYYY-MM-DD",),
                    )
                )
        decisions.append(
            Decision(
                type=DecisionType(code),
                drug=(str(entry["drug"]).strip() or None) if entry.get("drug") else None,
                stop_reason=(str(entry["stop_reason"]).strip() or None)
                if entry.get("stop_reason")
                else None,
                site=(str(entry["site"]).strip() or None) if entry.get("site") else None,
                confirmed_date=confirmed,
                note=(str(entry["note"]).strip() or None) if entry.get("note") else None,
            )
        )
    attendees = []
    for i, code in enumerate(data.get("attendees") or ()):
        try:
            attendees.append(Specialty(str(code)))
        except ValueError:
            problems.append(
                Problem(
                    f"/attendees/{i}",
                    "UNKNOWN_CODE",
                    f"unknown specialty {code!r}",
                    tuple(s.value for s in Specialty),
                )
            )
    rationale = str(data.get("rationale") or "")
    if "\x00" in rationale:
        problems.append(Problem("/rationale", "CONTROL_CHARACTER", "the text holds U+0000"))
    if problems:
        raise RecordRefused(problems)
    centre = str(data.get("centre") or "").strip() or None
    return CaseDecision(
        decided_on=day,
        decisions=tuple(decisions),
        rationale=rationale,
        attendees=tuple(dict.fromkeys(attendees)),
        remote=bool(data.get("remote")),
        centre=centre,
    )


# ---- tasks --------------------------------------------------------------------------------------


def my_tasks(store: Store, principal: Principal, *, include_done: bool = False) -> list[Task]:
    """The open tasks of the caller's role in the caller's hospitals, oldest due first (the
    owners' worklist; overdue ones first by construction)."""
    _need(principal, Permission.READ_PATIENTS)
    return repo.list_tasks(
        store.engine,
        owner_role=principal.role.value,
        hospitals=principal.hospital_filter(),
        status=None if include_done else TaskStatus.OPEN,
    )


def complete_task(
    store: Store,
    principal: Principal,
    task_id: int,
    *,
    client: str | None = None,
    today: dt.date | None = None,
) -> Task:
    """Mark a task done (its owner role, or a coordinator); the case becomes implemented when
    its last task is done. ``today``: the app's day (done at :func:`moment` of it; QC-14)."""
    _need(principal, Permission.WRITE_EVENTS)
    task = repo.get_task(store.engine, task_id)
    if not principal.sees(task.hospital_id):
        raise NotFound(f"no MDT task {task_id}")
    if principal.role.value != task.owner_role and not can_coordinate(principal):
        raise PermissionError(f"the task belongs to the {task.owner_role} role")
    case = repo.get_case(store.engine, task.case_id)
    with write_transaction(store.engine) as conn:
        at = moment(today) if today is not None else None
        if not repo.complete_task(conn, task_id, principal.username, at=at):
            _refuse(Problem("/status", "MDT_TASK_DONE", f"task {task_id} is done already"))
        _audit(
            conn,
            principal,
            "mdt.task.done",
            case=case,
            detail={"case": case.id, "task": task_id, "code": task.code},
            client=client,
        )
        if repo.open_task_count(conn, case.id) == 0:
            state = repo.get_case(conn, case.id).state
            if state is CaseState.DECIDED:
                repo.set_state(
                    conn,
                    case.id,
                    CaseState.IMPLEMENTED,
                    username=principal.username,
                    note="all tasks done",
                )
                _audit(
                    conn,
                    principal,
                    "mdt.case.implement",
                    case=case,
                    detail={"case": case.id, "from": "decided", "to": "implemented"},
                    client=client,
                )
        return repo.get_task(conn, task_id)


# ---- the specialists' view ----------------------------------------------------------------------


def my_cases(
    store: Store, principal: Principal, *, today: dt.date
) -> list[tuple[Case, Meeting | None]]:
    """Cases on meetings from ``today - 30 d`` on where the caller is chair or recorder (by
    user name) or a planned or recorded attendee (by account, never by a typed name), and
    cases the caller created; newest meeting first."""
    _need(principal, Permission.READ_PATIENTS)
    meetings = repo.list_meetings(
        store.engine, host_ids=principal.hospital_filter(), date_from=today - dt.timedelta(days=30)
    )
    attended = repo.list_meetings(
        store.engine,
        host_ids=principal.hospital_filter(),
        date_from=today - dt.timedelta(days=30),
        kind="attended",
    )
    present = {
        m.id for m in attended if any(a.username == principal.username for a in m.attendance)
    }
    mine = {
        m.id: m
        for m in meetings
        if principal.username in (m.chair, m.recorder)
        or m.id in present
        or any(a.username == principal.username for a in m.attendance)
    }
    cases = [
        c
        for c in repo.list_cases(store.engine, hospitals=principal.hospital_filter())
        if (c.meeting_id in mine) or c.created_by == principal.username
    ]
    cases.sort(key=lambda c: (c.meeting_date or dt.date.min, c.id), reverse=True)
    return [(c, mine.get(c.meeting_id) if c.meeting_id is not None else None) for c in cases]


# ---- the responsibility table -------------------------------------------------------------------


def responsibilities(store: Store, principal: Principal) -> tuple[Responsibility, ...]:
    _need(principal, Permission.READ_PATIENTS)
    return repo.responsibility_table(store.engine)


def save_responsibility(
    store: Store, principal: Principal, row: Responsibility, *, client: str | None = None
) -> None:
    _need(principal, Permission.ADMIN)
    repo.save_responsibility(store.engine, row, principal.username)
    with write_transaction(store.engine) as conn:
        _audit(conn, principal, "mdt.responsibility.save", detail=row.to_json(), client=client)


def delete_responsibility(
    store: Store,
    principal: Principal,
    decision: str,
    task: str,
    owner: str,
    *,
    client: str | None = None,
) -> bool:
    _need(principal, Permission.ADMIN)
    removed = repo.delete_responsibility(store.engine, decision, task, owner)
    if removed:
        with write_transaction(store.engine) as conn:
            _audit(
                conn,
                principal,
                "mdt.responsibility.delete",
                detail={"decision": decision, "task": task, "owner": owner},
                client=client,
            )
    return removed


# ---- JSON shapes (API and CLI) ------------------------------------------------------------------


def _when(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def case_json(view: CaseView) -> dict[str, Any]:
    """A case in detail: the case object, the frozen summary, the decision, the quorum
    (planned and recorded), the meeting, the tasks, the attachments and the history."""
    case = view.case
    return {
        **case.to_json(),
        "summary": dict(case.summary),
        "decision": case.decision.to_json() if case.decision else None,
        "meeting": view.meeting.to_json() if view.meeting else None,
        "quorum": {
            "planned": view.quorum_planned.to_json() if view.quorum_planned else None,
            "recorded": view.quorum_recorded,
        },
        "tasks": [t.to_json() for t in view.tasks],
        "attachments": [
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "text": a.text,
                "uri": a.uri,
                "added_by": a.added_by,
                "added_at": _when(a.added_at),
            }
            for a in case.attachments
        ],
        "history": [{k: _when(v) for k, v in h.items()} for h in view.history],
    }


def agenda_json(agenda: Agenda) -> dict[str, Any]:
    return {
        "meeting": agenda.meeting.to_json(),
        "attended": [
            {"specialty": a.specialty.value, "name": a.name, "username": a.username}
            for a in agenda.attended.attendance
        ],
        "cases": [
            {**item.case.listing(), "quorum": item.quorum.to_json(), "recorded": item.recorded}
            for item in agenda.items
        ],
    }
