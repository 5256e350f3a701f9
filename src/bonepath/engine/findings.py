"""Findings: what an evaluation says about a patient on a day (interfaces.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bonepath.vocab import FindingKind, Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing for one patient (once, or once per item for per-item rules)."""

    rule: str
    kind: FindingKind
    severity: Severity
    title_zh: str
    title_en: str
    due: dt.date | None
    values: dict[str, Any]
    sources: tuple[str, ...]
    item: str | None = None
    order: int = field(default=0, compare=False)

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def sort_key(self) -> tuple[int, str]:
        """Catalogue order, then item: the stable order of JSON output."""
        return (self.order, self.item or "")

    def urgency_key(self) -> tuple[int, str, int, str]:
        """Most urgent first: severity, then earliest due, then catalogue order."""
        due = self.due.isoformat() if self.due else "9999-12-31"
        return (self.severity.rank, due, self.order, self.item or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "due": self.due.isoformat() if self.due else None,
            "values": {k: _json_value(v) for k, v in self.values.items()},
            "sources": list(self.sources),
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The findings of one patient on one day, with the rules version that produced them."""

    patient: str
    source: str
    as_of: dt.date
    rules_version: str
    findings: tuple[Finding, ...]
    deceased: bool = False
    """VAL-09: the record has a ``death_date`` on or before ``as_of`` — no rule fires (set by
    every evaluator: point of care, batch and registry)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "patient": self.patient,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "rules_version": self.rules_version,
        }
        if self.deceased:
            out["deceased"] = True
        out["findings"] = [f.to_json() for f in self.findings]
        return out

    def fired(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule_id]
