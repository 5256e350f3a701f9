"""Units of measure: accepted units per test and conversions (record-format.md, rules.md VAL-03)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonepath.units import (
    LAB_UNITS,
    accepted_units,
    creatinine_mg_dl,
    from_canonical,
    is_accepted_unit,
    to_canonical,
)
from bonepath.vocab import LabTest


def test_every_lab_test_has_its_units_in_record_format_order() -> None:
    assert {test: accepted_units(test) for test in LabTest} == {
        LabTest.CREATININE: ("umol/L", "mg/dL"),
        LabTest.CALCIUM: ("mmol/L", "mg/dL"),
        LabTest.ALBUMIN: ("g/L", "g/dL"),
        LabTest.ALP: ("U/L",),
        LabTest.BALP: ("U/L", "ug/L"),
        LabTest.PINP: ("ng/mL", "ug/L"),
        LabTest.CTX: ("ng/mL", "pg/mL"),
        LabTest.NTX: ("nmol BCE/mmol Cr",),
        LabTest.VITAMIN_D: ("ng/mL", "nmol/L"),
    }


def test_unit_acceptance_is_exact_and_case_sensitive() -> None:
    assert is_accepted_unit(LabTest.CREATININE, "umol/L")
    assert not is_accepted_unit(LabTest.CREATININE, "mmol/L")
    assert not is_accepted_unit(LabTest.CREATININE, "UMOL/L")


def test_creatinine_umol_per_l_is_divided_by_88_4() -> None:
    # rules.md VAL-03 and the zoledronic_renal_dose example: 97 umol/L = 1.097 mg/dL.
    assert to_canonical(LabTest.CREATININE, 97, "umol/L") == pytest.approx(97 / 88.4, rel=1e-12)
    assert round(creatinine_mg_dl(97, "umol/L"), 3) == 1.097
    assert creatinine_mg_dl(1.2, "mg/dL") == 1.2


def test_creatinine_mg_dl_refuses_an_unknown_unit() -> None:
    with pytest.raises(KeyError):
        creatinine_mg_dl(1.0, "mmol/L")


def test_calcium_mg_dl_to_mmol_l_uses_the_molar_mass() -> None:
    # 10.02 mg/dL of calcium (40.08 g/mol) is 2.5 mmol/L.
    assert to_canonical(LabTest.CALCIUM, 10.02, "mg/dL") == pytest.approx(2.5, rel=1e-12)


def test_albumin_g_dl_is_ten_g_l() -> None:
    assert to_canonical(LabTest.ALBUMIN, 3.6, "g/dL") == pytest.approx(36.0, rel=1e-12)


def test_vitamin_d_nmol_l_to_ng_ml() -> None:
    assert to_canonical(LabTest.VITAMIN_D, 74.88, "nmol/L") == pytest.approx(30.0, rel=1e-12)


def test_ctx_pg_ml_to_ng_ml() -> None:
    assert to_canonical(LabTest.CTX, 450, "pg/mL") == pytest.approx(0.45, rel=1e-12)


def test_bone_alp_mass_has_no_fixed_conversion() -> None:
    assert to_canonical(LabTest.BALP, 20, "ug/L") is None
    assert from_canonical(LabTest.BALP, 20, "ug/L") is None
    assert to_canonical(LabTest.BALP, 20, "U/L") == 20


def test_conversion_of_an_unaccepted_unit_raises() -> None:
    with pytest.raises(KeyError):
        to_canonical(LabTest.ALP, 100, "IU/L")


_CONVERTIBLE = [
    (test, unit)
    for test, spec in LAB_UNITS.items()
    for unit, factor in spec.to_canonical.items()
    if factor is not None
]


@given(
    case=st.sampled_from(_CONVERTIBLE),
    value=st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False),
)
def test_conversion_round_trips(case: tuple[LabTest, str], value: float) -> None:
    test, unit = case
    canonical = to_canonical(test, value, unit)
    assert canonical is not None
    back = from_canonical(test, canonical, unit)
    assert back is not None
    assert math.isclose(back, value, rel_tol=1e-9)


@given(
    case=st.sampled_from(_CONVERTIBLE),
    value=st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False),
)
def test_canonical_unit_is_the_identity(case: tuple[LabTest, str], value: float) -> None:
    test, _ = case
    canonical_unit = LAB_UNITS[test].canonical
    assert to_canonical(test, value, canonical_unit) == value
