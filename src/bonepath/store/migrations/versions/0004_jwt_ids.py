"""JWT ids of the CDS Hooks clients, kept until they expire (replay protection shared by every
server process).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Table ``jwt_ids`` of :mod:`bonepath.store.accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jwt_ids",
        sa.Column("iss", sa.String(length=255), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti", name=op.f("pk_jwt_ids")),
    )
    op.create_index(op.f("ix_jwt_ids_expires_at"), "jwt_ids", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_jwt_ids_expires_at"), table_name="jwt_ids")
    op.drop_table("jwt_ids")
