"""Every calibration parameter is documented, sourced and in range."""

from __future__ import annotations

from pathlib import Path

import pytest

from bonepath.synth import DEFAULT_PARAMS, describe_parameters
from bonepath.synth.params import ParameterRow, hospital_table, parameter_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "synthetic-cohort.md"
ROWS = list(describe_parameters())


def test_there_are_parameters_to_document() -> None:
    assert len(ROWS) > 100


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_every_parameter_has_a_source_and_a_meaning(row: ParameterRow) -> None:
    assert row.source.strip()
    assert row.meaning.strip()


def test_every_parameter_is_in_the_cohort_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [row.name for row in ROWS if f"`{row.name}`" not in text]
    assert missing == []


@pytest.mark.parametrize("render", [parameter_table, hospital_table], ids=lambda f: f.__name__)
def test_the_generated_tables_in_the_document_are_current(render: object) -> None:
    """Regenerate the block between the BEGIN/END GENERATED markers when this fails."""
    assert callable(render)
    assert render() in DOC.read_text(encoding="utf-8")


def test_probabilities_lie_between_zero_and_one() -> None:
    bad = [
        row.name
        for row in ROWS
        if isinstance(row.value, float)
        and (row.name.split(".")[1].startswith(("p_", "share")) or "rate" in row.name)
        and not 0.0 <= row.value <= 1.0
    ]
    assert bad == []


def test_categorical_weights_are_positive() -> None:
    bad = [
        row.name
        for row in ROWS
        if isinstance(row.value, tuple)
        and row.value
        and isinstance(row.value[0], tuple)
        and any(not (isinstance(w, float) and w >= 0) for _, w in row.value)
    ]
    assert bad == []


def test_hospitals_are_h01_to_h40_with_both_tiers_and_types() -> None:
    hospitals = DEFAULT_PARAMS.hospitals
    assert [h.id for h in hospitals] == [f"H{i:02d}" for i in range(1, 41)]
    assert {(h.city_tier, h.type) for h in hospitals} == {
        ("tier1-2", "general"),
        ("tier1-2", "cancer"),
        ("tier3-4", "general"),
        ("tier3-4", "cancer"),
    }


def test_tier_1_2_hospitals_see_four_sevenths_of_patients() -> None:
    """So that 65 % x 4/7 + 51 % x 3/7 = 59 % (WP overall)."""
    total = sum(h.weight for h in DEFAULT_PARAMS.hospitals)
    tier = sum(h.weight for h in DEFAULT_PARAMS.hospitals if h.city_tier == "tier1-2")
    assert tier / total == pytest.approx(4 / 7)


def test_some_hospital_labs_report_the_alternative_units() -> None:
    hospitals = DEFAULT_PARAMS.hospitals
    assert any(h.creatinine_unit == "mg/dL" for h in hospitals)
    assert any(h.calcium_unit == "mg/dL" for h in hospitals)
    assert any(h.albumin_unit == "g/dL" for h in hospitals)
