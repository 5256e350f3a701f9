"""Saved worklist views per user (issue 15 item 1).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Table ``worklist_views`` of :mod:`bonepath.store.worklist_views`: a user's named worklist
filters (the page's query string), listed on the worklist page for that user only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worklist_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_views")),
        sa.UniqueConstraint("username", "name", name=op.f("uq_worklist_views_username_name")),
    )


def downgrade() -> None:
    op.drop_table("worklist_views")
