"""Entries corrected or voided, and a record as it was known on a past day (issue 15 item 3).

The model: the stored record holds the *current* entries; every entry added from the web
application, corrected or voided leaves a :class:`Revision` (the entry before and after, who,
why, and the day it was recorded, ``recorded_on``). Evaluating day ``D`` uses the record as it
was known at the end of ``D``: :func:`as_known_on` undoes, newest first, every revision
recorded after ``D`` — a correction puts the old entry back, a void restores the entry, an
entry added after ``D`` is taken out. So a later correction never changes what an earlier day
said. Entries that came by import carry no revision: they count as known whenever their date
allows (a whole-record re-import is not versioned here; docs/record-validation.md).

Pure data (record v1 JSON): no database, no web framework.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

Action = Literal["add", "correct", "void"]
OBJECT_FAMILIES: Final = ("cancer",)
"""Families that are one object of the record (replaced whole), not a list of entries."""


@dataclass(frozen=True, slots=True)
class Revision:
    """One change to one entry: ``before``/``after`` are the entry's record v1 JSON (``None``
    for an added entry's ``before`` and a voided entry's ``after``)."""

    family: str
    action: Action | str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    username: str
    role: str
    recorded_on: dt.date
    recorded_at: dt.datetime | None = None
    id: int | None = None


def canonical(entry: Any) -> bytes:
    """The comparable form of an entry (sorted keys)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def entries(data: dict[str, Any], family: str) -> list[Any]:
    """The list that holds ``family``'s entries in record JSON ``data`` (created if absent)."""
    if family == "lesions":
        bone = data.setdefault("bone_metastasis", {})
        return bone.setdefault("lesions", [])  # type: ignore[no-any-return]
    return data.setdefault("events", {}).setdefault(family, [])  # type: ignore[no-any-return]


def _find(items: list[Any], entry: Any) -> int | None:
    key = canonical(entry)
    return next((i for i, item in enumerate(items) if canonical(item) == key), None)


def undo(data: dict[str, Any], revision: Revision) -> None:
    """Undo ``revision`` on record JSON ``data`` in place (a no-op when the entry it names is
    no longer there: a later whole-record import replaced it)."""
    if revision.family in OBJECT_FAMILIES:
        if revision.before is not None:
            data[revision.family] = copy.deepcopy(revision.before)
        return
    items = entries(data, revision.family)
    if revision.action == "void":
        if revision.before is not None:
            items.append(copy.deepcopy(revision.before))
        return
    where = _find(items, revision.after)
    if where is None:
        return
    if revision.action == "add" or revision.before is None:
        del items[where]
    else:
        items[where] = copy.deepcopy(revision.before)


def as_known_on(
    data: dict[str, Any], revisions: Iterable[Revision], day: dt.date
) -> dict[str, Any]:
    """Record JSON ``data`` (current) as it was known at the end of ``day``: the revisions
    recorded after ``day`` undone, newest first. Returns a new document."""
    later = [r for r in revisions if r.recorded_on > day]
    if not later:
        return data
    out = copy.deepcopy(data)
    for revision in reversed(later):
        undo(out, revision)
    events = out.get("events")
    if isinstance(events, dict):
        out["events"] = {k: v for k, v in events.items() if v}
    return out


def author_of(revisions: Iterable[Revision], family: str, entry: Any) -> str | None:
    """Who wrote ``entry`` as it stands now (the latest add or correction that produced it);
    ``None`` for an imported entry."""
    key = canonical(entry)
    found = None
    for r in revisions:
        if r.family == family and r.after is not None and canonical(r.after) == key:
            found = r.username
    return found
