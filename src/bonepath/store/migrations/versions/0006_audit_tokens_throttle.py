"""Security hardening: the audit log closed to TRUNCATE and INSERT OR REPLACE, the last use of
each API token, and login throttling by atomic counters per account and per client address.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

- ``audit_log``: on PostgreSQL a ``BEFORE TRUNCATE`` statement trigger joins the row triggers
  of ``0002`` (UPDATE, DELETE; an ``INSERT ... ON CONFLICT DO UPDATE`` fires the UPDATE one).
  On SQLite ``INSERT OR REPLACE`` deletes the conflicting row without firing the ``BEFORE
  DELETE`` trigger (it fires only with ``PRAGMA recursive_triggers`` on), so a ``BEFORE
  INSERT`` trigger refuses an id that already exists.
- ``api_tokens.last_used_at``; tokens of users disabled before this revision are revoked
  (enabling a user no longer revives them).
- ``login_throttle`` replaces ``login_attempts`` (every attempt stays in the audit log).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE api_tokens SET revoked = TRUE "
        "WHERE user_id IN (SELECT id FROM users WHERE active = FALSE)"
    )
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_window_start"), "login_throttle", ["window_start"], unique=False
    )
    op.drop_index(op.f("ix_login_attempts_username_at"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_client_at"), table_name="login_attempts")
    op.drop_table("login_attempts")


def downgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_client_at"), "login_attempts", ["client", "at"], unique=False
    )
    op.create_index(
        op.f("ix_login_attempts_username_at"), "login_attempts", ["username", "at"], unique=False
    )
    op.drop_index(op.f("ix_login_throttle_window_start"), table_name="login_throttle")
    op.drop_table("login_throttle")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
