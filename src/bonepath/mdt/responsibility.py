"""The responsibility table (责任分工表): decision type → tasks with an owner role and a due
date (issue 16 item 3).

The packaged default is ``responsibility.toml``; the store keeps the editable copy (seeded from
it, changed by admins) and hands the rows back as :class:`Responsibility` values, so the code
that turns a decision into tasks (:func:`tasks_for`) is the same for both.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from bonepath.errors import ConfigError, Problem, RecordRefused
from bonepath.mdt.model import OWNER_ROLES, DecisionType

MAX_DUE_DAYS = 365


@dataclass(frozen=True, slots=True)
class Responsibility:
    """One row: decision ``decision`` gives role ``owner`` task ``task``, due ``due_days``
    after the decision."""

    decision: DecisionType
    task: str
    owner: str
    due_days: int
    title_zh: str
    title_en: str

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "task": self.task,
            "owner": self.owner,
            "due_days": self.due_days,
            "title": {"zh": self.title_zh, "en": self.title_en},
        }


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """A task a decision makes, before it is stored."""

    decision: DecisionType
    code: str
    owner_role: str
    due: dt.date
    title_zh: str
    title_en: str


def validate_row(
    decision: str, task: str, owner: str, due_days: object, zh: str, en: str, *, path: str = ""
) -> Responsibility:
    """A row checked like any input: known decision and role, 0..365 days, both titles.

    Raises :class:`RecordRefused` listing every problem (codes ``UNKNOWN_CODE``,
    ``OUT_OF_RANGE``, ``MISSING_FIELD``)."""
    problems: list[Problem] = []
    if decision not in {d.value for d in DecisionType}:
        problems.append(
            Problem(f"{path}/decision", "UNKNOWN_CODE", f"unknown decision {decision!r}",
                    tuple(d.value for d in DecisionType))
        )
    if owner not in OWNER_ROLES:
        problems.append(
            Problem(f"{path}/owner", "UNKNOWN_CODE", f"unknown owner role {owner!r}", OWNER_ROLES)
        )
    days: int | None = None
    if isinstance(due_days, bool) or not isinstance(due_days, int | str):
        problems.append(Problem(f"{path}/due_days", "WRONG_TYPE", "due_days is a whole number"))
    else:
        try:
            days = int(due_days)
        except ValueError:
            problems.append(
                Problem(f"{path}/due_days", "WRONG_TYPE", "due_days is a whole number")
            )
        else:
            if not 0 <= days <= MAX_DUE_DAYS:
                problems.append(
                    Problem(f"{path}/due_days", "OUT_OF_RANGE",
                            f"due_days {days} is outside 0..{MAX_DUE_DAYS}")
                )
    for key, value in (("task", task), ("zh", zh), ("en", en)):
        if not str(value or "").strip():
            problems.append(Problem(f"{path}/{key}", "MISSING_FIELD", f"{key} is required"))
    if problems:
        raise RecordRefused(problems)
    assert days is not None
    return Responsibility(
        DecisionType(decision), task.strip(), owner, days, zh.strip(), en.strip()
    )


def parse_table(data: Mapping[str, Any]) -> tuple[Responsibility, ...]:
    rows: list[Responsibility] = []
    for decision, entries in data.items():
        for i, entry in enumerate(entries):
            try:
                rows.append(
                    validate_row(
                        decision,
                        str(entry.get("task", "")),
                        str(entry.get("owner", "")),
                        entry.get("due_days"),
                        str(entry.get("zh", "")),
                        str(entry.get("en", "")),
                        path=f"/{decision}/{i}",
                    )
                )
            except RecordRefused as exc:
                raise ConfigError(f"responsibility table: {exc}") from exc
    return tuple(rows)


@cache
def default_table() -> tuple[Responsibility, ...]:
    """The packaged default (``bonepath/mdt/responsibility.toml``)."""
    text = files("bonepath.mdt").joinpath("responsibility.toml").read_text(encoding="utf-8")
    return parse_table(tomllib.loads(text))


def tasks_for(
    decisions: Iterable[DecisionType], decided_on: dt.date, table: Sequence[Responsibility]
) -> tuple[PlannedTask, ...]:
    """The tasks the table gives each decision, in decision then table order; one task per
    (code, owner) even when two decisions give the same (e.g. two dental checks)."""
    seen: set[tuple[str, str]] = set()
    out: list[PlannedTask] = []
    for decision in decisions:
        for row in table:
            if row.decision is not decision or (row.task, row.owner) in seen:
                continue
            seen.add((row.task, row.owner))
            out.append(
                PlannedTask(
                    decision,
                    row.task,
                    row.owner,
                    decided_on + dt.timedelta(days=row.due_days),
                    row.title_zh,
                    row.title_en,
                )
            )
    return tuple(out)
