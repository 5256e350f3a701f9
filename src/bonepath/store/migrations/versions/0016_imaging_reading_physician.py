"""The study's reading physician on the imaging link (QC-11 by reading radiologist, issue 17).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

``imaging_studies.reading_physician``: the DICOM study's NameOfPhysiciansReadingStudy
(0008,1060) as read when the study was linked or opened; null when the header has none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("imaging_studies") as batch:
        batch.add_column(sa.Column("reading_physician", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imaging_studies") as batch:
        batch.drop_column("reading_physician")
