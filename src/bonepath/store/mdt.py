"""The MDT module's tables and their repository (issue 16 items 1-3; migration ``0013``).

Meetings (a hospital's or a regional centre's), their planned and recorded attendance, cases
(with the summary frozen at referral, the quorum recorded at discussion and the decision),
each case's history, attachments, the tasks a decision gave each owner role, and the editable
responsibility table (seeded from :func:`bonepath.mdt.default_table` on first use).

Functions that change a case take a :class:`~sqlalchemy.Connection` in the caller's write
transaction (``store.db.write_transaction``), so that the services write the record, the case,
its history, the tasks and the audit row in one transaction; readers take the Engine. This
module applies no tenancy (the services do) and imports no other store module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    null,
    select,
    tuple_,
    update,
)

from bonepath import clock
from bonepath.errors import NotFound, Problem, RecordRefused
from bonepath.mdt.model import (
    OPEN_STATES,
    Attachment,
    Attendance,
    Case,
    CaseDecision,
    CaseState,
    DecisionType,
    Meeting,
    MeetingHost,
    MeetingState,
    QuestionType,
    Specialty,
    Task,
    TaskStatus,
    check_transition,
)
from bonepath.mdt.responsibility import PlannedTask, Responsibility, default_table
from bonepath.store.sqltypes import RECORD_JSON_TYPE, UtcDateTime, metadata

mdt_meetings: Final = Table(
    "mdt_meetings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host", String(16), nullable=False),
    Column("host_id", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("submission_deadline", Date, nullable=False),
    Column("title", Text, nullable=False),
    Column("chair", String(64)),
    Column("recorder", String(64)),
    Column("state", String(16), nullable=False),
    Column("link", Text),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "host_id", "date"),
)
"""An MDT meeting of a hospital (``host`` hospital) or a regional centre (``centre``)."""

mdt_attendance: Final = Table(
    "mdt_attendance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "meeting_id",
        Integer,
        ForeignKey("mdt_meetings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("specialty", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("username", String(64), nullable=True),  # the account (0015); null: a guest
    Index(None, "meeting_id"),
)
"""Who is planned (``kind`` planned: shown before the meeting) and who attended (``attended``:
recorded after) for a specialty."""

mdt_cases: Final = Table(
    "mdt_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_source", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("hospital_id", String(64)),
    Column("state", String(16), nullable=False),
    Column("question", String(32), nullable=False),
    Column("question_text", Text, nullable=False),
    Column("triggers", Text, nullable=False),
    Column("trigger_date", Date),
    Column("due", Date),
    Column("referred_to", String(64)),
    Column("summary", RECORD_JSON_TYPE, nullable=False),
    Column("meeting_id", Integer, ForeignKey("mdt_meetings.id", ondelete="SET NULL")),
    Column("quorum", RECORD_JSON_TYPE),
    Column("decision", RECORD_JSON_TYPE),
    Column("withdrawn_reason", Text),
    Column("created_on", Date, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "state", "hospital_id"),
    Index(None, "patient_source", "patient_id"),
    Index(None, "meeting_id"),
)
"""A case: the patient, the question, the summary frozen at referral, where it stands; the
quorum recorded at the discussion; the decision (:class:`bonepath.mdt.CaseDecision` JSON)."""

mdt_case_events: Final = Table(
    "mdt_case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("mdt_cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("username", String(64), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("note", Text),
    Index(None, "case_id"),
)
"""The case's history as its page shows it (each change is also one audit-log row)."""

mdt_attachments: Final = Table(
    "mdt_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("mdt_cases.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text),
    Column("uri", Text),
    Column("added_by", String(64), nullable=False),
    Column("added_at", UtcDateTime(), nullable=False),
    Index(None, "case_id"),
)
"""Reports (text) and key-image references (``uri``) attached to a case."""

