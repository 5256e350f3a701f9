"""The app's clock: the time stamped on stored changes (case history, meetings, tasks,
referrals, audit rows).

Normally now. Under :func:`on_day` (the demo's seeding, whose day is pinned, e.g. 2026-11-01)
it is the time of day now on that day (Asia/Shanghai), so the times the demo stores agree with
the dates its records and pages show, as ``mdt_service.moment(context.today())`` does for the
services. Pure standard library; a context variable, so concurrent requests do not share it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

ZONE: Final = zoneinfo.ZoneInfo("Asia/Shanghai")
_DAY: ContextVar[dt.date | None] = ContextVar("bonepath_clock_day", default=None)


def at_day(day: dt.date) -> dt.datetime:
    """Now, when ``day`` is the real local day; else the local time of day now on ``day`` (UTC)."""
    now = dt.datetime.now(dt.UTC)
    local = now.astimezone(ZONE)
    if local.date() == day:
        return now
    return dt.datetime.combine(day, local.time(), ZONE).astimezone(dt.UTC)


def now() -> dt.datetime:
    """The time to stamp a change with (UTC): on the pinned day under :func:`on_day`."""
    day = _DAY.get()
    return dt.datetime.now(dt.UTC) if day is None else at_day(day)


@contextmanager
def on_day(day: dt.date) -> Iterator[None]:
    """Stamp the changes made inside on ``day`` (:func:`now`)."""
    token = _DAY.set(day)
    try:
        yield
    finally:
        _DAY.reset(token)
