"""The rule catalogue: each rule of rules.md as one immutable object, checked when loaded.

A :class:`Rule` carries everything a reader or a finding needs — id, family, kind, default
severity, bilingual title and explanation, sources, the exact ``values`` keys with their types —
and its logic: a function from the evaluation :class:`~bonepath.rules.frame.Frame` to an ibis
table of firing rows. The engine knows nothing about individual rules; adding a rule means
adding one decorated function in its family module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from bonepath.errors import CatalogueError
from bonepath.rules.sources import Citation
from bonepath.vocab import Family, FindingKind, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from bonepath.rules.frame import Frame

RULES_VERSION: Final = "1.1.0"
"""Version of the rule set (rules.md "rules version 1.1"); printed in every output and recorded
with every evaluation."""


class ValueType(StrEnum):
    """Wire types of ``values`` entries (interfaces.md: numbers as JSON numbers)."""

    STRING = "string"
    INT = "int64"
    FLOAT = "float64"
    BOOL = "boolean"
    DATE = "date"
    STRINGS = "string_list"
    """A list of codes, encoded in SQL as a delimited string (rules.expr.str_list)."""

    @property
    def sql_type(self) -> str:
        """The column type in the compiled SQL."""
        return "string" if self is ValueType.STRINGS else self.value


# One type per key across the catalogue, so every rule's values fit one table (the engine
# unions all rules into a single result). Units are in the key names (rules.md).
VALUE_TYPES: Final[dict[str, ValueType]] = {
    "age_years": ValueType.INT,
    "attendees": ValueType.STRINGS,
    "baseline_crcl_ml_min": ValueType.FLOAT,
    "baseline_dose_mg": ValueType.FLOAT,
    "baseline_scr_mg_dl": ValueType.FLOAT,
    "band_dose_mg": ValueType.FLOAT,
    "ca_unit": ValueType.STRING,
    "calcium_mg_daily": ValueType.INT,
    "category": ValueType.STRING,
    "confirmed_date": ValueType.DATE,
    "corrected": ValueType.BOOL,
    "corrected_ca": ValueType.FLOAT,
    "crcl_ml_min": ValueType.FLOAT,
    "date": ValueType.DATE,
    "days_since_confirmation": ValueType.INT,
    "days_since_last_dose": ValueType.INT,
    "decision_within_h": ValueType.INT,
    "derived_date": ValueType.DATE,
    "derived_status": ValueType.STRING,
    "dialysis": ValueType.BOOL,
    "dose_gy": ValueType.FLOAT,
    "dose_mg": ValueType.FLOAT,
    "drug": ValueType.STRING,
    "drugs": ValueType.STRINGS,
    "due": ValueType.DATE,
    "ecog": ValueType.INT,
    "exam_date": ValueType.DATE,
    "factors": ValueType.STRINGS,
    "fractions": ValueType.INT,
    "genes": ValueType.STRINGS,
    "grade": ValueType.INT,
    "hcm": ValueType.BOOL,
    "held_by": ValueType.STRING,
    "infusion_min": ValueType.INT,
    "interval_class": ValueType.STRING,
    "interval_days": ValueType.INT,
    "kps": ValueType.INT,
    "last_assessed": ValueType.DATE,
    "last_dental_date": ValueType.DATE,
    "last_dental_result": ValueType.STRING,
    "last_dose_date": ValueType.DATE,
    "life_expectancy_months": ValueType.FLOAT,
    "mechanical_pain": ValueType.BOOL,
    "missing": ValueType.STRINGS,
    "modality": ValueType.STRING,
    "mri_within_h": ValueType.INT,
    "nrs": ValueType.INT,
    "overdue_days": ValueType.INT,
    "procedure": ValueType.STRING,
    "prognosis": ValueType.STRING,
    "purpose": ValueType.STRING,
    "reason": ValueType.STRING,
    "recommended_dose_mg": ValueType.FLOAT,
    "recorded_status": ValueType.STRING,
    "reminder_date": ValueType.DATE,
    "resume_below_mg_dl": ValueType.FLOAT,
    "rise_mg_dl": ValueType.FLOAT,
    "route": ValueType.STRING,
    "scr_age_days": ValueType.INT,
    "scr_mg_dl": ValueType.FLOAT,
    "score": ValueType.STRING,
    "since": ValueType.DATE,
    "site": ValueType.STRING,
    "site_count": ValueType.INT,
    "stage": ValueType.INT,
    "status": ValueType.STRING,
    "tests": ValueType.STRINGS,
    "total": ValueType.FLOAT,
    "trigger_date": ValueType.DATE,
    "triggers": ValueType.STRINGS,
    "vitamin_d_iu_daily": ValueType.INT,
    "weight_kg": ValueType.FLOAT,
}


@dataclass(frozen=True, slots=True)
class Text:
    """A bilingual text: zh-CN is the default language, English the second."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


