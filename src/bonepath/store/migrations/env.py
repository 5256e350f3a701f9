"""Alembic environment: runs on the connection :mod:`bonepath.store.migrate` hands over.

The caller owns the transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), so concurrent first opens of a fresh store cannot both create it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bonepath.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "bonepath migrations run through bonepath.store.migrate (bonepath db upgrade), "
        "which passes the connection; there is no alembic.ini"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLAlchemy emits BEGIN on SQLite too (bonepath.store.db), so DDL is transactional.
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
