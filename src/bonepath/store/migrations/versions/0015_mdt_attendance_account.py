"""MDT attendance names an account (issue 16: "my cases" by account, not by a typed name).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

``mdt_attendance.username``: the account of the hospital who is planned or attended for a
specialty (null for a guest written by name, or the specialty only).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mdt_attendance") as batch:
        batch.add_column(sa.Column("username", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mdt_attendance") as batch:
        batch.drop_column("username")