mdt_tasks: Final = Table(
    "mdt_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("mdt_cases.id", ondelete="CASCADE"), nullable=False),
    Column("decision", String(32), nullable=False),
    Column("code", String(64), nullable=False),
    Column("owner_role", String(32), nullable=False),
    Column("hospital_id", String(64)),
    Column("patient_source", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("due", Date, nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("done_at", UtcDateTime()),
    Column("done_by", String(64)),
    Index(None, "status", "owner_role", "hospital_id"),
    Index(None, "case_id"),
)
"""What a decision gave each owner role (responsibility table), with its due date."""

mdt_responsibilities: Final = Table(
    "mdt_responsibilities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision", String(32), nullable=False),
    Column("task", String(64), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("due_days", Integer, nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("updated_by", String(64)),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("decision", "task", "owner"),
)
"""The editable responsibility table (责任分工表), seeded from ``bonepath/mdt/responsibility.toml``
on first use."""


# ---- helpers ------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return clock.now()  # the demo's seeding stamps on its pinned day (bonepath.clock)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _triggers(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in (text or "").split(",") if t)


_CASE_COLUMNS: Final = (*mdt_cases.c, mdt_meetings.c.date.label("meeting_date"))
_LIST_COLUMNS: Final = (
    *(c for c in mdt_cases.c if c.name != "summary"),
    null().label("summary"),
    mdt_meetings.c.date.label("meeting_date"),
)
"""A listing's columns: everything but the frozen summary (a few KiB per case, read only
when one case is shown)."""


def _case(row: Any, attachments: Sequence[Attachment] = ()) -> Case:
    m = row._mapping
    decision = m["decision"]
    return Case(
        id=m["id"],
        patient_source=m["patient_source"],
        patient_id=m["patient_id"],
        hospital_id=m["hospital_id"],
        state=CaseState(m["state"]),
        question=QuestionType(m["question"]),
        question_text=m["question_text"],
        triggers=_triggers(m["triggers"]),
        trigger_date=_date(m["trigger_date"]),
        due=_date(m["due"]),
        referred_to=m["referred_to"],
        summary=m["summary"] or {},
        created_on=_date(m["created_on"]) or dt.date.min,
        created_by=m["created_by"],
        meeting_id=m["meeting_id"],
        meeting_date=_date(m["meeting_date"]),
        withdrawn_reason=m["withdrawn_reason"],
        decision=CaseDecision.from_json(decision) if decision else None,
        attachments=tuple(attachments),
        updated_at=m["updated_at"],
    )


def _case_select(*, summary: bool = True) -> Any:
    return select(*(_CASE_COLUMNS if summary else _LIST_COLUMNS)).select_from(
        mdt_cases.outerjoin(mdt_meetings, mdt_cases.c.meeting_id == mdt_meetings.c.id)
    )


def _event(
    conn: Connection,
    case_id: int,
    username: str,
    from_state: CaseState | None,
    to_state: CaseState,
    note: str | None,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(mdt_case_events).values(
            case_id=case_id,
            at=now,
            username=username,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value,
            note=note,
        )
    )


# ---- cases --------------------------------------------------------------------------------------


def create_case(
    conn: Connection,
    *,
    patient_source: str,
    patient_id: str,
    hospital_id: str | None,
    question: QuestionType,
    question_text: str,
    triggers: Sequence[str],
    trigger_date: dt.date | None,
    due: dt.date | None,
    referred_to: str | None,
    summary: Mapping[str, Any],
    created_on: dt.date,
    created_by: str,
) -> int:
    """A new case in state ``proposed`` (its history's first row); returns its id."""
    now = _now()
    case_id = conn.execute(
        insert(mdt_cases)
        .values(
            patient_source=patient_source,
            patient_id=patient_id,
            hospital_id=hospital_id,
            state=CaseState.PROPOSED.value,
            question=question.value,
            question_text=question_text,
            triggers=",".join(triggers),
            trigger_date=trigger_date,
            due=due,
            referred_to=referred_to,
            summary=dict(summary),
            created_on=created_on,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        .returning(mdt_cases.c.id)
    ).scalar_one()
    _event(conn, case_id, created_by, None, CaseState.PROPOSED, None, now)
    return int(case_id)


def get_case(engine: Engine | Connection, case_id: int) -> Case:
    """The case with its attachments (:class:`NotFound` when there is none)."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return get_case(conn, case_id)
    row = engine.execute(_case_select().where(mdt_cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"no MDT case {case_id}")
    return _case(row, list_attachments(engine, case_id))


def list_cases(
    engine: Engine,
    *,
    states: Iterable[CaseState] | None = None,
    hospitals: Sequence[str] | None = None,
    referred_to: str | None = None,
    patient: tuple[str, str] | None = None,
    meeting_id: int | None = None,
    case_ids: Iterable[int] | None = None,
    limit: int | None = None,
    summary: bool = False,
) -> list[Case]:
    """Cases, oldest due first (no due last), then by id. ``hospitals`` None = every hospital.
    Without ``summary`` the cases carry an empty summary (a listing does not read them)."""
    query = _case_select(summary=summary)
    if states is not None:
        query = query.where(mdt_cases.c.state.in_([s.value for s in states]))
    if hospitals is not None:
        query = query.where(mdt_cases.c.hospital_id.in_(list(hospitals)))
    if referred_to is not None:
        query = query.where(mdt_cases.c.referred_to == referred_to)
    if patient is not None:
        query = query.where(
            mdt_cases.c.patient_source == patient[0], mdt_cases.c.patient_id == patient[1]
        )
    if meeting_id is not None:
        query = query.where(mdt_cases.c.meeting_id == meeting_id)
    if case_ids is not None:
        query = query.where(mdt_cases.c.id.in_(list(case_ids)))
    query = query.order_by(mdt_cases.c.due.is_(None), mdt_cases.c.due, mdt_cases.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_case(row) for row in conn.execute(query)]


def count_cases(engine: Engine, *, hospitals: Sequence[str] | None = None) -> dict[CaseState, int]:
    """How many cases are in each state."""
    query = select(mdt_cases.c.state, func.count()).group_by(mdt_cases.c.state)
    if hospitals is not None:
        query = query.where(mdt_cases.c.hospital_id.in_(list(hospitals)))
    with engine.connect() as conn:
        counts = {CaseState(s): int(n) for s, n in conn.execute(query)}
    return {s: counts.get(s, 0) for s in CaseState}


def open_case_of(conn: Engine | Connection, patient_source: str, patient_id: str) -> int | None:
    """The id of the patient's case still being worked on (proposed … decided), if any."""
    query = (
        select(mdt_cases.c.id)
        .where(
            mdt_cases.c.patient_source == patient_source,
            mdt_cases.c.patient_id == patient_id,
            mdt_cases.c.state.in_(
                [
                    CaseState.PROPOSED.value,
                    CaseState.SCHEDULED.value,
                    CaseState.DISCUSSED.value,
                ]
            ),
        )
        .order_by(mdt_cases.c.id.desc())
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            found = c.execute(query).scalar()
    else:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def open_cases_of(
    engine: Engine, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, CaseState]]:
    """``(source, id) -> (case id, state)`` of each patient's latest case not implemented or
    withdrawn (the worklist shows it instead of the "submit" button)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    query = (
        select(
            mdt_cases.c.patient_source, mdt_cases.c.patient_id, mdt_cases.c.id, mdt_cases.c.state
        )
        .where(
            tuple_(mdt_cases.c.patient_source, mdt_cases.c.patient_id).in_(wanted),
            mdt_cases.c.state.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(mdt_cases.c.id)
    )
    with engine.connect() as conn:
        return {(r[0], r[1]): (int(r[2]), CaseState(r[3])) for r in conn.execute(query)}


def set_state(
    conn: Connection,
    case_id: int,
    target: CaseState,
    *,
    username: str,
    note: str | None = None,
    values: Mapping[str, Any] | None = None,
    remote: bool = False,
) -> CaseState:
    """Move a case to ``target`` (the state machine's check; :class:`RecordRefused` otherwise;
    ``remote``: a regional centre's accepted answer decides an open case),
    with other column ``values`` (meeting_id, quorum, decision, withdrawn_reason) in the same
    update, and a history row. Returns the state it left. The update is conditional on the
    state read, so two users moving one case at once cannot both succeed."""
    current = conn.execute(select(mdt_cases.c.state).where(mdt_cases.c.id == case_id)).scalar()
    if current is None:
        raise NotFound(f"no MDT case {case_id}")
    before = CaseState(current)
    check_transition(before, target, note, remote=remote)
    now = _now()
    changed = conn.execute(
        update(mdt_cases)
        .where(mdt_cases.c.id == case_id, mdt_cases.c.state == before.value)
        .values(state=target.value, updated_at=now, **dict(values or {}))
    ).rowcount
    if changed != 1:
        raise RecordRefused(
            [Problem("/state", "MDT_CASE_CHANGED", "the case was changed by someone else")]
        )
    _event(conn, case_id, username, before, target, note, now)
    return before


def list_cases_in(conn: Connection, meeting_id: int, state: CaseState) -> list[Case]:
    """The cases on a meeting in ``state`` (read in the caller's transaction)."""
    query = _case_select().where(
        mdt_cases.c.meeting_id == meeting_id, mdt_cases.c.state == state.value
    )
    return [_case(row) for row in conn.execute(query.order_by(mdt_cases.c.id))]


def set_quorum(conn: Connection, case_id: int, quorum: Mapping[str, Any]) -> None:
    """Record the quorum a case met (or missed) at its meeting, without a state change."""
    conn.execute(
        update(mdt_cases)
        .where(mdt_cases.c.id == case_id)
        .values(quorum=dict(quorum), updated_at=_now())
    )


def update_case(conn: Connection, case_id: int, values: Mapping[str, Any]) -> None:
    """Change a case's question, question text or referral without a state change."""
    allowed = {"question", "question_text", "referred_to"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    conn.execute(
        update(mdt_cases).where(mdt_cases.c.id == case_id).values(updated_at=_now(), **dict(values))
    )


def case_history(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    """The case's state changes, oldest first (at, username, from, to, note)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(mdt_case_events)
            .where(mdt_case_events.c.case_id == case_id)
            .order_by(mdt_case_events.c.id)
        ).all()
    return [
        {
            "at": r.at,
            "username": r.username,
            "from": r.from_state,
            "to": r.to_state,
            "note": r.note,
        }
        for r in rows
    ]


def case_quorum(engine: Engine, case_id: int) -> dict[str, Any] | None:
    """The quorum recorded when the case was discussed (QuorumCheck JSON), if any."""
    with engine.connect() as conn:
        value = conn.execute(select(mdt_cases.c.quorum).where(mdt_cases.c.id == case_id)).scalar()
    return dict(value) if value else None


# ---- attachments --------------------------------------------------------------------------------


def add_attachment(
    conn: Connection,
    case_id: int,
    *,
    kind: str,
    title: str,
    text: str | None,
    uri: str | None,
    added_by: str,
) -> int:
    return int(
        conn.execute(
            insert(mdt_attachments)
            .values(
                case_id=case_id,
                kind=kind,
                title=title,
                text=text,
                uri=uri,
                added_by=added_by,
                added_at=_now(),
            )
            .returning(mdt_attachments.c.id)
        ).scalar_one()
    )


def list_attachments(conn: Connection, case_id: int) -> list[Attachment]:
    rows = conn.execute(
        select(mdt_attachments)
        .where(mdt_attachments.c.case_id == case_id)
        .order_by(mdt_attachments.c.id)
    ).all()
    return [
        Attachment(
            id=r.id,
            case_id=r.case_id,
            kind=r.kind,
            title=r.title,
            text=r.text,
            uri=r.uri,
            added_by=r.added_by,
            added_at=r.added_at,
        )
        for r in rows
    ]


# ---- meetings -----------------------------------------------------------------------------------


def create_meeting(
    conn: Connection,
    *,
    host: MeetingHost,
    host_id: str,
    date: dt.date,
    submission_deadline: dt.date,
    title: str,
    chair: str | None,
    recorder: str | None,
    created_by: str,
    link: str | None = None,
) -> int:
    return int(
        conn.execute(
            insert(mdt_meetings)
            .values(
                host=host.value,
                host_id=host_id,
                date=date,
                submission_deadline=submission_deadline,
                title=title,
                chair=chair,
                recorder=recorder,
                state=MeetingState.PLANNED.value,
                link=link,
                created_by=created_by,
                created_at=_now(),
            )
            .returning(mdt_meetings.c.id)
        ).scalar_one()
    )


def update_meeting(conn: Connection, meeting_id: int, values: Mapping[str, Any]) -> None:
    allowed = {"date", "submission_deadline", "title", "chair", "recorder", "state", "link"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    conn.execute(update(mdt_meetings).where(mdt_meetings.c.id == meeting_id).values(**values))


def set_attendance(
    conn: Connection, meeting_id: int, kind: str, people: Iterable[Attendance]
) -> None:
    """Replace the meeting's ``kind`` (planned | attended) attendance."""
    if kind not in ("planned", "attended"):
        raise ValueError(kind)
    conn.execute(
        delete(mdt_attendance).where(
            mdt_attendance.c.meeting_id == meeting_id, mdt_attendance.c.kind == kind
        )
    )
    rows = [
        {
            "meeting_id": meeting_id,
            "kind": kind,
            "specialty": a.specialty.value,
            "name": a.name,
            "username": a.username,
        }
        for a in people
    ]
    if rows:
        conn.execute(insert(mdt_attendance), rows)


def _meetings(conn: Connection, query: Any, kind: str) -> list[Meeting]:
    rows = conn.execute(query).all()
    ids = [r.id for r in rows]
    people: dict[int, list[Attendance]] = {i: [] for i in ids}
    cases: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(
            select(mdt_attendance)
            .where(mdt_attendance.c.meeting_id.in_(ids), mdt_attendance.c.kind == kind)
            .order_by(mdt_attendance.c.id)
        ):
            people[a.meeting_id].append(
                Attendance(Specialty(a.specialty), a.name, a.username or None)
            )
        for c in conn.execute(
            select(mdt_cases.c.id, mdt_cases.c.meeting_id)
            .where(mdt_cases.c.meeting_id.in_(ids))
            .order_by(mdt_cases.c.id)
        ):
            cases[c.meeting_id].append(c.id)
    return [
        Meeting(
            id=r.id,
            host=MeetingHost(r.host),
            host_id=r.host_id,
            date=_date(r.date) or dt.date.min,
            submission_deadline=_date(r.submission_deadline) or dt.date.min,
            title=r.title,
            chair=r.chair,
            recorder=r.recorder,
            state=MeetingState(r.state),
            attendance=tuple(people[r.id]),
            link=r.link,
            case_ids=tuple(cases[r.id]),
        )
        for r in rows
    ]


def get_meeting(engine: Engine | Connection, meeting_id: int, *, kind: str = "planned") -> Meeting:
    """The meeting with its ``kind`` attendance (planned, or attended once recorded)."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return get_meeting(conn, meeting_id, kind=kind)
    found = _meetings(engine, select(mdt_meetings).where(mdt_meetings.c.id == meeting_id), kind)
    if not found:
        raise NotFound(f"no MDT meeting {meeting_id}")
    return found[0]


def list_meetings(
    engine: Engine,
    *,
    host_ids: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str = "planned",
) -> list[Meeting]:
    """Meetings by date; ``host_ids`` None = every host."""
    query = select(mdt_meetings)
    if host_ids is not None:
        query = query.where(mdt_meetings.c.host_id.in_(list(host_ids)))
    if date_from is not None:
        query = query.where(mdt_meetings.c.date >= date_from)
    if date_to is not None:
        query = query.where(mdt_meetings.c.date <= date_to)
    query = query.order_by(mdt_meetings.c.date, mdt_meetings.c.id)
    with engine.connect() as conn:
        return _meetings(conn, query, kind)


# ---- tasks --------------------------------------------------------------------------------------


def create_tasks(conn: Connection, case: Case, planned: Iterable[PlannedTask]) -> list[int]:
    now = _now()
    ids = []
    for p in planned:
        ids.append(
            int(
                conn.execute(
                    insert(mdt_tasks)
                    .values(
                        case_id=case.id,
                        decision=p.decision.value,
                        code=p.code,
                        owner_role=p.owner_role,
                        hospital_id=case.hospital_id,
                        patient_source=case.patient_source,
                        patient_id=case.patient_id,
                        due=p.due,
                        title_zh=p.title_zh,
                        title_en=p.title_en,
                        status=TaskStatus.OPEN.value,
                        created_at=now,
                    )
                    .returning(mdt_tasks.c.id)
                ).scalar_one()
            )
        )
    return ids


def _task(r: Any) -> Task:
    return Task(
        id=r.id,
        case_id=r.case_id,
        decision=DecisionType(r.decision),
        code=r.code,
        owner_role=r.owner_role,
        hospital_id=r.hospital_id,
        patient_source=r.patient_source,
        patient_id=r.patient_id,
        due=_date(r.due) or dt.date.min,
        title_zh=r.title_zh,
        title_en=r.title_en,
        status=TaskStatus(r.status),
        done_at=r.done_at,
        done_by=r.done_by,
    )


def list_tasks(
    engine: Engine | Connection,
    *,
    owner_role: str | None = None,
    hospitals: Sequence[str] | None = None,
    status: TaskStatus | None = None,
    case_id: int | None = None,
    patient: tuple[str, str] | None = None,
) -> list[Task]:
    """Tasks by due date; ``hospitals`` None = every hospital."""
    query = select(mdt_tasks)
    if owner_role is not None:
        query = query.where(mdt_tasks.c.owner_role == owner_role)
    if hospitals is not None:
        query = query.where(mdt_tasks.c.hospital_id.in_(list(hospitals)))
    if status is not None:
        query = query.where(mdt_tasks.c.status == status.value)
    if case_id is not None:
        query = query.where(mdt_tasks.c.case_id == case_id)
    if patient is not None:
        query = query.where(
            mdt_tasks.c.patient_source == patient[0], mdt_tasks.c.patient_id == patient[1]
        )
    query = query.order_by(mdt_tasks.c.due, mdt_tasks.c.id)
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return [_task(r) for r in conn.execute(query)]
    return [_task(r) for r in engine.execute(query)]


def get_task(conn: Engine | Connection, task_id: int) -> Task:
    query = select(mdt_tasks).where(mdt_tasks.c.id == task_id)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no MDT task {task_id}")
    return _task(row)


def complete_task(
    conn: Connection, task_id: int, username: str, *, at: dt.datetime | None = None
) -> bool:
    """Mark an open task done (``at``: on the app's clock; default now); False when it was
    done already."""
    return (
        conn.execute(
            update(mdt_tasks)
            .where(mdt_tasks.c.id == task_id, mdt_tasks.c.status == TaskStatus.OPEN.value)
            .values(status=TaskStatus.DONE.value, done_at=at or _now(), done_by=username)
        ).rowcount
        == 1
    )


def open_task_count(conn: Connection, case_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(mdt_tasks)
            .where(mdt_tasks.c.case_id == case_id, mdt_tasks.c.status == TaskStatus.OPEN.value)
        ).scalar_one()
    )


# ---- the responsibility table -------------------------------------------------------------------


def _responsibility(r: Any) -> Responsibility:
    return Responsibility(
        DecisionType(r.decision), r.task, r.owner, int(r.due_days), r.title_zh, r.title_en
    )


def responsibility_table(engine: Engine | Connection) -> tuple[Responsibility, ...]:
    """The editable table; seeded from the packaged default when it is empty."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            rows = _responsibility_rows(conn)
        if rows:
            return rows
        with engine.begin() as conn:
            _seed(conn)
            return _responsibility_rows(conn)
    rows = _responsibility_rows(engine)
    if not rows:
        _seed(engine)
        rows = _responsibility_rows(engine)
    return rows


def _responsibility_rows(conn: Connection) -> tuple[Responsibility, ...]:
    order = {d: i for i, d in enumerate(DecisionType)}
    rows = conn.execute(select(mdt_responsibilities).order_by(mdt_responsibilities.c.id)).all()
    return tuple(sorted((_responsibility(r) for r in rows), key=lambda r: order[r.decision]))


def _seed(conn: Connection) -> None:
    if conn.execute(select(func.count()).select_from(mdt_responsibilities)).scalar_one():
        return
    now = _now()
    conn.execute(
        insert(mdt_responsibilities),
        [
            {
                "decision": r.decision.value,
                "task": r.task,
                "owner": r.owner,
                "due_days": r.due_days,
                "title_zh": r.title_zh,
                "title_en": r.title_en,
                "updated_by": None,
                "updated_at": now,
            }
            for r in default_table()
        ],
    )


def save_responsibility(engine: Engine, row: Responsibility, username: str) -> None:
    """Add a row or change the due days / titles of the row with the same (decision, task,
    owner)."""
    with engine.begin() as conn:
        _seed(conn)
        values = {
            "due_days": row.due_days,
            "title_zh": row.title_zh,
            "title_en": row.title_en,
            "updated_by": username,
            "updated_at": _now(),
        }
        key = (
            (mdt_responsibilities.c.decision == row.decision.value)
            & (mdt_responsibilities.c.task == row.task)
            & (mdt_responsibilities.c.owner == row.owner)
        )
        if conn.execute(update(mdt_responsibilities).where(key).values(**values)).rowcount == 0:
            conn.execute(
                insert(mdt_responsibilities).values(
                    decision=row.decision.value, task=row.task, owner=row.owner, **values
                )
            )


def delete_responsibility(engine: Engine, decision: str, task: str, owner: str) -> bool:
    with engine.begin() as conn:
        _seed(conn)
        return (
            conn.execute(
                delete(mdt_responsibilities).where(
                    mdt_responsibilities.c.decision == decision,
                    mdt_responsibilities.c.task == task,
                    mdt_responsibilities.c.owner == owner,
                )
            ).rowcount
            > 0
        )
