"""Tasks: findings turned into work items that open, close themselves, or are closed by a nurse.

:func:`sync_tasks` is the job's write step. In **one** write transaction (writers of a store
are serialized: ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL) it

1. opens a task for every due event of the day's findings (kinds :data:`TASK_KINDS`) that has
   none yet, and queues its messages in the outbox — the task and its messages commit
   together or not at all (transactional outbox);
2. marks the open tasks still firing as seen on this day, with the day's figures (values,
   severity);
3. reopens a task the job closed (``resolved_by_record`` / ``superseded``) whose due event
   fires again, e.g. after a dose entered by mistake is removed (no new message: same due
   event);
4. closes every open task of an evaluated patient whose due event no longer fires, and
   cancels its messages not yet sent: ``superseded`` when another finding of the same rule
   family now fires for the same patient and due day (the ADH-01 reminder of a dose becomes
   the ADH-02 alert once the day has passed without it), else ``resolved_by_record`` (the
   record shows the due thing happened, or the rule no longer applies).

A task closed by a nurse stays closed while its due event keeps firing; the next due event
(a new due day) is a new task. ``event_key`` is unique, so even a second writer that slipped
past the lock could not open a task twice.

The service functions the web app calls: :func:`list_tasks`, :func:`count_tasks`,
:func:`get_task`, :func:`close_task`, :func:`task_messages`, and the recipients'
:func:`add_recipient`, :func:`list_recipients`, :func:`deactivate_recipient`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import SQLAlchemyError

from bonepath.errors import InputError, NotFound, StoreError
from bonepath.population.registry import RegistryEvaluation
from bonepath.population.worklist import WorklistFilter, WorklistItem
from bonepath.reminders.model import (
    CLOSE_REASON_LABELS,
    NOTE_REQUIRED,
    SYSTEM_REASONS,
    SYSTEM_USER,
    TASK_KINDS,
    Audience,
    CloseReason,
    Recipient,
    Task,
    TaskQuery,
    TaskStatus,
    event_key,
    message_key,
    reasons_for,
)
from bonepath.reminders.templates import is_deliverable, render_message
from bonepath.store.bulk import DRIVER_ERRORS
from bonepath.store.db import write_transaction
from bonepath.store.repository import Store
from bonepath.store.tasks import reminder_messages, reminder_recipients, reminder_tasks
from bonepath.vocab import FindingKind, Severity

_KEY_BATCH: Final = 900
_T = TypeVar("_T")
_ERRORS: Final[tuple[type[Exception], ...]] = (SQLAlchemyError, *DRIVER_ERRORS)


def _engine(store: Store | Engine) -> Engine:
    return store.engine if isinstance(store, Store) else store


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one :func:`sync_tasks` did (``closed`` counts the ``superseded`` ones too)."""

    as_of: dt.date
    patients: int
    opened: int
    reopened: int
    closed: int
    superseded: int
    open_after: int
    messages_queued: int


# ---- rows -> types ------------------------------------------------------------------------------


def _task(row: Mapping[Any, Any]) -> Task:
    return Task(
        id=int(row["id"]),
        event_key=row["event_key"],
        source=row["source"],
        patient=row["patient_id"],
        hospital=row["hospital_id"],
        department=row["department"],
        rule=row["rule"],
        item=row["item"],
        due=row["due"],
        kind=FindingKind(row["kind"]),
        severity=row["severity"],
        title_zh=row["title_zh"],
        title_en=row["title_en"],
        values=row["finding_values"],
        rules_version=row["rules_version"],
        status=TaskStatus(row["status"]),
        opened_at=row["opened_at"],
        opened_as_of=row["opened_as_of"],
        last_seen_as_of=row["last_seen_as_of"],
        reopened=int(row["reopened"]),
        closed_at=row["closed_at"],
        closed_as_of=row["closed_as_of"],
        close_reason=None if row["close_reason"] is None else CloseReason(row["close_reason"]),
        close_note=row["close_note"],
        closed_by=row["closed_by"],
    )


def _recipient(row: Mapping[Any, Any]) -> Recipient:
    return Recipient(
        id=int(row["id"]),
        channel=row["channel"],
        address=row["address"],
        lang=row["lang"],
        audience=Audience(row["audience"]),
        hospital=row["hospital_id"],
        patient_source=row["patient_source"],
        patient=row["patient_id"],
        rules=tuple(row["rules"].split()),
        active=bool(row["active"]),
    )


