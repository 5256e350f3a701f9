"""Corrections and voids of record entries, with their history (issue 15 item 3).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Table ``entry_revisions`` of :mod:`bonepath.store.revisions`: one row per entry added from the
web application, corrected or voided (who, when, the entry before and after, the reason), so
the record keeps its history and a past day is evaluated as it was known that day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bonepath.store.sqltypes import RECORD_JSON_TYPE, UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entry_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", RECORD_JSON_TYPE, nullable=True),
        sa.Column("after", RECORD_JSON_TYPE, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_revisions")),
    )
    op.create_index(
        op.f("ix_entry_revisions_source_patient_id"),
        "entry_revisions",
        ["source", "patient_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_entry_revisions_source_patient_id"), table_name="entry_revisions")
    op.drop_table("entry_revisions")
