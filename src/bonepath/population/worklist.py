"""Worklists: the findings of a registry as one list of items, filtered and most urgent first.

An item is a finding with the patient it belongs to (interfaces.md ``worklist``). Filters
select items, never change one: the items of one patient are exactly the findings that
``evaluate --patient`` gives for that patient on the same day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Final

from bonepath.engine.findings import Finding
from bonepath.vocab import FindingKind, Severity

_NO_DUE = dt.date.max

WORKLIST_KINDS: Final[frozenset[FindingKind]] = frozenset(
    {FindingKind.ACTION, FindingKind.REMINDER, FindingKind.ALERT, FindingKind.DATA_NEEDED}
)
"""The kinds a worklist lists when no kind is asked for (CLI, API; reminder tasks likewise).

``info`` findings — scores, interval classes, the dose of a course already at the right dose
(BTA-03/04/05, rules.md §4 v1.1) — are shown with the patient, never as a worklist row unless
asked for (``--kind info``)."""


@dataclass(frozen=True, slots=True)
class WorklistItem:
    """One finding of one patient on one day, with where the patient is treated."""

    patient: str
    source: str
    hospital: str | None
    department: str | None
    as_of: dt.date
    finding: Finding
    physician: str | None = None
    """The responsible physician's id (``physician.id``); not part of the item's JSON."""

    @property
    def rule(self) -> str:
        return self.finding.rule

    @property
    def kind(self) -> FindingKind:
        return self.finding.kind

    @property
    def severity(self) -> Severity:
        return self.finding.severity

    @property
    def due(self) -> dt.date | None:
        return self.finding.due

    @property
    def days_overdue(self) -> int:
        """Whole days past the due day on ``as_of`` (0 when not due yet or undated)."""
        if self.due is None or self.due >= self.as_of:
            return 0
        return (self.as_of - self.due).days

    def urgency_key(self) -> tuple[int, int, dt.date, int, int, str, str, str, dt.date, str]:
        """Most urgent first (docs/registry.md "Ranking"):

        0. ``critical`` items (an emergency: cord compression, grade 3–4 calcium, an unstable
           spine) before everything else, by due day (undated: now);
        1. overdue items, the longest overdue first, then by severity;
        2. items due today or later, the earliest first, then by severity; an undated
           action or alert is due now (it ranks with today's items);
        3. undated information, by severity;
        4. ``data_needed`` items last, by severity.

        Then the rule (catalogue order); source, patient, item and day only make it total.
        """
        due = self.due
        kind = self.kind
        if self.severity is Severity.CRITICAL:
            tier, overdue, when = -1, 0, due or self.as_of
        elif kind is FindingKind.DATA_NEEDED:
            tier, overdue, when = 3, 0, due or _NO_DUE
        elif due is not None and due < self.as_of:
            tier, overdue, when = 0, -(self.as_of - due).days, self.as_of
        elif due is not None or kind in (FindingKind.ACTION, FindingKind.ALERT):
            tier, overdue, when = 1, 0, due or self.as_of
        else:
            tier, overdue, when = 2, 0, _NO_DUE
        return (
            tier,
            overdue,
            when,
            self.severity.rank,
            self.finding.order,
            self.source,
            self.patient,
            self.finding.item or "",
            self.as_of,
            self.rule,
        )

    def to_json(self) -> dict[str, Any]:
        """The item as interfaces.md writes it (``values`` exactly as the finding's)."""
        finding = self.finding.to_json()
        return {
            "patient": self.patient,
            "source": self.source,
            "hospital": self.hospital,
            "rule": finding["rule"],
            "kind": finding["kind"],
            "severity": finding["severity"],
            "due": finding["due"],
            "values": finding["values"],
        }


@dataclass(frozen=True, slots=True)
class WorklistFilter:
    """Which items a worklist shows; an empty collection means "any".

    ``rules`` holds rule ids (``ADH-03``) or family names (``ADH``: every ``ADH-xx``).
    ``due_within_days`` keeps items due on or before ``as_of + N`` days, overdue ones included;
    items without a due day are then left out, unless ``keep_undated``.
    """

    kinds: Collection[FindingKind] = ()
    rules: Collection[str] = ()
    hospitals: Collection[str] = ()
    departments: Collection[str] = ()
    physicians: Collection[str] = ()
    due_within_days: int | None = None
    keep_undated: bool = False
    """With ``due_within_days``: keep the items that have no due day (alerts, data needed)."""

    def __post_init__(self) -> None:
        if self.due_within_days is not None and self.due_within_days < 0:
            raise ValueError("due_within_days must be 0 or more")

    def key(self) -> tuple[object, ...]:
        """The filter as a hashable value: equal for filters that keep the same items."""
        return (
            frozenset(self.kinds),
            frozenset(self.rules),
            frozenset(self.hospitals),
            frozenset(self.departments),
            frozenset(self.physicians),
            self.due_within_days,
            self.keep_undated,
        )

    def accepts(self, item: WorklistItem) -> bool:
        if self.kinds and item.kind not in self.kinds:
            return False
        if self.rules and not any(
            item.rule == rule or item.rule.startswith(f"{rule}-") for rule in self.rules
        ):
            return False
        if self.hospitals and item.hospital not in self.hospitals:
            return False
        if self.departments and item.department not in self.departments:
            return False
        if self.physicians and item.physician not in self.physicians:
            return False
        if self.due_within_days is not None:
            last = item.as_of + dt.timedelta(days=self.due_within_days)
            if item.due is None:
                return self.keep_undated
            if item.due > last:
                return False
        return True


def build_worklist(
    items: Iterable[WorklistItem], worklist_filter: WorklistFilter | None = None
) -> list[WorklistItem]:
    """The items that ``worklist_filter`` accepts, most urgent first."""
    chosen = items if worklist_filter is None else (i for i in items if worklist_filter.accepts(i))
    return sorted(chosen, key=WorklistItem.urgency_key)


def worklist_json(
    as_of: dt.date, rules_version: str, items: Iterable[WorklistItem]
) -> dict[str, Any]:
    """The ``worklist --format json`` document of interfaces.md."""
    return {
        "as_of": as_of.isoformat(),
        "rules_version": rules_version,
        "items": [item.to_json() for item in items],
    }