def _task_values(
    item: WorklistItem, key: str, rules_version: str, now: dt.datetime
) -> dict[str, Any]:
    finding = item.finding
    return {
        "event_key": key,
        "source": item.source,
        "patient_id": item.patient,
        "hospital_id": item.hospital,
        "department": item.department,
        "rule": finding.rule,
        "item": finding.item,
        "due": finding.due,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "title_zh": finding.title_zh,
        "title_en": finding.title_en,
        "finding_values": finding.to_json()["values"],
        "rules_version": rules_version,
        "status": TaskStatus.OPEN.value,
        "opened_at": now,
        "opened_as_of": item.as_of,
        "last_seen_as_of": item.as_of,
        "reopened": 0,
    }


def _batches(values: Iterable[_T]) -> Iterator[list[_T]]:
    iterator = iter(values)
    while batch := list(islice(iterator, _KEY_BATCH)):
        yield batch


# ---- the job's step ----------------------------------------------------------------------------


def sync_tasks(
    store: Store | Engine,
    registry: RegistryEvaluation,
    *,
    now: dt.datetime | None = None,
    queue_messages: bool = True,
) -> SyncResult:
    """Bring the tasks and the outbox in line with ``registry`` (one day; module docstring).

    ``queue_messages=False`` opens and closes tasks but queues no message for the tasks it
    opens (go-live on a registry with a backlog: the worklist shows it, nobody is messaged
    about events that were due long before; later due events are messaged as usual).
    """
    if len(registry.days) != 1:
        raise ValueError("tasks are synchronized one as-of day at a time")
    as_of = registry.days[0]
    moment = _now(now)
    items = registry.items(WorklistFilter(kinds=TASK_KINDS))
    current: dict[str, WorklistItem] = {}
    for item in items:
        key = event_key(item.source, item.patient, item.rule, item.finding.item, item.due)
        current.setdefault(key, item)
    evaluated = {(p.source, p.id) for p in registry.patients}
    try:
        with write_transaction(_engine(store)) as conn:
            return _sync(conn, registry, as_of, moment, current, evaluated, queue_messages)
    except _ERRORS as exc:
        raise StoreError(f"synchronizing reminder tasks failed: {exc}") from exc


