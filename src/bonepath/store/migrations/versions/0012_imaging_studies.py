"""CT studies linked to imaging items, and who marked the bone window read (issue 17 item 2).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Table ``imaging_studies`` of :mod:`bonepath.store.imaging`: one row per imaging item of a
patient (``item_key`` = date/modality/ordinal) linked to a DICOM study (StudyInstanceUID, the
series shown), with the bone-window review click (who, role, when, the window shown).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imaging_studies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=128), nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("series_uid", sa.String(length=64), nullable=True),
        sa.Column("linked_by", sa.String(length=64), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_role", sa.String(length=32), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_window", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_studies")),
        sa.UniqueConstraint(
            "patient_source", "patient_id", "item_key", name=op.f("uq_imaging_studies_item")
        ),
    )
    op.create_index(
        op.f("ix_imaging_studies_study_uid"), "imaging_studies", ["study_uid"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_imaging_studies_study_uid"), table_name="imaging_studies")
    op.drop_table("imaging_studies")
