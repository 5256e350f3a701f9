"""Ground truth of the synthetic cohort: the practice models and the rates they imply.

The generator draws every CT's ``bone_window_reviewed`` from a logistic model fitted here to
the whitepaper's stratified figures, and draws time to first SRE from a Weibull fitted to the
whitepaper's two SRE figures. :func:`expected_rate` gives the rate a quality indicator
(rules.md §13) should measure on a large cohort, per stratum where it can be computed, so
that tests of ``quality`` can compare measured with intended values.

How the bone-window strata combine (QC-01): logit p = b0 + b_tier + b_type + b_title, with
hospital (tier, type) and physician title independent. The city-tier and physician-title
marginals are fitted (least squares on the rates; tier exactly); the hospital-type effect is
fixed at the WP odds ratio (general 58 % vs cancer 50 %) because both type levels lie below
the 59 % overall and cannot hold together with it (docs/synthetic-cohort.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bonepath.synth.params import DEFAULT_PARAMS, SynthParams, weight_of

MONTH_DAYS: Final = 365.25 / 12
"""One month in days, for figures quoted in months."""

STRATA: Final = ("city_tier", "hospital_type", "physician_title", "hospital")
"""The strata keys of interfaces.md that :func:`expected_rate` can split by."""

MEASURES: Final = ("QC-01", "QC-02", "QC-03", "QC-04", "QC-06", "QC-07")
"""The indicators whose expected rate follows from the parameters alone."""


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def physician_titles(params: SynthParams = DEFAULT_PARAMS) -> tuple[str, ...]:
    """The titles of one hospital's physician pool (``D01``.. in order), shares as in params."""
    size = params.imaging.physicians_per_hospital
    titles: list[str] = []
    remaining = size
    shares = params.imaging.title_share
    for position, (title, share) in enumerate(shares):
        count = remaining if position == len(shares) - 1 else round(share * size)
        titles.extend([title] * count)
        remaining -= count
    return tuple(titles)


@dataclass(frozen=True, slots=True)
class BoneWindowModel:
    """Logistic model of 'bone window reviewed' for one chest CT (reference: tier1-2, general, chief)."""

    intercept: float
    tier3_4: float
    cancer: float
    associate_chief: float
    attending: float

    def probability(self, city_tier: str, hospital_type: str, title: str) -> float:
        """P(bone window reviewed) for a CT ordered in that stratum."""
        x = self.intercept
        if city_tier == "tier3-4":
            x += self.tier3_4
        if hospital_type == "cancer":
            x += self.cancer
        if title == "associate_chief":
            x += self.associate_chief
        elif title == "attending":
            x += self.attending
        return _expit(x)


def _cell_shares(params: SynthParams) -> dict[tuple[str, str, str], float]:
    """Share of patients (hence of CTs) in each (city_tier, hospital_type, title) cell."""
    total = sum(h.weight for h in params.hospitals)
    titles = physician_titles(params)
    cells: dict[tuple[str, str, str], float] = {}
    for hospital in params.hospitals:
        for title in titles:
            key = (hospital.city_tier, hospital.type, title)
            cells[key] = cells.get(key, 0.0) + hospital.weight / total / len(titles)
    return cells


def _marginal(
    model: BoneWindowModel, cells: Mapping[tuple[str, str, str], float], axis: int, value: str
) -> float:
    num = den = 0.0
    for key, share in cells.items():
        if axis < 0 or key[axis] == value:
            num += share * model.probability(*key)
            den += share
    return num / den


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a 4 x 4 normal-equation system)."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            f = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= f * a[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


