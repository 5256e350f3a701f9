"""Saved worklist views (issue 15 item 1): a user's named worklist filters.

A view is the worklist page's query string (``kind=action&hospital=H01&due_within=7``) under a
name the user chose; each user sees and deletes only their own (table ``worklist_views``,
migration ``0010``). The query is stored as text and read back through the worklist's own
filter parser, so a view can never carry more than the filters a user could type.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)

from bonepath.errors import InputError
from bonepath.store.sqltypes import UtcDateTime, metadata

NAME_MAX: Final = 60
QUERY_MAX: Final = 2000
VIEWS_MAX: Final = 30
"""Views one user may keep."""

worklist_views: Final = Table(
    "worklist_views",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("query", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("username", "name"),
)


@dataclass(frozen=True, slots=True)
class SavedView:
    id: int
    name: str
    query: str


def list_views(engine: Engine, username: str) -> list[SavedView]:
    """The user's views, by name."""
    t = worklist_views
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.id, t.c.name, t.c.query).where(t.c.username == username).order_by(t.c.name)
        ).all()
    return [SavedView(row.id, row.name, row.query) for row in rows]


def save_view(engine: Engine, username: str, name: str, query: str) -> SavedView:
    """Keep ``query`` under ``name`` for ``username`` (a view of the same name is replaced).

    Raises :class:`InputError` for an empty or long name, long filters or too many views (the
    worklist page checks these first and says so in the page's language)."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise InputError(f"a view name is 1 to {NAME_MAX} characters")
    if len(query) > QUERY_MAX:
        raise InputError(f"a view's filters are at most {QUERY_MAX} characters")
    t = worklist_views
    with engine.begin() as conn:
        found = conn.execute(
            select(t.c.id).where(t.c.username == username, t.c.name == name)
        ).first()
        if found is not None:
            conn.execute(update(t).where(t.c.id == found.id).values(query=query))
            return SavedView(found.id, name, query)
        count = len(conn.execute(select(t.c.id).where(t.c.username == username)).all())
        if count >= VIEWS_MAX:
            raise InputError(f"at most {VIEWS_MAX} saved views")
        new_id = conn.execute(
            insert(t).values(
                username=username, name=name, query=query, created_at=dt.datetime.now(dt.UTC)
            )
        ).inserted_primary_key
        assert new_id is not None
        return SavedView(int(new_id[0]), name, query)


def delete_view(engine: Engine, username: str, view_id: int) -> bool:
    """Remove the user's view ``view_id``; False when the user has no such view."""
    t = worklist_views
    with engine.begin() as conn:
        done = conn.execute(delete(t).where(t.c.id == view_id, t.c.username == username))
    return done.rowcount > 0
