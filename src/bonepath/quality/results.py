"""The quality report: every measure's rate, overall and per stratum, as plain data.

Built from the rows of the ``qc_strata`` stage (:mod:`bonepath.quality.compute`); serialised
to the JSON of interfaces.md (``quality --format json``), with the additions a reader needs
(``small`` on a stratum with fewer than :data:`~bonepath.quality.measures.SMALL_STRATUM` units
in the denominator, the stratum's whitepaper baseline, a ``note`` where a numerator cannot be
known) — additions only, no key of interfaces.md renamed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bonepath.quality.measures import MEASURES, SMALL_STRATUM, STRATA, Measure, Text

QC08_NOTE: Final = Text(
    "分子不可得：登记库中没有ADH-03随访任务（提醒服务未运行），分母为报告期止日ADH-03触发的患者，"
    "无法得知是否在7天内关闭并记录原因。",
    "Numerator not available: the store holds no ADH-03 follow-up tasks (the reminder service "
    "has not run), so the denominator is the patients for whom ADH-03 fires on the period end "
    "and whether a task was closed with a reason within 7 days is unknown.",
)


def rate(numerator: int | None, denominator: int) -> float | None:
    """numerator / denominator, ``None`` when the denominator is 0 or the numerator unknown."""
    if numerator is None or denominator == 0:
        return None
    return numerator / denominator


@dataclass(frozen=True, slots=True)
class StratumResult:
    by: str
    value: str | None
    numerator: int | None
    denominator: int
    baseline: float | None = None

    @property
    def rate(self) -> float | None:
        return rate(self.numerator, self.denominator)

    @property
    def small(self) -> bool:
        return self.denominator < SMALL_STRATUM

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": _round(self.rate),
            "small": self.small,
            "baseline": self.baseline,
        }


@dataclass(frozen=True, slots=True)
class MeasureResult:
    measure: Measure
    numerator: int | None
    denominator: int
    strata: tuple[StratumResult, ...]
    note: Text | None = None

    @property
    def id(self) -> str:
        return self.measure.id

    @property
    def rate(self) -> float | None:
        return rate(self.numerator, self.denominator)

    def stratum(self, by: str, value: str | None) -> StratumResult | None:
        for s in self.strata:
            if s.by == by and s.value == value:
                return s
        return None

    def by(self, key: str) -> tuple[StratumResult, ...]:
        return tuple(s for s in self.strata if s.by == key)

    def to_json(self) -> dict[str, Any]:
        m = self.measure
        # the keys of interfaces.md first, then additions
        out: dict[str, Any] = {
            "id": m.id,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": _round(self.rate),
            "baseline": m.baseline,
            "strata": [s.to_json() for s in self.strata],
            "name": {"zh": m.name.zh, "en": m.name.en},
            "baseline_text": {"zh": m.baseline_text.zh, "en": m.baseline_text.en},
            "unit": m.unit.value,
        }
        if self.note is not None:
            out["note"] = {"zh": self.note.zh, "en": self.note.en}
        return out


@dataclass(frozen=True, slots=True)
class QualityReport:
    start: dt.date
    end: dt.date
    measures: tuple[MeasureResult, ...]
    hospitals: tuple[str, ...] = ()
    """The hospitals the report was restricted to (empty: the whole registry)."""
    mdt: Mapping[str, Any] | None = None
    """QC-13..QC-15 (distributions and counts from the MDT tables; JSON of
    :mod:`bonepath.quality.mdt_indicators`), when the caller read them."""
    qc11_readers: Sequence[Mapping[str, Any]] | None = None
    """QC-11 by reading radiologist (JSON rows of
    :func:`bonepath.population.qc11_readers.qc11_by_reader`), when the caller read them."""

    def __getitem__(self, measure_id: str) -> MeasureResult:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "measures": [m.to_json() for m in self.measures],
        }
        if self.hospitals:
            out["hospitals"] = list(self.hospitals)
        if self.mdt is not None:
            out["mdt"] = dict(self.mdt)
        if self.qc11_readers is not None:
            out["qc11_by_reader"] = [dict(r) for r in self.qc11_readers]
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _sort_key(by: str, value: str | None) -> tuple[int, str]:
    return (STRATA.index(by), "" if value is None else value)


def build_report(
    rows: Iterable[Mapping[str, Any]],
    start: dt.date,
    end: dt.date,
    hospitals: Iterable[str] = (),
    *,
    tasks: bool = False,
) -> QualityReport:
    """The report from ``qc_strata`` rows (measure, by, value, numerator, known, denominator).

    A measure with no unit gets zeros (rate null); a numerator is ``None`` when no unit's
    outcome is known (QC-08 without task data: ``tasks`` false, then it carries a note).
    """
    overall: dict[str, tuple[int | None, int]] = {}
    strata: dict[str, list[StratumResult]] = {m.id: [] for m in MEASURES}
    by_id = {m.id: m for m in MEASURES}
    for row in rows:
        mid = str(row["measure"])
        known = int(row["known"] or 0)
        num = int(row["numerator"]) if known and row["numerator"] is not None else None
        den = int(row["denominator"])
        if row["by"] is None:
            overall[mid] = (num, den)
            continue
        by = "hospital" if row["by"] == "hospital_id" else str(row["by"])
        value = None if row["value"] is None else str(row["value"])
        strata[mid].append(
            StratumResult(
                by, value, num, den, by_id[mid].stratum_baseline(by, value) if value else None
            )
        )
    results = []
    for m in MEASURES:
        num, den = overall.get(m.id, (0, 0))
        if m.id == "QC-08" and not tasks:
            num = None
        note = QC08_NOTE if m.id == "QC-08" and not tasks else None
        ordered = tuple(sorted(strata[m.id], key=lambda s: _sort_key(s.by, s.value)))
        results.append(MeasureResult(m, num, den, ordered, note))
    return QualityReport(start, end, tuple(results), tuple(sorted(hospitals)))
