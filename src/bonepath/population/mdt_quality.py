"""MDT timeliness and the regional network's use (issue 16 item 5; docs/quality.md QC-13..QC-15).

QC-12 (MDT-01 triggers discussed by their due date) is a proportion of the one set-based pass
(:mod:`bonepath.quality.compute`). The three indicators here are read from the MDT module's own
tables, because the record holds neither when a case was decided nor when its tasks were done:

- **QC-13** days from the MDT-01 trigger to the decision: MDT cases made from the finding
  (``trigger_date``) and decided in the period (``decided_on``); median, quartiles, n;
- **QC-14** days from the decision to its implementation: cases decided in the period whose
  every task is done (the day of the last task done); median, quartiles, n;
- **QC-15** referrals to a regional centre by the referring hospital's city tier: referrals
  sent in the period — sent, answered, accepted, revoked — and the median days from referral to
  the centre's answer.

Scope: the hospitals given (the caller's grant or the one chosen), all when empty.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, func, select

from bonepath.quality.results import QualityReport
from bonepath.store import mdt as mdt_store
from bonepath.store import network
from bonepath.store.hospitals import list_hospitals

ZONE: Final = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Days:
    """A distribution of whole days."""

    n: int
    median: float | None
    p25: float | None
    p75: float | None

    @classmethod
    def of(cls, values: Sequence[int]) -> Days:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        if len(ordered) == 1:
            return cls(1, float(ordered[0]), float(ordered[0]), float(ordered[0]))
        q = statistics.quantiles(ordered, n=4, method="inclusive")
        return cls(len(ordered), float(statistics.median(ordered)), q[0], q[2])

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "median": self.median, "p25": self.p25, "p75": self.p75}


@dataclass(frozen=True, slots=True)
class TierRow:
    city_tier: str | None
    referred: int
    answered: int
    accepted: int
    revoked: int
    days_to_answer: Days

    def to_json(self) -> dict[str, Any]:
        return {
            "city_tier": self.city_tier,
            "referred": self.referred,
            "answered": self.answered,
            "accepted": self.accepted,
            "revoked": self.revoked,
            "days_to_answer": self.days_to_answer.to_json(),
        }


@dataclass(frozen=True, slots=True)
class MdtIndicators:
    start: dt.date
    end: dt.date
    trigger_to_decision: Days
    decision_to_implementation: Days
    referrals_by_tier: tuple[TierRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "QC-13": {"unit": "days", **self.trigger_to_decision.to_json()},
            "QC-14": {"unit": "days", **self.decision_to_implementation.to_json()},
            "QC-15": [row.to_json() for row in self.referrals_by_tier],
        }


def with_mdt(report: QualityReport, engine: Engine) -> QualityReport:
    """``report`` carrying QC-13..QC-15 of its period and hospitals (``report.mdt``): the
    ``mdt`` key of the JSON, rows of the CSV, a section of the printable report, MeasureReports
    of the FHIR export (:mod:`bonepath.quality.mdt_indicators`)."""
    found = mdt_indicators(engine, report.start, report.end, report.hospitals).to_json()
    del found["from"], found["to"]
    return dataclasses.replace(report, mdt=found)


def _local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(ZONE).date()


def mdt_indicators(
    engine: Engine, start: dt.date, end: dt.date, hospitals: Sequence[str] = ()
) -> MdtIndicators:
    """QC-13, QC-14, QC-15 for ``[start, end]`` over ``hospitals`` (empty: every hospital)."""
    scope = list(hospitals) or None
    cases = mdt_store.list_cases(engine, hospitals=scope)
    decided = [c for c in cases if c.decision is not None and start <= c.decision.decided_on <= end]
    to_decision = [
        (c.decision.decided_on - c.trigger_date).days
        for c in decided
        if c.decision is not None and c.trigger_date is not None
    ]
    implemented = [c for c in decided if c.state.value == "implemented"]
    last_done: dict[int, dt.datetime] = {}
    if implemented:
        t = mdt_store.mdt_tasks
        with engine.connect() as conn:
            done_rows = conn.execute(
                select(t.c.case_id, func.max(t.c.done_at))
                .where(t.c.case_id.in_([c.id for c in implemented]))
                .group_by(t.c.case_id)
            ).all()
        last_done = {case_id: at for case_id, at in done_rows if at is not None}
    to_implementation = [
        (_local_day(last_done[c.id]) - c.decision.decided_on).days
        for c in implemented
        if c.decision is not None and c.id in last_done
    ]
    tiers = {h.id: (h.city_tier.value if h.city_tier else None) for h in list_hospitals(engine)}
    referrals = [
        r
        for r in network.list_referrals(engine, hospitals=scope)
        if start <= _local_day(r.referred_at) <= end
    ]
    rows: list[TierRow] = []
    for tier in sorted({tiers.get(r.hospital_id) for r in referrals}, key=lambda v: v or "~"):
        mine = [r for r in referrals if tiers.get(r.hospital_id) == tier]
        answered = [r for r in mine if r.answered_at is not None]
        rows.append(
            TierRow(
                tier,
                len(mine),
                len(answered),
                sum(1 for r in mine if r.accepted_at is not None),
                sum(1 for r in mine if r.state == "revoked"),
                Days.of(
                    [
                        (_local_day(r.answered_at) - _local_day(r.referred_at)).days
                        for r in answered
                        if r.answered_at is not None
                    ]
                ),
            )
        )
    return MdtIndicators(start, end, Days.of(to_decision), Days.of(to_implementation), tuple(rows))
