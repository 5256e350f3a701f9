"""The regional MDT network: networks, member hospitals, referrals, consultation threads.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Tables of :mod:`bonepath.store.network` (issue 16 item 4; docs/mdt.md "The regional network").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mdt_networks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("centre_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_networks")),
    )
    op.create_table(
        "mdt_network_members",
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["mdt_networks.id"],
            name=op.f("fk_mdt_network_members_network_id_mdt_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hospital_id", name=op.f("pk_mdt_network_members")),
    )
    op.create_table(
        "mdt_referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("patient_source", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("centre_id", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=64), nullable=True),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("question_text", sa.Text(), nullable=True),
        sa.Column("package", _JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("referred_by", sa.String(length=64), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_by", sa.String(length=64), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_note", sa.Text(), nullable=True),
        sa.Column("meeting_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meeting_link", sa.Text(), nullable=True),
        sa.Column("decision", _JSON, nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=64), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_referrals")),
        sa.UniqueConstraint("code", name=op.f("uq_mdt_referrals_code")),
    )
    op.create_index(
        op.f("ix_mdt_referrals_centre_id_state"), "mdt_referrals", ["centre_id", "state"]
    )
    op.create_index(
        op.f("ix_mdt_referrals_patient_source_patient_id"),
        "mdt_referrals",
        ["patient_source", "patient_id"],
    )
    op.create_table(
        "mdt_referral_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("specialty", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["mdt_referrals.id"],
            name=op.f("fk_mdt_referral_messages_referral_id_mdt_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_referral_messages")),
    )
    op.create_index(
        op.f("ix_mdt_referral_messages_referral_id"), "mdt_referral_messages", ["referral_id"]
    )


def downgrade() -> None:
    op.drop_table("mdt_referral_messages")
    op.drop_table("mdt_referrals")
    op.drop_table("mdt_network_members")
    op.drop_table("mdt_networks")
