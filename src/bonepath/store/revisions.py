"""The history of record entries written from the web application (issue 15 item 3).

Table ``entry_revisions`` (migration ``0009``): one row per entry *added* from a form, *corrected*
or *voided* — the entry before and after (record v1 JSON of the entry), who (user, role), the
reason, and when (``recorded_at`` UTC; ``recorded_on``, the application's day). The record
itself holds the current entries; these rows are the history that lets a past day be evaluated
as it was known that day (:func:`bonepath.record.history.as_known_on`) and say who wrote an
entry (its author may correct or void it). Rows are only ever inserted.

``family`` is an event list of the record (``labs``, ``symptoms``, …), ``lesions``
(``bone_metastasis.lesions``) or ``cancer`` (the cancer object: visceral metastases).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)

from bonepath.record.history import Revision
from bonepath.store.sqltypes import RECORD_JSON_TYPE, UtcDateTime, metadata

entry_revisions: Final = Table(
    "entry_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("family", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("before", RECORD_JSON_TYPE),
    Column("after", RECORD_JSON_TYPE),
    Column("reason", Text),
    Column("username", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_entry_revisions_source_patient_id", "source", "patient_id"),
)


def add_revision(conn: Connection, source: str, patient_id: str, revision: Revision) -> None:
    """Insert one revision (in the caller's transaction: the record write's)."""
    conn.execute(
        insert(entry_revisions).values(
            source=source,
            patient_id=patient_id,
            family=revision.family,
            action=revision.action,
            before=revision.before,
            after=revision.after,
            reason=revision.reason,
            username=revision.username,
            role=revision.role,
            recorded_on=revision.recorded_on,
            recorded_at=revision.recorded_at or dt.datetime.now(dt.UTC),
        )
    )


def revisions_of(engine: Engine, source: str, patient_id: str) -> list[Revision]:
    """Every revision of a patient's entries, oldest first."""
    t = entry_revisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(t).where(t.c.source == source, t.c.patient_id == patient_id).order_by(t.c.id)
        ).mappings()
        return [_revision(row) for row in rows]


def _revision(row: Any) -> Revision:
    return Revision(
        family=row["family"],
        action=row["action"],
        before=row["before"],
        after=row["after"],
        reason=row["reason"],
        username=row["username"],
        role=row["role"],
        recorded_on=row["recorded_on"],
        recorded_at=row["recorded_at"],
        id=row["id"],
    )
