"""Point-in-time views of a record: the record as it stood on a day, and the latest value.

Evaluation is point-in-time (rules.md VAL-01): evaluated as of D, a record is read as it stood
on D, so a past day can be replayed exactly. Events dated after D are ignored, not refused
(only dates after the real current date are refused, by the parser). "Latest" follows VAL-07:
the most recent item dated on or before D; on the same day, the last in list order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

from bonepath.record.model import BoneMetastasis, Cancer, Event, Events, Record
from bonepath.vocab import BoneMetStatus

__all__ = ["as_of", "dated_on_or_before", "latest"]

E = TypeVar("E", bound=Event)


def dated_on_or_before(events: Iterable[E], day: dt.date) -> tuple[E, ...]:
    """The events dated on or before ``day``, in their list order (VAL-01)."""
    return tuple(event for event in events if event.date <= day)


def latest(events: Iterable[E], day: dt.date) -> E | None:
    """The most recent event dated on or before ``day``; same day: the last in list order.

    References
    ----------
    rules.md VAL-07 ("Latest").
    """
    found: E | None = None
    for event in events:
        if event.date <= day and (found is None or event.date >= found.date):
            found = event
    return found


def _after(value: dt.date | None, day: dt.date) -> bool:
    return value is not None and value > day


def _events_as_of(events: Events, day: dt.date) -> Events:
    kept = {name: dated_on_or_before(getattr(events, name), day) for name in Events.model_fields}
    return events.model_copy(update=kept)


def _cancer_as_of(cancer: Cancer, day: dt.date) -> Cancer:
    update = {
        name: None
        for name in ("surgery_date", "recurrence_date")
        if _after(getattr(cancer, name), day)
    }
    return cancer.model_copy(update=update) if update else cancer


def _bone_metastasis_as_of(bone: BoneMetastasis, day: dt.date) -> BoneMetastasis:
    if not _after(bone.confirmed_date, day):
        return bone
    status = None if bone.status is BoneMetStatus.CONFIRMED else bone.status
    return bone.model_copy(update={"confirmed_date": None, "status": status})


def as_of(record: Record, day: dt.date) -> Record:
    """The record as it stood on ``day`` (rules.md VAL-01).

    - Every event dated after ``day`` is dropped; the others keep their list order.
    - ``death_date``, ``cancer.surgery_date`` and ``cancer.recurrence_date`` after ``day``
      become None (not yet happened).
    - ``bone_metastasis.confirmed_date`` after ``day`` becomes None, and a recorded status
      ``confirmed`` then becomes None too: on ``day`` the diagnosis was not yet established,
      and the recorded status does not say what it was before (suspected or unknown). The
      engine derives the effective status from the events still visible (DX-07, the
      "Bone-met status" derived fact), so nothing is guessed here. A ``confirmed`` status
      without a ``confirmed_date`` is kept: there is no date to judge it by.

    ``day`` may be any date (past or after today); the result is idempotent:
    ``as_of(as_of(r, d), d) == as_of(r, d)``.
    """
    update: dict[str, object] = {"events": _events_as_of(record.events, day)}
    if _after(record.death_date, day):
        update["death_date"] = None
    update["cancer"] = _cancer_as_of(record.cancer, day)
    if record.bone_metastasis is not None:
        update["bone_metastasis"] = _bone_metastasis_as_of(record.bone_metastasis, day)
    return record.model_copy(update=update)
