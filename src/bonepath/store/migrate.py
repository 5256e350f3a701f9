"""Schema migrations, run from code: ``bonepath db upgrade`` and every :func:`open_store`.

The Alembic scripts ship inside the package (``bonepath/store/migrations``); the
configuration is built here, so no ``alembic.ini`` is needed at run time.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from bonepath.store.db import write_transaction

SCRIPT_LOCATION: Final = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged scripts, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this version of bonepath."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError(f"no migrations under {SCRIPT_LOCATION}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at; None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str | None:
    """Migrate the store to the newest schema; returns the revision it was at before.

    A store already at head costs one read. Otherwise the migration runs in one write
    transaction, so an interrupted or concurrent upgrade leaves the schema as it was.
    """
    with engine.connect() as conn:
        before = current_revision(conn)
    if before == head_revision():
        return before
    with write_transaction(engine) as conn:
        before = current_revision(conn)
        if before != head_revision():
            command.upgrade(alembic_config(conn), "head")
    return before