@functools.lru_cache(maxsize=8)
def fit_bone_window_model(params: SynthParams = DEFAULT_PARAMS) -> BoneWindowModel:
    """Fit the bone-window model to the WP marginals (Gauss-Newton, weighted least squares).

    Targets: both city-tier rates (weight 10, so they hold to < 0.1 point and the overall
    rate follows from the tier shares) and the three title rates (weight 1). The type
    coefficient is the log odds ratio of the WP general/cancer figures, not fitted.
    """
    img = params.imaging
    cancer = _logit(weight_of(img.bone_window_type, "cancer")) - _logit(
        weight_of(img.bone_window_type, "general")
    )
    cells = _cell_shares(params)
    targets: list[tuple[int, str, float, float]] = [
        (0, tier, rate, 10.0) for tier, rate in img.bone_window_tier
    ] + [(2, title, rate, 1.0) for title, rate in img.bone_window_title]

    def build(theta: list[float]) -> BoneWindowModel:
        return BoneWindowModel(theta[0], theta[1], cancer, theta[2], theta[3])

    def residuals(theta: list[float]) -> list[float]:
        model = build(theta)
        return [
            math.sqrt(w) * (_marginal(model, cells, axis, value) - rate)
            for axis, value, rate, w in targets
        ]

    theta = [_logit(img.bone_window_overall), 0.0, 0.0, 0.0]
    for _ in range(50):
        r = residuals(theta)
        step = 1e-6
        jac = []
        for k in range(len(theta)):
            moved = theta[:]
            moved[k] += step
            jac.append([(a - b) / step for a, b in zip(residuals(moved), r, strict=True)])
        # normal equations J^T J d = -J^T r (jac is stored column-major: jac[k][i])
        jtj = [
            [sum(jac[a][i] * jac[b][i] for i in range(len(r))) for b in range(4)] for a in range(4)
        ]
        jtr = [-sum(jac[a][i] * r[i] for i in range(len(r))) for a in range(4)]
        delta = _solve(jtj, jtr)
        theta = [t + d for t, d in zip(theta, delta, strict=True)]
        if max(abs(d) for d in delta) < 1e-12:
            break
    return build(theta)


@dataclass(frozen=True, slots=True)
class SreModel:
    """Weibull time from confirmation to first SRE without BTA: S(t) = exp(-(t/scale)^shape)."""

    shape: float
    scale_days: float

    def cumulative_hazard(self, days: float) -> float:
        return math.pow(days / self.scale_days, self.shape) if days > 0 else 0.0

    def inverse_cumulative_hazard(self, hazard: float) -> float:
        return self.scale_days * math.pow(hazard, 1.0 / self.shape)

    def survival(self, days: float) -> float:
        """P(no SRE by ``days`` after confirmation) for a patient never given a BTA."""
        return math.exp(-self.cumulative_hazard(days))


@functools.lru_cache(maxsize=8)
def fit_sre_model(params: SynthParams = DEFAULT_PARAMS) -> SreModel:
    """The Weibull through the WP figures: median ~5 months, 41 % by 3 months.

    References
    ----------
    WP SRE chapter: 诊断至首次SRE中位时间 ~5个月 (Tsuya 2007; Decroisette 2011) and
    确诊骨转移3个月后SREs发生率 ~41 % (Bhowmik 2019).
    """
    median = params.sre.median_first_sre_days
    t3 = 3 * MONTH_DAYS
    h_median = math.log(2.0)
    h_t3 = -math.log(1.0 - params.sre.sre_by_3_months)
    shape = math.log(h_median / h_t3) / math.log(median / t3)
    scale = median / h_median ** (1.0 / shape)
    return SreModel(shape=shape, scale_days=scale)


def _hospital_share(params: SynthParams) -> dict[str, float]:
    total = sum(h.weight for h in params.hospitals)
    return {h.id: h.weight / total for h in params.hospitals}


def _by_tier(
    params: SynthParams, rates: Mapping[str, float], by: str | None, value: str | None
) -> float:
    """Average of a tier-dependent rate over the patients of one stratum."""
    shares = _hospital_share(params)
    num = den = 0.0
    for hospital in params.hospitals:
        if by == "hospital_type" and hospital.type != value:
            continue
        if by == "city_tier" and hospital.city_tier != value:
            continue
        if by == "hospital" and hospital.id != value:
            continue
        num += shares[hospital.id] * rates[hospital.city_tier]
        den += shares[hospital.id]
    if den == 0:
        raise ValueError(f"no hospital in stratum {by}={value!r}")
    return num / den