def _sync(
    conn: Connection,
    registry: RegistryEvaluation,
    as_of: dt.date,
    now: dt.datetime,
    current: dict[str, WorklistItem],
    evaluated: set[tuple[str, str]],
    queue_messages: bool,
) -> SyncResult:
    t = reminder_tasks
    existing: dict[str, RowMapping] = {}
    for batch in _batches(current):
        rows = conn.execute(
            select(t.c.id, t.c.event_key, t.c.status, t.c.close_reason, t.c.closed_as_of).where(
                t.c.event_key.in_(batch)
            )
        ).mappings()
        existing.update((row["event_key"], row) for row in rows)

    # 1. new due events: tasks and their messages, in this transaction
    new_rows = [
        _task_values(item, key, registry.rules_version, now)
        for key, item in current.items()
        if key not in existing
    ]
    queued = 0
    if new_rows:
        inserted = conn.execute(insert(t).returning(t.c.id, t.c.event_key), new_rows)
        ids = {key: int(id_) for id_, key in inserted}
        recipients = [
            _recipient(row)
            for row in conn.execute(
                select(reminder_recipients).where(reminder_recipients.c.active.is_(True))
            ).mappings()
            if queue_messages
        ]
        if recipients:
            messages: list[dict[str, Any]] = []
            for row in new_rows:
                task = _task({**row, "id": ids[row["event_key"]]} | _CLOSED_NONE)
                messages.extend(
                    _message_values(task, recipient, now)
                    for recipient in recipients
                    if is_deliverable(task, recipient)
                )
            if messages:
                conn.execute(insert(reminder_messages), messages)
            queued = len(messages)

    # 2. still firing: seen today; 3. back after a record-resolved close: reopened
    # (the figures and severity follow the record: overdue_days grows, a grade changes)
    still_open = [
        {
            "b_id": row["id"],
            "b_values": current[key].finding.to_json()["values"],
            "b_severity": current[key].severity.value,
        }
        for key, row in existing.items()
        if row["status"] == TaskStatus.OPEN.value
    ]
    if still_open:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"), t.c.last_seen_as_of <= as_of)
            .values(
                last_seen_as_of=as_of,
                finding_values=bindparam("b_values", type_=t.c.finding_values.type),
                severity=bindparam("b_severity"),
            ),
            still_open,
        )
    reopen = [
        row["id"]
        for row in existing.values()
        if row["status"] == TaskStatus.CLOSED.value
        and row["close_reason"] in {reason.value for reason in SYSTEM_REASONS}
        and row["closed_as_of"] is not None
        and row["closed_as_of"] < as_of
    ]
    if reopen:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                status=TaskStatus.OPEN.value,
                reopened=t.c.reopened + 1,
                last_seen_as_of=as_of,
                closed_at=None,
                closed_as_of=None,
                close_reason=None,
                close_note=None,
                closed_by=None,
            ),
            [{"b_id": id_} for id_ in reopen],
        )

    # 4. open tasks of evaluated patients whose due event no longer fires: resolved
    open_rows = conn.execute(
        select(
            t.c.id,
            t.c.event_key,
            t.c.source,
            t.c.patient_id,
            t.c.rule,
            t.c.due,
            t.c.last_seen_as_of,
        ).where(t.c.status == TaskStatus.OPEN.value)
    ).all()
    firing_dues = {
        (item.source, item.patient, _family(item.rule), item.due)
        for item in current.values()
        if item.due is not None
    }
    ended: dict[CloseReason, list[int]] = {
        CloseReason.SUPERSEDED: [],
        CloseReason.RESOLVED_BY_RECORD: [],
    }
    for id_, key, source, patient, rule, due, last_seen in open_rows:
        if key in current or (source, patient) not in evaluated or last_seen > as_of:
            continue
        superseded = due is not None and (source, patient, _family(rule), due) in firing_dues
        reason = CloseReason.SUPERSEDED if superseded else CloseReason.RESOLVED_BY_RECORD
        ended[reason].append(int(id_))
    for reason, closing in ended.items():
        for chunk in _batches(closing):
            conn.execute(
                update(t)
                .where(t.c.id.in_(chunk), t.c.status == TaskStatus.OPEN.value)
                .values(
                    status=TaskStatus.CLOSED.value,
                    closed_at=now,
                    closed_as_of=as_of,
                    close_reason=reason.value,
                    closed_by=SYSTEM_USER,
                )
            )
            _cancel_pending(conn, chunk, now)
    resolved = [id_ for closing in ended.values() for id_ in closing]
    return SyncResult(
        as_of=as_of,
        patients=len(evaluated),
        opened=len(new_rows),
        reopened=len(reopen),
        closed=len(resolved),
        superseded=len(ended[CloseReason.SUPERSEDED]),
        open_after=len(open_rows) - len(resolved),
        messages_queued=queued,
    )


def _family(rule: str) -> str:
    return rule.split("-", 1)[0]


_CLOSED_NONE: Final[dict[str, Any]] = {
    "closed_at": None,
    "closed_as_of": None,
    "close_reason": None,
    "close_note": None,
    "closed_by": None,
}


def _message_values(task: Task, recipient: Recipient, now: dt.datetime) -> dict[str, Any]:
    rendered = render_message(task, recipient)
    return {
        "task_id": task.id,
        "recipient_id": recipient.id,
        "idempotency_key": message_key(task.event_key, recipient.id, recipient.channel),
        "channel": recipient.channel,
        "address": recipient.address,
        "lang": recipient.lang,
        "audience": recipient.audience.value,
        "subject": rendered.subject,
        "body": rendered.body,
        "payload": rendered.payload,
        "state": "pending",
        "attempts": 0,
        "not_before": now,
        "created_at": now,
    }


def _cancel_pending(conn: Connection, task_ids: Sequence[int], now: dt.datetime) -> None:
    m = reminder_messages
    conn.execute(
        update(m)
        .where(m.c.task_id.in_(task_ids), m.c.state == "pending")
        .values(state="cancelled", last_error=f"task closed {now.isoformat()}")
    )


