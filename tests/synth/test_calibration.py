"""Calibration: the practice models hit the whitepaper figures, and the cohort measures them.

Model tests check the fitted models analytically; cohort tests measure the indicators of
rules.md §13 on 20,000 patients (tests/synth/support.py, written from the rules, not from the
generator) and compare them with ``expected_rate``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from bonepath.synth import DEFAULT_PARAMS, expected_rate, fit_bone_window_model, fit_sre_model
from bonepath.synth.calibration import MONTH_DAYS, initial_setting_shares, physician_titles

from .conftest import AS_OF
from .support import (
    baseline_survey,
    bta_before_bone_surgery,
    chest_ct_reviewed,
    day,
    dental_before_bta,
    events,
    horizon,
    immediate_bta,
    six_monthly_survey,
    standard_intervals,
    untreated_sre_survival,
)

Cohort = list[dict[str, Any]]

# ---- the models --------------------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "target"), [("tier1-2", 0.65), ("tier3-4", 0.51)])
def test_bone_window_model_reproduces_the_tier_rates(tier: str, target: float) -> None:
    """WP CT骨窗 分层分析: 一二线 65 %, 三四线 51 %."""
    assert expected_rate("QC-01", "city_tier", tier) == pytest.approx(target, abs=0.001)


def test_bone_window_model_reproduces_the_overall_rate() -> None:
    """WP CT骨窗: 59 % of patients have the bone window looked at."""
    assert expected_rate("QC-01") == pytest.approx(0.59, abs=0.002)


@pytest.mark.parametrize(
    ("title", "target"), [("chief", 0.63), ("associate_chief", 0.56), ("attending", 0.53)]
)
def test_bone_window_model_reproduces_the_title_rates(title: str, target: float) -> None:
    """WP CT骨窗 分层分析: 主任 63 %, 副主任 56 %, 主治 53 %."""
    assert expected_rate("QC-01", "physician_title", title) == pytest.approx(target, abs=0.005)


def test_bone_window_model_keeps_the_whitepaper_hospital_type_odds_ratio() -> None:
    """综合 58 % vs 肿瘤 50 %: their levels cannot hold with 59 % overall; the odds ratio does."""
    model = fit_bone_window_model()
    wp_log_or = math.log(0.5 / 0.5) - math.log(0.58 / 0.42)
    assert model.cancer == pytest.approx(wp_log_or)
    general = expected_rate("QC-01", "hospital_type", "general")
    cancer = expected_rate("QC-01", "hospital_type", "cancer")
    assert general - cancer == pytest.approx(0.08, abs=0.01)


def test_bone_window_is_reviewed_more_by_more_senior_physicians() -> None:
    model = fit_bone_window_model()
    chief, associate, attending = (
        model.probability("tier1-2", "general", t)
        for t in ("chief", "associate_chief", "attending")
    )
    assert chief > associate > attending


def test_hospital_rates_average_to_the_overall_rate() -> None:
    total = sum(h.weight for h in DEFAULT_PARAMS.hospitals)
    mean = sum(
        h.weight / total * expected_rate("QC-01", "hospital", h.id)
        for h in DEFAULT_PARAMS.hospitals
    )
    assert mean == pytest.approx(expected_rate("QC-01"))


def test_physician_pool_has_the_title_shares() -> None:
    titles = physician_titles()
    assert (titles.count("chief"), titles.count("associate_chief"), titles.count("attending")) == (
        10,
        7,
        3,
    )


def test_sre_weibull_has_the_whitepaper_median_of_five_months() -> None:
    """WP: 诊断至首次SRE中位时间 ~5个月."""
    assert fit_sre_model().survival(152) == pytest.approx(0.5, abs=1e-9)


def test_sre_weibull_gives_41_percent_by_three_months() -> None:
    """WP: 确诊骨转移3个月后SREs发生率 ~41 %."""
    assert 1 - fit_sre_model().survival(3 * MONTH_DAYS) == pytest.approx(0.41, abs=1e-9)


def test_qc03_expected_rate_is_below_half() -> None:
    """WP: 立刻启动骨靶向药物治疗的比例不足50 %."""
    assert expected_rate("QC-03") < 0.5


def test_expected_rate_refuses_an_unknown_measure() -> None:
    with pytest.raises(ValueError, match="no expected rate for 'QC-99'"):
        expected_rate("QC-99")


def test_expected_rate_refuses_an_unknown_stratum() -> None:
    with pytest.raises(ValueError, match="unknown stratum 'ward'"):
        expected_rate("QC-01", "ward", "A")


# ---- measured on the cohort ----------------------------------------------------------------------


def test_qc01_overall_bone_window_rate_is_59_percent(cohort: Cohort) -> None:
    measured = chest_ct_reviewed(cohort)
    assert measured.denominator > 50_000
    assert measured.value == pytest.approx(0.59, abs=0.02)


@pytest.mark.parametrize(("tier", "target"), [("tier1-2", 0.65), ("tier3-4", 0.51)])
def test_qc01_bone_window_rate_by_city_tier(cohort: Cohort, tier: str, target: float) -> None:
    assert chest_ct_reviewed(cohort, city_tier=tier).value == pytest.approx(target, abs=0.02)


@pytest.mark.parametrize("title", ["chief", "associate_chief", "attending"])
def test_qc01_bone_window_rate_by_title_matches_the_model(cohort: Cohort, title: str) -> None:
    measured = chest_ct_reviewed(cohort, physician_title=title).value
    assert measured == pytest.approx(expected_rate("QC-01", "physician_title", title), abs=0.02)


@pytest.mark.parametrize("kind", ["general", "cancer"])
def test_qc01_bone_window_rate_by_hospital_type_matches_the_model(
    cohort: Cohort, kind: str
) -> None:
    measured = chest_ct_reviewed(cohort, hospital_type=kind).value
    assert measured == pytest.approx(expected_rate("QC-01", "hospital_type", kind), abs=0.02)


def test_qc02_fewer_than_half_of_advanced_patients_are_scanned_every_six_months(
    cohort: Cohort,
) -> None:
    measured = six_monthly_survey(cohort, AS_OF)
    assert measured.denominator > 5000
    assert expected_rate("QC-02") <= measured.value < 0.5


def test_qc03_fewer_than_half_start_bta_within_14_days(cohort: Cohort) -> None:
    measured = immediate_bta(cohort, AS_OF)
    assert measured.denominator > 4000
    assert measured.value < 0.5
    assert measured.value == pytest.approx(expected_rate("QC-03"), abs=0.03)


def test_qc04_standard_interval_share_matches_the_gap_model(cohort: Cohort) -> None:
    """Measured a little above the per-gap probability: long gaps are cut off more often."""
    measured = standard_intervals(cohort)
    assert measured.denominator > 20_000
    assert measured.value == pytest.approx(expected_rate("QC-04"), abs=0.03)


def test_qc05_57_percent_of_bone_surgery_patients_had_bta_before(cohort: Cohort) -> None:
    """WP 骨手术前治疗方案: 抗肿瘤治疗+骨转移治疗 57 %."""
    measured = bta_before_bone_surgery(cohort)
    assert measured.denominator > 800
    assert measured.value == pytest.approx(0.57, abs=0.05)


def test_untreated_time_to_first_sre_follows_the_weibull(cohort: Cohort) -> None:
    """Kaplan-Meier censored at the first BTA dose recovers the no-BTA law (ground truth)."""
    model = fit_sre_model()
    curve = untreated_sre_survival(cohort, AS_OF, (30, 91, 152, 365))
    for days, survival in curve.items():
        assert survival == pytest.approx(model.survival(days), abs=0.03), days


def test_bta_lowers_the_sre_hazard_by_the_modelled_ratio(cohort: Cohort) -> None:
    """From the first dose on, first SREs come at ~0.6-0.85 times the untreated Weibull hazard
    (hazard ratios 0.58-0.69 on schedule, weaker in extended gaps, none after a stop)."""
    model = fit_sre_model()
    observed = expected = 0.0
    for record in cohort:
        bone = record.get("bone_metastasis") or {}
        doses = sorted(day(d["date"]) for d in events(record, "bta"))
        if bone.get("status") != "confirmed" or not doses:
            continue
        confirmed = day(bone["confirmed_date"])
        sres = sorted(day(s["date"]) for s in events(record, "sre"))
        if doses[0] < confirmed or (sres and sres[0] <= doses[0]):
            continue
        end = sres[0] if sres else horizon(record, AS_OF)
        observed += bool(sres)
        expected += model.cumulative_hazard((end - confirmed).days) - model.cumulative_hazard(
            (doses[0] - confirmed).days
        )
    assert expected > 500
    assert 0.6 < observed / expected < 0.85


def test_qc06_baseline_survey_is_at_least_the_planned_share(cohort: Cohort) -> None:
    """Planned baseline surveys by setting (WP 确诊时重视度较高); work-ups add a little."""
    measured = baseline_survey(cohort, AS_OF)
    assert measured.denominator > 15_000
    assert expected_rate("QC-06") <= measured.value <= expected_rate("QC-06") + 0.06


@pytest.mark.parametrize("tier", ["tier1-2", "tier3-4"])
def test_qc07_dental_exam_before_bta_matches_the_tier_rate(cohort: Cohort, tier: str) -> None:
    measured = dental_before_bta(cohort, city_tier=tier)
    assert measured.value == pytest.approx(expected_rate("QC-07", "city_tier", tier), abs=0.04)


def test_setting_shares_follow_the_stage_mix() -> None:
    shares = initial_setting_shares()
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["advanced"] == pytest.approx(0.52)