RuleLogic = Callable[["Frame"], "ir.Table"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of rules.md.

    ``logic(frame)`` returns one row per firing (per item when ``per_item``) with columns
    ``pk``, optionally ``item``, ``due``, ``kind``, ``severity`` (overrides of the defaults for
    rules whose kind or severity depends on the case, e.g. SAFE-14 by grade), and one column per
    name in ``values``.
    """

    id: str
    family: Family
    kind: FindingKind
    severity: Severity
    title: Text
    logic_text: Text
    sources: tuple[Citation, ...]
    values: tuple[str, ...]
    logic: RuleLogic = field(repr=False, compare=False)
    per_item: bool = False
    kinds: tuple[FindingKind, ...] = ()
    """Every kind the rule can emit (default: just ``kind``)."""
    kind_values: tuple[tuple[FindingKind, tuple[str, ...]], ...] = ()
    """Where a kind carries other keys (the ``data_needed`` forms): kind -> its values keys."""

    @property
    def rendered_sources(self) -> list[str]:
        return [c.render() for c in self.sources]

    @property
    def possible_kinds(self) -> tuple[FindingKind, ...]:
        return self.kinds or (self.kind,)

    def values_for(self, kind: str) -> tuple[str, ...]:
        """The exact ``values`` keys of a finding of this kind (rules.md "values" column)."""
        for k, keys in self.kind_values:
            if k == kind:
                return keys
        return self.values


class Catalogue:
    """The registry of rules, in catalogue order, validated at load."""

    def __init__(self, rules: list[Rule], version: str = RULES_VERSION) -> None:
        self.version = version
        self._rules = list(rules)
        self._by_id = {r.id: r for r in self._rules}
        self._check()

    def _check(self) -> None:
        problems: list[str] = []
        if len(self._by_id) != len(self._rules):
            seen: set[str] = set()
            dupes = {r.id for r in self._rules if r.id in seen or seen.add(r.id)}  # type: ignore[func-returns-value]
            problems.append(f"duplicate rule ids: {sorted(dupes)}")
        for r in self._rules:
            if not r.sources:
                problems.append(f"{r.id}: no source")
            if not (r.title.zh and r.title.en and r.logic_text.zh and r.logic_text.en):
                problems.append(f"{r.id}: title and explanation need zh and en")
            keys = set(r.values).union(*(set(v) for _, v in r.kind_values))
            unknown = sorted(v for v in keys if v not in VALUE_TYPES)
            if unknown:
                problems.append(f"{r.id}: values keys without a type: {unknown}")
            if not r.id.startswith(r.family.value + "-"):
                problems.append(f"{r.id}: id does not match family {r.family.value}")
        if problems:
            raise CatalogueError("rule catalogue is invalid: " + "; ".join(problems))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def __getitem__(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def order(self, rule_id: str) -> int:
        return self._rules.index(self._by_id[rule_id])

    @property
    def value_keys(self) -> tuple[str, ...]:
        """Every values key used by some rule, sorted."""
        keys: set[str] = set()
        for r in self._rules:
            keys.update(r.values)
            for _, more in r.kind_values:
                keys.update(more)
        return tuple(sorted(keys))


_REGISTRY: list[Rule] = []


def rule(
    id: str,
    *,
    family: Family,
    kind: FindingKind,
    severity: Severity,
    title: tuple[str, str],
    logic: tuple[str, str],
    sources: tuple[Citation, ...],
    values: tuple[str, ...] = (),
    per_item: bool = False,
    kinds: tuple[FindingKind, ...] = (),
    kind_values: dict[FindingKind, tuple[str, ...]] | None = None,
) -> Callable[[RuleLogic], RuleLogic]:
    """Register the decorated function as the logic of rule ``id`` (titles as (zh, en))."""

    def register(fn: RuleLogic) -> RuleLogic:
        _REGISTRY.append(
            Rule(
                id=id,
                family=family,
                kind=kind,
                severity=severity,
                title=Text(*title),
                logic_text=Text(*logic),
                sources=sources,
                values=values,
                logic=fn,
                per_item=per_item,
                kinds=kinds,
                kind_values=tuple((kind_values or {}).items()),
            )
        )
        return fn

    return register


def registered_rules() -> list[Rule]:
    return list(_REGISTRY)
