"""Reminders: recipients, tasks, the outbox, delivery attempts, runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Tables of :mod:`bonepath.store.tasks` (docs/reminders.md). Generated once from
``bonepath.store.schema.metadata`` (Alembic autogenerate) and frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("hospital_id", sa.Text(), nullable=True),
        sa.Column("patient_source", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_recipients")),
    )
    op.create_table(
        "reminder_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("tasks_opened", sa.Integer(), nullable=False),
        sa.Column("tasks_reopened", sa.Integer(), nullable=False),
        sa.Column("tasks_closed", sa.Integer(), nullable=False),
        sa.Column("messages_queued", sa.Integer(), nullable=False),
        sa.Column("messages_sent", sa.Integer(), nullable=False),
        sa.Column("messages_failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_runs")),
    )
    op.create_table(
        "reminder_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("item", sa.Text(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column(
            "finding_values",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_as_of", sa.Date(), nullable=False),
        sa.Column("last_seen_as_of", sa.Date(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_as_of", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_tasks")),
        sa.UniqueConstraint("event_key", name=op.f("uq_reminder_tasks_event_key")),
    )
    with op.batch_alter_table("reminder_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_tasks_rule"), ["rule"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminder_tasks_source_patient_id"),
            ["source", "patient_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_reminder_tasks_status_hospital_id"),
            ["status", "hospital_id"],
            unique=False,
        )

    op.create_table(
        "reminder_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_ref", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["reminder_recipients.id"],
            name=op.f("fk_reminder_messages_recipient_id_reminder_recipients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["reminder_tasks.id"],
            name=op.f("fk_reminder_messages_task_id_reminder_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reminder_messages_idempotency_key")),
        sa.UniqueConstraint(
            "task_id", "recipient_id", name=op.f("uq_reminder_messages_task_id_recipient_id")
        ),
    )
    with op.batch_alter_table("reminder_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_messages_state_not_before"),
            ["state", "not_before"],
            unique=False,
        )

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["reminder_messages.id"],
            name=op.f("fk_delivery_attempts_message_id_reminder_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_message_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("reminder_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_messages_state_not_before"))

    op.drop_table("reminder_messages")
    with op.batch_alter_table("reminder_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_tasks_status_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_tasks_source_patient_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_tasks_rule"))

    op.drop_table("reminder_tasks")
    op.drop_table("reminder_runs")
    op.drop_table("reminder_recipients")
