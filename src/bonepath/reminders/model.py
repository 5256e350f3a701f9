"""The reminder service's own types: due events, tasks, close reasons, recipients.

A **due event** is one finding of one patient about one due thing: ``(source, patient, rule,
item, due)``. Two evaluations name the same due event when all five agree — so the ADH-01
reminder of the dose due on 2026-08-24 is the same event every day from 08-21 to 08-24, and
the reminder of the next dose (due moved because a dose was given) is a new event. A finding
without a due day is one event for as long as it keeps firing (and again if it comes back).
One task per due event (``event_key`` unique), one message per task and recipient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from bonepath.population.worklist import WORKLIST_KINDS
from bonepath.vocab import FindingKind

TASK_KINDS: Final[frozenset[FindingKind]] = WORKLIST_KINDS
"""Findings of these kinds become tasks; ``info`` findings (scores, interval classes) do not."""

SYSTEM_USER: Final = "bonepath remind"
"""``closed_by`` of tasks the job closes itself."""


def event_key(source: str, patient: str, rule: str, item: str | None, due: dt.date | None) -> str:
    """The SHA-256 (hex) naming a due event (see the module docstring)."""
    parts = (source, patient, rule, item or "", due.isoformat() if due else "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def message_key(event: str, recipient_id: int, channel: str) -> str:
    """The idempotency key of the message of due event ``event`` to one recipient (128 bits)."""
    return hashlib.sha256(f"{event}\x1f{recipient_id}\x1f{channel}".encode()).hexdigest()[:32]


class TaskStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """Why a task was closed (stable codes; labels in :data:`CLOSE_REASON_LABELS`).

    The first six are the reasons a BTA course was interrupted (rules.md ADH-03: "record the
    reason (cost, safety worry, dental, PS, unknown)"), required when closing an ADH-03 task.
    """

    COST = "cost"
    SAFETY_CONCERN = "safety_concern"
    DENTAL = "dental"
    PERFORMANCE_STATUS = "performance_status"
    PATIENT_DECLINED = "patient_declined"
    UNKNOWN = "unknown"
    DONE = "done"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    NOT_APPLICABLE = "not_applicable"
    OTHER = "other"
    RESOLVED_BY_RECORD = "resolved_by_record"
    SUPERSEDED = "superseded"


CLOSE_REASON_LABELS: Final[Mapping[CloseReason, tuple[str, str]]] = {
    CloseReason.COST: ("费用原因", "cost"),
    CloseReason.SAFETY_CONCERN: ("担心安全性或不良反应", "worried about safety or side effects"),
    CloseReason.DENTAL: ("口腔问题（需先行口腔处理）", "dental problem (dental care first)"),
    CloseReason.PERFORMANCE_STATUS: ("体能状态差", "poor performance status"),
    CloseReason.PATIENT_DECLINED: ("患者拒绝", "patient declined"),
    CloseReason.UNKNOWN: ("原因不明（已联系）", "reason unknown (patient contacted)"),
    CloseReason.DONE: ("已完成", "done"),
    CloseReason.TRANSFERRED: ("已转院", "transferred to another hospital"),
    CloseReason.DECEASED: ("患者已故", "patient deceased"),
    CloseReason.NOT_APPLICABLE: ("不适用", "not applicable"),
    CloseReason.OTHER: ("其他（请填写说明）", "other (note required)"),
    CloseReason.RESOLVED_BY_RECORD: (
        "记录显示已完成（系统关闭）",
        "resolved by the record (closed by the system)",
    ),
    CloseReason.SUPERSEDED: (
        "同一到期事项已升级（如提醒转为逾期，系统关闭）",
        "superseded by a later finding for the same due day (closed by the system)",
    ),
}
"""``(zh, en)`` label of every close reason."""

ADH03_REASONS: Final[tuple[CloseReason, ...]] = (
    CloseReason.COST,
    CloseReason.SAFETY_CONCERN,
    CloseReason.DENTAL,
    CloseReason.PERFORMANCE_STATUS,
    CloseReason.PATIENT_DECLINED,
    CloseReason.UNKNOWN,
    CloseReason.TRANSFERRED,
    CloseReason.DECEASED,
    CloseReason.OTHER,
)
"""The reasons a nurse may give when closing an ADH-03 task (why the course was interrupted)."""

SYSTEM_REASONS: Final[frozenset[CloseReason]] = frozenset(
    {CloseReason.RESOLVED_BY_RECORD, CloseReason.SUPERSEDED}
)
"""The reasons only the job gives (a closed task that fires again is reopened)."""

NURSE_REASONS: Final[tuple[CloseReason, ...]] = tuple(
    reason for reason in CloseReason if reason not in SYSTEM_REASONS
)
"""Every reason a person may give."""

NOTE_REQUIRED: Final[frozenset[CloseReason]] = frozenset({CloseReason.OTHER})


def reasons_for(rule: str) -> tuple[CloseReason, ...]:
    """The reasons a nurse may pick when closing a task of ``rule``."""
    return ADH03_REASONS if rule == "ADH-03" else NURSE_REASONS


class Audience(StrEnum):
    STAFF = "staff"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class Task:
    """One due event on the nurses' worklist (a row of ``reminder_tasks``)."""

    id: int
    event_key: str
    source: str
    patient: str
    hospital: str | None
    department: str | None
    rule: str
    item: str | None
    due: dt.date | None
    kind: FindingKind
    severity: str
    title_zh: str
    title_en: str
    values: Mapping[str, Any]
    rules_version: str
    status: TaskStatus
    opened_at: dt.datetime
    opened_as_of: dt.date
    last_seen_as_of: dt.date
    reopened: int
    closed_at: dt.datetime | None
    closed_as_of: dt.date | None
    close_reason: CloseReason | None
    close_note: str | None
    closed_by: str | None

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def to_json(self) -> dict[str, Any]:
        """The task as the API shows it (dates ISO, reason with its zh/en labels)."""
        reason = self.close_reason
        return {
            "id": self.id,
            "patient": self.patient,
            "source": self.source,
            "hospital": self.hospital,
            "department": self.department,
            "rule": self.rule,
            "item": self.item,
            "kind": self.kind.value,
            "severity": self.severity,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "due": self.due.isoformat() if self.due else None,
            "values": dict(self.values),
            "status": self.status.value,
            "opened_at": self.opened_at.isoformat(),
            "opened_as_of": self.opened_as_of.isoformat(),
            "last_seen_as_of": self.last_seen_as_of.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "close_reason": None
            if reason is None
            else {
                "code": reason.value,
                "zh": CLOSE_REASON_LABELS[reason][0],
                "en": CLOSE_REASON_LABELS[reason][1],
            },
            "close_note": self.close_note,
            "closed_by": self.closed_by,
        }


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks :func:`bonepath.reminders.tasks.list_tasks` returns; empty means "any".

    ``hospitals`` is the caller's visible hospitals (the web app passes the user's grants;
    ``None`` = every hospital, patients without a hospital included). ``rules`` holds rule ids
    or families (``ADH``). ``due_from`` / ``due_to`` bound the due day (inclusive; tasks without
    a due day are then left out).
    """

    status: TaskStatus | None = TaskStatus.OPEN
    hospitals: Collection[str] | None = None
    departments: Collection[str] = ()
    kinds: Collection[FindingKind] = ()
    rules: Collection[str] = ()
    source: str | None = None
    patient: str | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    limit: int = 500
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 10_000:
            raise ValueError("limit must be 1-10000")
        if self.offset < 0:
            raise ValueError("offset must be 0 or more")


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who receives messages on one channel: staff of a hospital, or one patient."""

    id: int
    channel: str
    address: str
    lang: str
    audience: Audience
    hospital: str | None
    patient_source: str | None
    patient: str | None
    rules: tuple[str, ...]
    active: bool

    def wants(self, rule: str) -> bool:
        """Whether this recipient takes messages of ``rule`` (ids or families; ``*`` = all)."""
        return any(wanted in ("*", rule) or rule.startswith(f"{wanted}-") for wanted in self.rules)
