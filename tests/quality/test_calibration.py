"""The generator's parameters are the ground truth: on the 20,000-patient cohort every measure
recovers its calibrated rate within the stated tolerance (docs/quality.md), the counts equal an
independent record-by-record reading of rules.md (tests/synth/support.py) where the definitions
coincide, and the Kaplan-Meier median of untreated SRE-free time matches the Weibull."""

from __future__ import annotations

import pytest

from bonepath.quality.outcomes import Outcomes
from bonepath.quality.results import MeasureResult, QualityReport
from bonepath.quality.run import report_with_outcomes
from bonepath.synth import expected_rate
from bonepath.synth.calibration import fit_sre_model
from quality.conftest import AS_OF, EVER, Cohort
from synth.support import baseline_survey, chest_ct_reviewed, six_monthly_survey


@pytest.fixture(scope="module")
def measured(cohort: Cohort) -> tuple[QualityReport, Outcomes]:
    return report_with_outcomes(cohort.tables, EVER, AS_OF)


@pytest.fixture(scope="module")
def report(measured: tuple[QualityReport, Outcomes]) -> QualityReport:
    return measured[0]


def _rate(m: MeasureResult, by: str | None = None, value: str | None = None) -> float:
    if by is None:
        assert m.rate is not None
        return m.rate
    stratum = m.stratum(by, value)
    assert stratum is not None and stratum.rate is not None
    return stratum.rate


def test_qc01_bone_window_review_overall_and_by_every_whitepaper_stratum(report: QualityReport) -> None:
    qc01 = report["QC-01"]
    assert _rate(qc01) == pytest.approx(expected_rate("QC-01"), abs=0.01)  # ~59 %
    assert _rate(qc01) == pytest.approx(0.59, abs=0.01)
    for by, value in [
        ("city_tier", "tier1-2"),  # 65 %
        ("city_tier", "tier3-4"),  # 51 %
        ("hospital_type", "general"),
        ("hospital_type", "cancer"),
        ("physician_title", "chief"),  # 63 %
        ("physician_title", "associate_chief"),  # 56 %
        ("physician_title", "attending"),  # 53 %
    ]:
        assert _rate(qc01, by, value) == pytest.approx(expected_rate("QC-01", by, value), abs=0.01), (by, value)
    assert _rate(qc01, "city_tier", "tier1-2") == pytest.approx(0.65, abs=0.01)
    assert _rate(qc01, "city_tier", "tier3-4") == pytest.approx(0.51, abs=0.01)


def test_qc01_qc02_qc06_counts_equal_an_independent_reading_of_the_records(
    cohort: Cohort, report: QualityReport
) -> None:
    for measure_id, independent in [
        ("QC-01", chest_ct_reviewed(cohort.records)),
        ("QC-02", six_monthly_survey(cohort.records, AS_OF)),
        ("QC-06", baseline_survey(cohort.records, AS_OF)),
    ]:
        m = report[measure_id]
        assert (m.numerator, m.denominator) == (independent.numerator, independent.denominator), measure_id
    tier = chest_ct_reviewed(cohort.records, city_tier="tier3-4")
    s = report["QC-01"].stratum("city_tier", "tier3-4")
    assert s is not None and (s.numerator, s.denominator) == (tier.numerator, tier.denominator)


def test_qc02_lies_between_the_six_monthly_share_and_the_whitepaper_ceiling(report: QualityReport) -> None:
    # expected_rate is the share put on 6-monthly surveys: a lower bound (other scans fill windows)
    assert expected_rate("QC-02") <= _rate(report["QC-02"]) < 0.50


def test_qc03_immediate_start_near_41_percent_in_every_tier(report: QualityReport) -> None:
    qc03 = report["QC-03"]
    assert _rate(qc03) == pytest.approx(expected_rate("QC-03"), abs=0.025)
    assert _rate(qc03) < 0.50  # WP: "不足50%"
    for tier in ("tier1-2", "tier3-4"):
        assert _rate(qc03, "city_tier", tier) == pytest.approx(expected_rate("QC-03"), abs=0.035)


def test_qc04_standard_intervals_near_45_percent_of_gaps(report: QualityReport) -> None:
    # long gaps are cut off by death or the period end more often: measured slightly above
    assert expected_rate("QC-04") <= _rate(report["QC-04"]) <= expected_rate("QC-04") + 0.03


def test_qc05_bta_before_bone_surgery_near_the_whitepaper_57_percent(report: QualityReport) -> None:
    assert _rate(report["QC-05"]) == pytest.approx(0.57, abs=0.04)


def test_qc06_baseline_survey_at_least_the_planned_share(report: QualityReport) -> None:
    assert expected_rate("QC-06") <= _rate(report["QC-06"]) <= expected_rate("QC-06") + 0.04


def test_qc07_dental_exam_before_bta_by_tier(report: QualityReport) -> None:
    qc07 = report["QC-07"]
    assert _rate(qc07) == pytest.approx(expected_rate("QC-07"), abs=0.02)
    for tier in ("tier1-2", "tier3-4"):
        assert _rate(qc07, "city_tier", tier) == pytest.approx(
            expected_rate("QC-07", "city_tier", tier), abs=0.025
        )


def test_every_hospital_is_a_stratum_and_none_is_small(report: QualityReport) -> None:
    hospitals = report["QC-01"].by("hospital")
    assert [s.value for s in hospitals] == [f"H{i:02d}" for i in range(1, 41)]
    assert not any(s.small for s in hospitals)
    # QC-05 has ~30 surgery patients per hospital: some hospital strata are small and still shown
    assert len(report["QC-05"].by("hospital")) == 40


def test_km_median_of_untreated_sre_free_time_matches_the_generator(
    measured: tuple[QualityReport, Outcomes],
) -> None:
    model = fit_sre_model()
    curve = measured[1].analysis("sre_untreated", "all").curve("all")
    assert curve.median_days is not None and curve.median_lower is not None
    assert curve.median_upper is not None
    # the Weibull median (152 d, WP "~5个月") lies in the KM median's 95 % CI
    weibull_median = model.inverse_cumulative_hazard(0.6931471805599453)
    assert weibull_median == pytest.approx(152, abs=1)
    assert curve.median_lower <= weibull_median <= curve.median_upper
    assert curve.median_days == pytest.approx(weibull_median, abs=15)
    for day in (30, 91, 365):
        assert curve.survival_at(day) == pytest.approx(model.survival(day), abs=0.03), day
    assert curve.n == sum(curve.at_risk[:1]) and curve.at_risk[0] > curve.at_risk[1]


def test_outcome_groups_partition_the_confirmed_patients(measured: tuple[QualityReport, Outcomes]) -> None:
    outcomes = measured[1]
    timing = outcomes.analysis("os", "timing")
    assert sum(c.n for c in timing.curves) == outcomes.patients
    adherence = outcomes.analysis("os", "adherence")
    assert sum(c.n for c in adherence.curves) < outcomes.patients  # fewer than two doses: no class
    sre = outcomes.analysis("sre", "all").curve("all")
    assert sre.n == outcomes.patients - outcomes.presenting
    broad = outcomes.analysis("sre_broad", "all").curve("all")
    # the broad definition counts more events, so its curve falls faster
    assert broad.events > sre.events and broad.survival_at(180) < sre.survival_at(180)
