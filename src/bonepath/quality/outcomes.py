"""Outcomes: skeletal-related events and survival after bone-metastasis confirmation.

Kaplan-Meier estimates (lifelines) with 95 % confidence intervals (Greenwood, exponential
"log(-log)" bounds, lifelines' default) and numbers at risk, from the per-patient table of
:func:`bonepath.quality.compute.outcomes_expr`:

- **time to first SRE** (trial definition, rules.md §12; and the broad Chinese definition,
  which also counts hypercalcaemia and bone pain NRS >= 4, as a derived view): from the
  confirmation date to the first SRE dated after it, censored at death or the period end.
  Patients whose first SRE came on or before confirmation (presenting SREs) are left out and
  counted separately.
- **time to first SRE before any BTA**: the same, also censored at the first BTA dose — the
  curve the synthetic generator's untreated Weibull is checked against.
- **overall survival**: confirmation to death, censored at the period end.

Each is compared by BTA timing (prompt ≤ 14 days / delayed / never) and by adherence
(standard vs extended intervals). These are observational comparisons (:data:`CAVEAT`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

from bonepath.quality.measures import Text

CAVEAT: Final = Text(
    "以上为观察性比较，并非随机对照结果：各组患者的病情、体能状态、就诊医院和随访时长不同，"
    "且“及时/延迟/从未用药”和“标准/延长间隔”均在确诊后才得以确定（不朽时间偏倚），差异不能解释为"
    "骨改良药物的因果效应。骨改良药物的疗效证据来自随机对照试验。",
    "These are observational comparisons, not randomised results: the groups differ in disease, "
    "performance status, hospital and follow-up, and 'prompt/delayed/never' and "
    "'standard/extended' are only known after confirmation (immortal-time bias), so the "
    "differences cannot be read as causal effects of bone-targeted agents. Evidence of their "
    "effect comes from randomised trials.",
)

AT_RISK_DAYS: Final[tuple[int, ...]] = (0, 90, 180, 365, 540, 730)
"""Days at which numbers at risk are reported (and the chart's x ticks)."""

GROUP_LABELS: Final[dict[str, Text]] = {
    "all": Text("全部", "All"),
    "prompt": Text("及时（≤14天）", "Prompt (≤ 14 d)"),
    "delayed": Text("延迟（>14天）", "Delayed (> 14 d)"),
    "never": Text("从未用药", "Never"),
    "standard": Text("标准间隔", "Standard intervals"),
    "extended": Text("延长间隔", "Extended intervals"),
}

ENDPOINTS: Final[dict[str, Text]] = {
    "sre": Text("至首次SRE时间（试验定义）", "Time to first SRE (trial definition)"),
    "sre_broad": Text(
        "至首次SRE时间（中国宽泛定义：含高钙血症及骨痛NRS≥4）",
        "Time to first SRE (broad Chinese definition: with hypercalcaemia and bone pain NRS ≥ 4)",
    ),
    "sre_untreated": Text(
        "用药前至首次SRE时间（含高钙血症；首剂时删失）",
        "Time to first SRE before BTA (hypercalcaemia included; censored at the first dose)",
    ),
    "os": Text("总生存", "Overall survival"),
}

GROUPINGS: Final[dict[str, Text]] = {
    "all": Text("全部确诊患者", "All confirmed patients"),
    "timing": Text("按用药时机", "By BTA timing"),
    "adherence": Text("按用药间隔", "By adherence"),
}


@dataclass(frozen=True, slots=True)
class KMCurve:
    group: str
    n: int
    events: int
    median_days: float | None
    median_lower: float | None
    median_upper: float | None
    times: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    at_risk: tuple[int, ...]

    def survival_at(self, day: float) -> float:
        """S(day) of the step function."""
        idx = int(np.searchsorted(np.asarray(self.times), day, side="right")) - 1
        return 1.0 if idx < 0 else self.survival[idx]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "events": self.events,
            "median_days": self.median_days,
            "median_ci": [self.median_lower, self.median_upper],
            "at_risk": dict(zip((str(d) for d in AT_RISK_DAYS), self.at_risk, strict=True)),
            "curve": [
                [t, round(s, 4), round(lo, 4), round(hi, 4)]
                for t, s, lo, hi in zip(self.times, self.survival, self.lower, self.upper, strict=True)
            ],
        }


@dataclass(frozen=True, slots=True)
class Analysis:
    endpoint: str
    grouping: str
    curves: tuple[KMCurve, ...]

    def curve(self, group: str) -> KMCurve:
        for c in self.curves:
            if c.group == group:
                return c
        raise KeyError(group)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "grouping": self.grouping,
            "title": {"zh": ENDPOINTS[self.endpoint].zh, "en": ENDPOINTS[self.endpoint].en},
            "curves": [c.to_json() for c in self.curves],
        }


@dataclass(frozen=True, slots=True)
class Outcomes:
    patients: int
    presenting: int
    analyses: tuple[Analysis, ...]

    def analysis(self, endpoint: str, grouping: str) -> Analysis:
        for a in self.analyses:
            if a.endpoint == endpoint and a.grouping == grouping:
                return a
        raise KeyError((endpoint, grouping))

    def to_json(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "presenting_sre": self.presenting,
            "caveat": {"zh": CAVEAT.zh, "en": CAVEAT.en},
            "analyses": [a.to_json() for a in self.analyses],
        }


