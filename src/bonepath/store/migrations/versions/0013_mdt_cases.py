"""The MDT module's core: meetings, attendance, cases, their history, attachments, tasks and
the editable responsibility table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Tables of :mod:`bonepath.store.mdt` (issue 16 items 1-3; docs/mdt.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mdt_meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("host", sa.String(length=16), nullable=False),
        sa.Column("host_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("submission_deadline", sa.Date(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("chair", sa.String(length=64), nullable=True),
        sa.Column("recorder", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_meetings")),
    )
    op.create_index(op.f("ix_mdt_meetings_host_id_date"), "mdt_meetings", ["host_id", "date"])
    op.create_table(
        "mdt_attendance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("specialty", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_mdt_attendance_meeting_id_mdt_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_attendance")),
    )
    op.create_index(op.f("ix_mdt_attendance_meeting_id"), "mdt_attendance", ["meeting_id"])
    op.create_table(
        "mdt_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("question_text", sa.Text(), nullable=False),
        sa.Column("triggers", sa.Text(), nullable=False),
        sa.Column("trigger_date", sa.Date(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("referred_to", sa.String(length=64), nullable=True),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("quorum", _JSON, nullable=True),
        sa.Column("decision", _JSON, nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_mdt_cases_meeting_id_mdt_meetings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_cases")),
    )
    op.create_index(op.f("ix_mdt_cases_state_hospital_id"), "mdt_cases", ["state", "hospital_id"])
    op.create_index(
        op.f("ix_mdt_cases_patient_source_patient_id"),
        "mdt_cases",
        ["patient_source", "patient_id"],
    )
    op.create_index(op.f("ix_mdt_cases_meeting_id"), "mdt_cases", ["meeting_id"])
    op.create_table(
        "mdt_case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["mdt_cases.id"],
            name=op.f("fk_mdt_case_events_case_id_mdt_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_case_events")),
    )
    op.create_index(op.f("ix_mdt_case_events_case_id"), "mdt_case_events", ["case_id"])
    op.create_table(
        "mdt_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["mdt_cases.id"],
            name=op.f("fk_mdt_attachments_case_id_mdt_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_attachments")),
    )
    op.create_index(op.f("ix_mdt_attachments_case_id"), "mdt_attachments", ["case_id"])
    op.create_table(
        "mdt_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("patient_source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["mdt_cases.id"],
            name=op.f("fk_mdt_tasks_case_id_mdt_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_tasks")),
    )
    op.create_index(
        op.f("ix_mdt_tasks_status_owner_role_hospital_id"),
        "mdt_tasks",
        ["status", "owner_role", "hospital_id"],
    )
    op.create_index(op.f("ix_mdt_tasks_case_id"), "mdt_tasks", ["case_id"])
    op.create_table(
        "mdt_responsibilities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_responsibilities")),
        sa.UniqueConstraint(
            "decision", "task", "owner", name=op.f("uq_mdt_responsibilities_decision_task_owner")
        ),
    )


def downgrade() -> None:
    op.drop_table("mdt_responsibilities")
    op.drop_table("mdt_tasks")
    op.drop_table("mdt_attachments")
    op.drop_table("mdt_case_events")
    op.drop_table("mdt_cases")
    op.drop_table("mdt_attendance")
    op.drop_table("mdt_meetings")
