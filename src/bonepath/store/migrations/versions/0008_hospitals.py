"""Hospitals registered by an administrator (issue 15 item 7).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

Table ``hospitals`` of :mod:`bonepath.store.hospitals`: id, name, city tier, type and the
departments it runs. A hospital named by stored patients is known without a row here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hospitals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city_tier", sa.String(length=16), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("departments", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospitals")),
    )


def downgrade() -> None:
    op.drop_table("hospitals")
