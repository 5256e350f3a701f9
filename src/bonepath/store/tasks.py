"""Tables of the reminder service: recipients, tasks, the outbox, delivery attempts, runs.

They live on the shared :data:`bonepath.store.schema.metadata` (migration ``0003``); the logic
that reads and writes them is :mod:`bonepath.reminders` (docs/reminders.md).

- ``reminder_tasks``: one row per *due event* — ``event_key`` is unique, the SHA-256 of
  ``(source, patient, rule, item, due)`` (:func:`bonepath.reminders.events.event_key`). A task is
  ``open`` or ``closed``; ``opened_at`` / ``closed_at`` / ``close_reason`` are what QC-08
  ("ADH-03 tasks closed with a reason within 7 days") measures.
- ``reminder_messages``: the transactional outbox. A message is written in the same transaction
  as the task it announces, one per (task, recipient) (unique), with its content already
  rendered and a stable ``idempotency_key`` (the e-mail Message-ID, the SMS / WeChat client
  message id). ``state`` is ``pending → sending → sent`` (or ``failed`` / ``cancelled``);
  ``sending`` carries a ``claim_token`` and ``lease_until``.
- ``delivery_attempts``: one row per claim of a message and what came of it.
- ``reminder_recipients``: who gets messages on which channel (staff of a hospital, or one
  patient), in which language, for which rules.
- ``reminder_runs``: one row per ``bonepath remind`` run (``finished_at`` NULL: cut off).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bonepath.store.sqltypes import RECORD_JSON_TYPE, UtcDateTime, metadata

reminder_recipients: Final = Table(
    "reminder_recipients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("address", Text, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("hospital_id", Text),
    Column("patient_source", String(64)),
    Column("patient_id", String(64)),
    Column("rules", Text, nullable=False),
    Column("active", Boolean(create_constraint=False), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""Staff recipients (``hospital_id`` NULL = every hospital) or one patient's own contact."""

reminder_tasks: Final = Table(
    "reminder_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(64), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("hospital_id", Text),
    Column("department", Text),
    Column("rule", String(16), nullable=False),
    Column("item", Text),
    Column("due", Date),
    Column("kind", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("finding_values", RECORD_JSON_TYPE, nullable=False),
    Column("rules_version", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("opened_as_of", Date, nullable=False),
    Column("last_seen_as_of", Date, nullable=False),
    Column("reopened", Integer, nullable=False),
    Column("closed_at", UtcDateTime()),
    Column("closed_as_of", Date),
    Column("close_reason", String(32)),
    Column("close_note", Text),
    Column("closed_by", Text),
    Index(None, "status", "hospital_id"),
    Index(None, "source", "patient_id"),
    Index(None, "rule"),
)

reminder_messages: Final = Table(
    "reminder_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "task_id",
        Integer,
        ForeignKey("reminder_tasks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "recipient_id",
        Integer,
        ForeignKey("reminder_recipients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("address", Text, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", RECORD_JSON_TYPE),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("claim_token", String(32)),
    Column("lease_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("receipt_ref", Text),
    Column("last_error", Text),
    UniqueConstraint("task_id", "recipient_id"),
    Index(None, "state", "not_before"),
)

delivery_attempts: Final = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "message_id",
        Integer,
        ForeignKey("reminder_messages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempt", Integer, nullable=False),
    Column("claim_token", String(32), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("outcome", String(16)),
    Column("detail", Text),
    Index(None, "message_id"),
)
"""``outcome`` NULL: the claim is still out (or its process died: reconciliation decides)."""

reminder_runs: Final = Table(
    "reminder_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("patients", Integer, nullable=False),
    Column("tasks_opened", Integer, nullable=False),
    Column("tasks_reopened", Integer, nullable=False),
    Column("tasks_closed", Integer, nullable=False),
    Column("messages_queued", Integer, nullable=False),
    Column("messages_sent", Integer, nullable=False),
    Column("messages_failed", Integer, nullable=False),
)

REMINDER_TABLES: Final[tuple[Table, ...]] = (
    reminder_recipients,
    reminder_tasks,
    reminder_messages,
    delivery_attempts,
    reminder_runs,
)