# ---- the service API ---------------------------------------------------------------------------

_SEVERITY_ORDER: Final = case(
    {s.value: s.rank for s in Severity}, value=reminder_tasks.c.severity, else_=9
)


def _query(query: TaskQuery) -> Select[Any]:
    t = reminder_tasks
    where: list[Any] = []
    if query.status is not None:
        where.append(t.c.status == query.status.value)
    if query.hospitals is not None:
        where.append(t.c.hospital_id.in_(sorted(query.hospitals)))
    if query.departments:
        where.append(t.c.department.in_(sorted(query.departments)))
    if query.kinds:
        where.append(t.c.kind.in_(sorted(k.value for k in query.kinds)))
    if query.rules:
        where.append(
            or_(*(or_(t.c.rule == r, t.c.rule.like(f"{r}-%")) for r in sorted(query.rules)))
        )
    if query.source is not None:
        where.append(t.c.source == query.source)
    if query.patient is not None:
        where.append(t.c.patient_id == query.patient)
    if query.due_from is not None:
        where.append(t.c.due >= query.due_from)
    if query.due_to is not None:
        where.append(t.c.due <= query.due_to)
    return select(t).where(and_(True, *where))


def list_tasks(store: Store | Engine, query: TaskQuery | None = None) -> list[Task]:
    """Tasks matching ``query`` (default: open ones), most urgent first: severity, due day
    (none last), rule, then id."""
    query = query or TaskQuery()
    t = reminder_tasks
    statement = (
        _query(query)
        .order_by(_SEVERITY_ORDER, t.c.due.is_(None), t.c.due, t.c.rule, t.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    try:
        with _engine(store).connect() as conn:
            return [_task(row) for row in conn.execute(statement).mappings()]
    except _ERRORS as exc:
        raise StoreError(f"reading tasks failed: {exc}") from exc


def count_tasks(store: Store | Engine, query: TaskQuery | None = None) -> int:
    """How many tasks match ``query`` (limit and offset ignored)."""
    statement = select(func.count()).select_from(_query(query or TaskQuery()).subquery())
    with _engine(store).connect() as conn:
        return int(conn.execute(statement).scalar_one())


def get_task(
    store: Store | Engine, task_id: int, *, hospitals: Collection[str] | None = None
) -> Task:
    """The task ``task_id``; :class:`NotFound` when there is none, or when ``hospitals`` (the
    caller's visible hospitals; None = all) does not include the task's hospital."""
    with _engine(store).connect() as conn:
        row = (
            conn.execute(select(reminder_tasks).where(reminder_tasks.c.id == task_id))
            .mappings()
            .one_or_none()
        )
    if row is None or (hospitals is not None and row["hospital_id"] not in set(hospitals)):
        raise NotFound(f"no task {task_id}")
    return _task(row)


def close_task(
    store: Store | Engine,
    task_id: int,
    reason_code: str,
    note: str | None,
    by_user: str,
    *,
    hospitals: Collection[str] | None = None,
    now: dt.datetime | None = None,
) -> Task:
    """Close task ``task_id`` for a person, with a reason (and a note where required).

    ``reason_code`` is a :class:`CloseReason` value a person may give
    (:func:`~bonepath.reminders.model.reasons_for` the task's rule: for ADH-03 one of the
    interruption reasons, rules.md "record the reason"); ``other`` needs a ``note``. Messages
    of the task not yet sent are cancelled.

    ``hospitals``: the caller's visible hospitals (None = all); a task of another hospital is
    :class:`NotFound`, as if it did not exist.

    Raises
    ------
    NotFound
        No task ``task_id`` (visible to the caller).
    InputError
        An unknown or inadmissible reason, a missing note or user, or a task already closed.
    """
    engine = _engine(store)
    task = get_task(engine, task_id, hospitals=hospitals)
    user = by_user.strip()
    if not user:
        raise InputError("closing a task needs the user who closes it")
    allowed = reasons_for(task.rule)
    try:
        reason = CloseReason(reason_code)
    except ValueError:
        reason = None
    if reason is None or reason not in allowed:
        accepted = ", ".join(f"{r.value} ({CLOSE_REASON_LABELS[r][0]})" for r in allowed)
        raise InputError(
            f"reason {reason_code!r} cannot close a {task.rule} task; accepted: {accepted}"
        )
    text = (note or "").strip() or None
    if reason in NOTE_REQUIRED and text is None:
        raise InputError(f"reason {reason.value!r} needs a note saying what happened")
    moment = _now(now)
    try:
        with write_transaction(engine) as conn:
            changed = conn.execute(
                update(reminder_tasks)
                .where(
                    reminder_tasks.c.id == task_id,
                    reminder_tasks.c.status == TaskStatus.OPEN.value,
                )
                .values(
                    status=TaskStatus.CLOSED.value,
                    closed_at=moment,
                    closed_as_of=moment.date(),
                    close_reason=reason.value,
                    close_note=text,
                    closed_by=user,
                )
            ).rowcount
            if changed == 1:
                _cancel_pending(conn, [task_id], moment)
    except _ERRORS as exc:
        raise StoreError(f"closing task {task_id} failed: {exc}") from exc
    if changed != 1:
        raise InputError(f"task {task_id} is already closed")
    return get_task(engine, task_id)


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """Where one message of a task stands (what the web app shows beside the task)."""

    id: int
    channel: str
    audience: str
    state: str
    attempts: int
    sent_at: dt.datetime | None
    last_error: str | None


def task_messages(store: Store | Engine, task_id: int) -> list[MessageStatus]:
    """The outbox messages of task ``task_id`` (addresses left out), oldest first."""
    m = reminder_messages
    with _engine(store).connect() as conn:
        rows = conn.execute(
            select(
                m.c.id,
                m.c.channel,
                m.c.audience,
                m.c.state,
                m.c.attempts,
                m.c.sent_at,
                m.c.last_error,
            )
            .where(m.c.task_id == task_id)
            .order_by(m.c.id)
        ).all()
    return [MessageStatus(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows]


# ---- recipients --------------------------------------------------------------------------------


def add_recipient(
    store: Store | Engine,
    channel: str,
    address: str,
    *,
    lang: str = "zh",
    hospital: str | None = None,
    patient: tuple[str, str] | None = None,
    rules: Collection[str] = ("ADH",),
    now: dt.datetime | None = None,
) -> Recipient:
    """Register who receives messages: staff (of ``hospital``, or all hospitals) or, with
    ``patient=(source, id)``, that patient's own contact (dose reminders only)."""
    if lang not in ("zh", "en"):
        raise InputError(f"language {lang!r}: accepted zh, en")
    if not address.strip() or not channel.strip():
        raise InputError("a recipient needs a channel and an address")
    if channel == "email" and "@" not in address:
        raise InputError(f"not an e-mail address: {address!r}")
    wanted = tuple(dict.fromkeys(r.strip() for r in rules if r.strip()))
    if not wanted:
        raise InputError("a recipient needs rules: ids or families such as ADH, or *")
    values = {
        "channel": channel.strip(),
        "address": address.strip(),
        "lang": lang,
        "audience": (Audience.PATIENT if patient else Audience.STAFF).value,
        "hospital_id": hospital,
        "patient_source": patient[0] if patient else None,
        "patient_id": patient[1] if patient else None,
        "rules": " ".join(wanted),
        "active": True,
        "created_at": _now(now),
    }
    with write_transaction(_engine(store)) as conn:
        new_id = conn.execute(
            insert(reminder_recipients).returning(reminder_recipients.c.id), values
        ).scalar_one()
    return _recipient({**values, "id": new_id})


def list_recipients(store: Store | Engine, *, active_only: bool = True) -> list[Recipient]:
    r = reminder_recipients
    statement = select(r).order_by(r.c.id)
    if active_only:
        statement = statement.where(r.c.active.is_(True))
    with _engine(store).connect() as conn:
        return [_recipient(row) for row in conn.execute(statement).mappings()]


def deactivate_recipient(store: Store | Engine, recipient_id: int) -> None:
    """Stop messages to a recipient (queued ones still go; history is kept)."""
    with write_transaction(_engine(store)) as conn:
        changed = conn.execute(
            update(reminder_recipients)
            .where(reminder_recipients.c.id == recipient_id)
            .values(active=False)
        ).rowcount
    if changed != 1:
        raise NotFound(f"no recipient {recipient_id}")