def _bone_window_rate(params: SynthParams, by: str | None, value: str | None) -> float:
    model = fit_bone_window_model(params)
    titles = physician_titles(params)
    shares = _hospital_share(params)
    num = den = 0.0
    for hospital in params.hospitals:
        if by == "hospital_type" and hospital.type != value:
            continue
        if by == "city_tier" and hospital.city_tier != value:
            continue
        if by == "hospital" and hospital.id != value:
            continue
        for title in titles:
            if by == "physician_title" and title != value:
                continue
            w = shares[hospital.id] / len(titles)
            num += w * model.probability(hospital.city_tier, hospital.type, title)
            den += w
    if den == 0:
        raise ValueError(f"no CT in stratum {by}={value!r}")
    return num / den


def _immediate_start_rate(params: SynthParams) -> float:
    bta = params.bta
    s = params.bone.symptomatic_at_detection
    return s * bta.immediate_start_symptomatic + (1 - s) * bta.immediate_start_asymptomatic


def _standard_interval_rate(params: SynthParams) -> float:
    return params.bta.standard_gap


def initial_setting_shares(params: SynthParams = DEFAULT_PARAMS) -> dict[str, float]:
    """Share of patients by setting at diagnosis (stage mix and stage-III resection rate)."""
    total = sum(w for _, w in params.tumour.stage)
    share = {stage: w / total for stage, w in params.tumour.stage}
    resect3 = params.tumour.resect_stage3
    return {
        "advanced": share["IV"],
        "locally_advanced": share["III"] * (1 - resect3),
        "resected": share["I"] + share["II"] + share["III"] * resect3,
    }


def _baseline_survey_rate(params: SynthParams) -> float:
    shares = initial_setting_shares(params)
    return sum(
        shares[setting] * weight_of(params.imaging.baseline_bone_survey, setting)
        for setting in shares
    )


def expected_rate(
    measure: str,
    by: str | None = None,
    value: str | None = None,
    params: SynthParams = DEFAULT_PARAMS,
) -> float:
    """The rate ``measure`` should show on a large cohort, overall or in stratum ``by=value``.

    - ``QC-01``: share of routine chest CTs with ``bone_window_reviewed`` (exact model value).
    - ``QC-02``: share of advanced patients put on 6-monthly bone surveys; a measured QC-02
      lies slightly above it (symptom-driven and confirmation scans can fill a window).
    - ``QC-03``: share of confirmed patients without a recorded life expectancy < 3 months
      whose first BTA dose is planned <= 14 days after confirmation (deaths before the dose
      make the measured rate slightly lower). Same in every stratum.
    - ``QC-04``: share of within-course gaps of standard length (ADH-04). Same in every stratum.
    - ``QC-06``: share of new patients given a baseline bone survey by plan (by setting at
      diagnosis); a lower bound, as symptom-driven scans near diagnosis add to it. Same in
      every stratum.
    - ``QC-07``: share of BTA starters with a dental exam <= 90 days before the first dose that
      did not find disease (``needs_treatment``, rules 1.1) (exact; by city tier).

    ``by`` is one of :data:`STRATA` (or None for the whole cohort). Raises ``ValueError`` for a
    measure or stratum this cannot compute.
    """
    if by is not None and by not in STRATA:
        raise ValueError(f"unknown stratum {by!r}; accepted: {', '.join(STRATA)}")
    if (by is None) != (value is None):
        raise ValueError("give both `by` and `value`, or neither")
    if measure == "QC-01":
        return _bone_window_rate(params, by, value)
    if measure == "QC-02":
        rates = dict(params.imaging.six_monthly_bone_scan)
        if by == "physician_title":
            return _by_tier(params, rates, None, None)
        return _by_tier(params, rates, by, value)
    if measure == "QC-03":
        return _immediate_start_rate(params)
    if measure == "QC-04":
        return _standard_interval_rate(params)
    if measure == "QC-06":
        return _baseline_survey_rate(params)
    if measure == "QC-07":
        # rules 1.1 (SAFE-08): an exam that found disease (needs_treatment) does not count
        cleared = 1.0 - dict(params.bta.dental_results).get("needs_treatment", 0.0)
        rates = {tier: rate * cleared for tier, rate in params.bta.dental_before_start}
        if by == "physician_title":
            return _by_tier(params, rates, None, None)
        return _by_tier(params, rates, by, value)
    raise ValueError(f"no expected rate for {measure!r}; accepted: {', '.join(MEASURES)}")