def _days(later: np.ndarray[Any, Any], earlier: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray((later - earlier).astype("timedelta64[D]"), dtype="float64")


def _col(table: pa.Table, name: str) -> np.ndarray[Any, Any]:
    return np.asarray(table[name].to_numpy(zero_copy_only=False))


def _dates(table: pa.Table, name: str) -> np.ndarray[Any, Any]:
    """A date column as datetime64[D] (NaT for null)."""
    return np.asarray(table[name].cast(pa.timestamp("s")).to_numpy(zero_copy_only=False)).astype(
        "datetime64[D]"
    )


def fit_km(group: str, durations: np.ndarray[Any, Any], observed: np.ndarray[Any, Any]) -> KMCurve:
    """The Kaplan-Meier curve of one group (an empty group gives an empty curve)."""
    at_risk = tuple(int((durations >= d).sum()) for d in AT_RISK_DAYS)
    if len(durations) == 0:
        return KMCurve(group, 0, 0, None, None, None, (), (), (), (), at_risk)
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf.fit(durations, event_observed=observed, label=group)
        ci = kmf.confidence_interval_survival_function_
        median = float(kmf.median_survival_time_)
        med_ci = median_survival_times(kmf.confidence_interval_)
    sf = kmf.survival_function_
    times = tuple(float(t) for t in sf.index.to_numpy())
    lower = tuple(float(v) for v in ci.iloc[:, 0].to_numpy())
    upper = tuple(float(v) for v in ci.iloc[:, 1].to_numpy())
    lo, hi = (float(v) for v in med_ci.iloc[0].to_numpy())
    return KMCurve(
        group=group,
        n=int(len(durations)),
        events=int(observed.sum()),
        median_days=None if np.isinf(median) else median,
        median_lower=None if np.isinf(lo) or np.isnan(lo) else lo,
        median_upper=None if np.isinf(hi) or np.isnan(hi) else hi,
        times=times,
        survival=tuple(float(v) for v in sf.iloc[:, 0].to_numpy()),
        lower=lower,
        upper=upper,
        at_risk=at_risk,
    )


def _analysis(
    endpoint: str,
    grouping: str,
    groups: Sequence[str],
    labels: np.ndarray[Any, Any],
    durations: np.ndarray[Any, Any],
    observed: np.ndarray[Any, Any],
) -> Analysis:
    curves = []
    for g in groups:
        mask = np.ones(len(durations), bool) if g == "all" else labels == g
        curves.append(fit_km(g, durations[mask], observed[mask]))
    return Analysis(endpoint, grouping, tuple(curves))


def analyse(table: pa.Table) -> Outcomes:
    """Every outcome analysis from the per-patient outcome table (vectorised; no patient loop)."""
    confirmed = _dates(table, "confirmed")
    horizon = _dates(table, "horizon")
    death = _dates(table, "death")
    first_dose = _dates(table, "first_dose")
    presenting = _col(table, "presenting").astype(bool)
    timing = np.asarray(table["timing"].to_pylist(), dtype=object)
    adherence = np.asarray(table["adherence"].to_pylist(), dtype=object)

    analyses: list[Analysis] = []
    keep = ~presenting
    for endpoint, column in (("sre", "first_sre"), ("sre_broad", "first_sre_broad")):
        event_day = _dates(table, column)
        has = ~np.isnat(event_day) & (np.nan_to_num(_days(event_day, horizon), nan=1) <= 0)
        end = np.where(has, event_day, horizon)
        durations = np.maximum(_days(end, confirmed), 0.0)[keep]
        observed = has[keep]
        analyses.append(_analysis(endpoint, "all", ("all",), timing[keep], durations, observed))
        analyses.append(
            _analysis(endpoint, "timing", ("prompt", "delayed", "never"), timing[keep], durations, observed)
        )
        analyses.append(
            _analysis(endpoint, "adherence", ("standard", "extended"), adherence[keep], durations, observed)
        )
    # every recorded SRE (hypercalcaemia included, as the trials of zoledronic acid counted
    # it), censored at the first BTA dose: SRE-free time without treatment
    keep_any = ~_col(table, "presenting_any").astype(bool)
    any_day = _dates(table, "first_sre_any")
    has_any = ~np.isnat(any_day) & (np.nan_to_num(_days(any_day, horizon), nan=1) <= 0)
    end_any = np.where(has_any, any_day, horizon)
    dosed = ~np.isnat(first_dose) & (first_dose < end_any)
    untreated_end = np.where(dosed, first_dose, end_any)
    d = np.maximum(_days(untreated_end, confirmed), 0.0)[keep_any]
    analyses.append(
        _analysis("sre_untreated", "all", ("all",), timing[keep_any], d, (has_any & ~dosed)[keep_any])
    )
    died = ~np.isnat(death)
    os_end = np.where(died, death, horizon)
    os_days = np.maximum(_days(os_end, confirmed), 0.0)
    analyses.append(_analysis("os", "all", ("all",), timing, os_days, died))
    analyses.append(_analysis("os", "timing", ("prompt", "delayed", "never"), timing, os_days, died))
    analyses.append(_analysis("os", "adherence", ("standard", "extended"), adherence, os_days, died))
    return Outcomes(int(len(confirmed)), int(presenting.sum()), tuple(analyses))
