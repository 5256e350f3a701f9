"""The shared SQLAlchemy metadata and the column types every store module declares tables with.

:mod:`bonepath.store.schema` (record tables), :mod:`bonepath.store.accounts` and
:mod:`bonepath.store.tasks` all put their tables on :data:`metadata`; they import it from here,
so none of them imports another (``schema`` imports the two others only to register their
tables on the one metadata that migrations compare against).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from typing_extensions import override

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: Final = MetaData(naming_convention=NAMING_CONVENTION)

RECORD_JSON_TYPE: Final = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A UTC timestamp: ``timestamptz`` on PostgreSQL; on SQLite, UTC text read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @override
    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("store timestamps must be timezone-aware")
        return None if value is None else value.astimezone(dt.UTC)

    @override
    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
