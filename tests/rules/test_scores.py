"""Calculators (rules/scores.py, rules/expr.py) against outside reference values, and their
properties (hypothesis).

The calculators are ibis column expressions; here they run through DuckDB on literals or on a
generated column (one query per example), the same compiled path the engine uses.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonepath.rules import scores
from bonepath.rules.expr import add_months, completed_years, round_half_up
from bonepath.units import CREATININE_UMOL_PER_MG_DL

CON = ibis.duckdb.connect()
PROPERTY = settings(max_examples=30, deadline=None)


def scalar(expr: Any) -> Any:
    return CON.execute(expr)


def column(expr_of: Any, **cols: list[Any]) -> list[Any]:
    """``expr_of(table)`` over a table of the given columns, in row order (one query)."""
    n = len(next(iter(cols.values())))
    t = ibis.memtable({"_i": list(range(n)), **cols})
    out = CON.execute(t.select(t._i, v=expr_of(t)).order_by("_i"))
    return [None if v != v else v for v in out["v"]]  # NaN -> None


def cg(age: int, weight: float, scr: float, female: bool) -> float:
    # through a one-row table: DuckDB would read a bare float literal as DECIMAL
    got = column(lambda t: scores.cockcroft_gault(t.a, t.w, t.s, t.f), a=[age], w=[float(weight)], s=[float(scr)], f=[female])
    return float(got[0])


# ---- Cockcroft-Gault ------------------------------------------------------------------------------

# Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. Nephron
# 1976;16:31-41: CrCl = (140 − age) × weight / (72 × SCr mg/dL), × 0.85 for women. Worked
# examples from published calculators of that formula, quoted to 0.1 mL/min (tolerance 0.05):
COCKCROFT_GAULT_EXAMPLES = [
    # droracle.ai "How to calculate creatinine clearance": 70-year-old male, 75 kg, SCr 1.0 -> 72.9
    (70, 75, 1.0, False, 72.9),
    # superglobalcalculator.com, example 1: 60-year-old man, 80 kg, SCr 1.2 -> 74.1
    (60, 80, 1.2, False, 74.1),
    # superglobalcalculator.com (pharmacology page): male 65, 70 kg, SCr 1.4 -> 52.1
    (65, 70, 1.4, False, 52.1),
    # same page: female 45, 60 kg, SCr 0.9 -> 74.8
    (45, 60, 0.9, True, 74.8),
]


@pytest.mark.parametrize(("age", "weight", "scr", "female", "expected"), COCKCROFT_GAULT_EXAMPLES)
def test_cockcroft_gault_published_examples(age: int, weight: float, scr: float, female: bool, expected: float) -> None:
    assert cg(age, weight, scr, female) == pytest.approx(expected, abs=0.05)


def test_cockcroft_gault_umol_per_litre_is_divided_by_88_4() -> None:
    # rules.md SCORE-CG: "SCr in umol/L is divided by 88.4 first"; 106.08 umol/L = 1.2 mg/dL
    assert CREATININE_UMOL_PER_MG_DL == 88.4
    assert cg(60, 80, 106.08 / 88.4, False) == pytest.approx(cg(60, 80, 1.2, False), abs=1e-9)


def test_crcl_rounded_half_up_before_banding() -> None:
    # VAL-08; 75 × 54 / 72 = 56.25 -> 56.3 (half-up, not banker's 56.2)
    lit = ibis.literal
    got = scalar(scores.crcl_rounded(lit(65), lit(54.0), lit(1.0), lit(False)))
    assert got == 56.3


# ---- corrected calcium (Payne) -------------------------------------------------------------------

# Payne RB, Little AJ, Williams RB, Milner JR. Interpretation of serum calcium in patients with
# abnormal serum proteins. BMJ 1973;4:643-6. Worked examples (tolerance 0.005 mmol/L, 0.05 mg/dL):
# - medcalctools.com corrected-calcium calculator: "measured calcium 8.0 mg/dL, albumin 2.5 g/dL.
#   Corrected Ca = 8.0 + 0.8 x (4.0 - 2.5) = ... 9.2 mg/dL"
# - theguidewire.net: "1.83 + 0.02 x (40 – 26) = 1.83 + 0.28 = 2.11 mmol/L"
@pytest.mark.parametrize(
    ("ca", "unit", "albumin_g_l", "expected", "tol"),
    [
        (8.0, "mg/dL", 25.0, 9.2, 0.05),
        (1.83, "mmol/L", 26.0, 2.11, 0.005),
        (2.30, "mmol/L", 40.0, 2.30, 0.005),  # reference albumin: no change
        (9.0, "mg/dL", 45.0, 8.6, 0.05),  # high albumin corrects downwards: 9.0 + 0.8 × (4.0 − 4.5)
    ],
)
def test_corrected_calcium_payne_examples(ca: float, unit: str, albumin_g_l: float, expected: float, tol: float) -> None:
    got = scalar(scores.corrected_calcium(ibis.literal(ca), ibis.literal(unit), ibis.literal(albumin_g_l)))
    assert got == pytest.approx(expected, abs=tol)


def test_corrected_calcium_without_albumin_is_the_measured_value() -> None:
    got = scalar(scores.corrected_calcium(ibis.literal(2.27), ibis.literal("mmol/L"), ibis.literal(None, type="float64")))
    assert got == 2.27


# ---- CTCAE v5.0 grades ------------------------------------------------------------------------------

# CTCAE v5.0 (NCI, 27 Nov 2017), Metabolism and nutrition disorders, "Hypocalcemia":
# G1 corrected serum calcium <LLN - 8.0 mg/dL; <LLN - 2.0 mmol/L; G2 <8.0 - 7.0 mg/dL; <2.0 - 1.75
# mmol/L; G3 <7.0 - 6.0 mg/dL; <1.75 - 1.5 mmol/L; G4 <6.0 mg/dL; <1.5 mmol/L [K].
@pytest.mark.parametrize(
    ("ca", "unit", "lln", "grade"),
    [
        (2.10, "mmol/L", 2.10, 0), (2.09, "mmol/L", 2.10, 1), (2.00, "mmol/L", 2.10, 1), (1.99, "mmol/L", 2.10, 2),
        (1.75, "mmol/L", 2.10, 2), (1.74, "mmol/L", 2.10, 3), (1.50, "mmol/L", 2.10, 3), (1.49, "mmol/L", 2.10, 4),
        (8.5, "mg/dL", 8.5, 0), (8.4, "mg/dL", 8.5, 1), (8.0, "mg/dL", 8.5, 1), (7.9, "mg/dL", 8.5, 2),
        (7.0, "mg/dL", 8.5, 2), (6.9, "mg/dL", 8.5, 3), (6.0, "mg/dL", 8.5, 3), (5.9, "mg/dL", 8.5, 4),
        (7.9, "mg/dL", 7.8, 0),  # the lab's LLN decides whether it is low at all
    ],
)
def test_ctcae_hypocalcaemia(ca: float, unit: str, lln: float, grade: int) -> None:
    lit = ibis.literal
    assert scalar(scores.ctcae_hypocalcaemia_grade(lit(ca), lit(unit), lit(lln))) == grade


# CTCAE v5.0 "Hypercalcemia": G1 corrected serum calcium >ULN - 11.5 mg/dL; >ULN - 2.9 mmol/L;
# G2 >11.5 - 12.5 mg/dL; >2.9 - 3.1 mmol/L; G3 >12.5 - 13.5 mg/dL; >3.1 - 3.4 mmol/L;
# G4 >13.5 mg/dL; >3.4 mmol/L [K].
@pytest.mark.parametrize(
    ("ca", "unit", "uln", "grade"),
    [
        (2.55, "mmol/L", 2.55, 0), (2.56, "mmol/L", 2.55, 1), (2.90, "mmol/L", 2.55, 1), (2.91, "mmol/L", 2.55, 2),
        (3.10, "mmol/L", 2.55, 2), (3.11, "mmol/L", 2.55, 3), (3.40, "mmol/L", 2.55, 3), (3.41, "mmol/L", 2.55, 4),
        (10.2, "mg/dL", 10.2, 0), (10.3, "mg/dL", 10.2, 1), (11.5, "mg/dL", 10.2, 1), (11.6, "mg/dL", 10.2, 2),
        (12.5, "mg/dL", 10.2, 2), (12.6, "mg/dL", 10.2, 3), (13.5, "mg/dL", 10.2, 3), (13.6, "mg/dL", 10.2, 4),
    ],
)
def test_ctcae_hypercalcaemia(ca: float, unit: str, uln: float, grade: int) -> None:
    lit = ibis.literal
    assert scalar(scores.ctcae_hypercalcaemia_grade(lit(ca), lit(unit), lit(uln))) == grade


# CTCAE v5.0 Investigations, "Creatinine increased": G1 >ULN - 1.5 x ULN; G2 >1.5 - 3.0 x
# baseline; >1.5 - 3.0 x ULN; G3 >3.0 x baseline; >3.0 - 6.0 x ULN; G4 >6.0 x ULN [K].
@pytest.mark.parametrize(
    ("scr", "uln", "baseline", "grade"),
    [
        (1.2, 1.2, None, 0), (1.21, 1.2, None, 1), (1.8, 1.2, None, 1), (1.81, 1.2, None, 2),
        (3.6, 1.2, None, 2), (3.61, 1.2, None, 3), (7.2, 1.2, None, 3), (7.21, 1.2, None, 4),
        (0.9, 1.2, 0.6, 0),  # exactly 1.5 × baseline: not above it (1.5 × 0.6 is 0.8999… in binary)
        (0.91, 1.2, 0.6, 2), (1.8, 1.2, 0.6, 2), (1.81, 1.2, 0.6, 3),
        (1.1, 1.0, None, 1),  # the lab's ULN
    ],
)
def test_ctcae_creatinine_increased(scr: float, uln: float, baseline: float | None, grade: int) -> None:
    lit = ibis.literal
    got = scalar(scores.ctcae_creatinine_grade(lit(scr), lit(uln), lit(baseline, type="float64")))
    assert got == grade


# ---- SCORE-PS, dose tables, intervals ---------------------------------------------------------------


def test_ecog_to_kps_lower_bounds() -> None:
    # Oken MM et al. Am J Clin Oncol 1982;5:649-55 (ECOG) with the Karnofsky bands; lower bound [S]
    assert column(lambda t: scores.ecog_to_kps(t.e), e=[0, 1, 2, 3, 4]) == [90, 70, 50, 30, 10]
    assert column(lambda t: scores.kps_to_ecog(t.k), k=[100, 90, 80, 70, 60, 50, 40, 30, 20, 10]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_dose_tables_from_the_labels() -> None:
    # Zometa label renal table (CrCl > 60: 4.0; 50-60: 3.5; 40-49: 3.3; 30-39: 3.0 mg) and D-01
    crcl = [100.0, 60.1, 60.0, 50.0, 49.9, 40.0, 39.9, 30.0, 29.9]
    assert column(lambda t: scores.zoledronic_dose_mg(t.c), c=crcl) == [4.0, 4.0, 3.5, 3.5, 3.3, 3.3, 3.0, 3.0, None]
    # EU Bondronat SmPC: CrCl >= 50: 6 mg/15 min; 30-<50: 4 mg/1 h; < 30: 2 mg/1 h
    crcl = [80.0, 50.0, 49.9, 30.0, 29.9, 5.0]
    assert column(lambda t: scores.ibandronate_dose_mg(t.c), c=crcl) == [6.0, 6.0, 4.0, 4.0, 2.0, 2.0]
    assert column(lambda t: scores.ibandronate_infusion_min(t.c), c=crcl) == [15, 15, 60, 60, 60, 60]
    # GL24 表1 footnote / 表2: incadronate 5 mg at age >= 65 or CrCl < 30, else 10 mg
    got = column(
        lambda t: scores.incadronate_dose_mg(t.a, t.c),
        a=[64, 65, 64, 64, 70],
        c=[30.0, 80.0, 29.9, None, None],
    )
    assert got == [10.0, 5.0, 5.0, None, 5.0]


def test_interval_classes() -> None:
    got = column(
        lambda t: scores.interval_class(t.d, t.n, t.p),
        d=["denosumab"] * 4 + ["zoledronic_acid"] * 7,
        n=[26, 27, 30, 31, 20, 21, 30, 31, 76, 91, 92],
        p=[28, 28, 84, 28, 28, 28, 28, 28, 84, 84, 84],
    )
    assert got == ["short", "standard", "standard", "extended", "short", "standard", "standard", "extended", "short", "standard", "extended"]


# ---- dates and rounding (VAL-06, VAL-08, §0 age) -----------------------------------------------------


def test_calendar_months_clamp_to_month_end() -> None:
    days = [dt.date(2026, 1, 31), dt.date(2024, 1, 31), dt.date(2026, 8, 31), dt.date(2026, 3, 15), dt.date(2025, 11, 30), dt.date(2024, 2, 29)]
    months = [1, 1, 1, 1, 3, 12]
    got = [scalar(add_months(ibis.literal(d), m)) for d, m in zip(days, months, strict=True)]
    assert [g.date() if isinstance(g, dt.datetime) else g for g in got] == [
        dt.date(2026, 2, 28),  # VAL-06: 2026-01-31 + 1 month
        dt.date(2024, 2, 29),
        dt.date(2026, 9, 30),
        dt.date(2026, 4, 15),
        dt.date(2026, 2, 28),
        dt.date(2025, 2, 28),
    ]


def test_completed_years() -> None:
    got = column(
        lambda t: completed_years(t.b, t.d),
        b=[dt.date(1961, 9, 5)] * 3 + [dt.date(1960, 2, 29)] * 2,
        d=[dt.date(2026, 9, 4), dt.date(2026, 9, 5), dt.date(2027, 1, 1), dt.date(2026, 2, 28), dt.date(2026, 3, 1)],
    )
    assert got == [64, 65, 65, 65, 66]


@PROPERTY
@given(st.lists(st.integers(min_value=0, max_value=999_999), min_size=1, max_size=50))
def test_round_half_up_matches_decimal(hundredths: list[int]) -> None:
    values = [h / 100 for h in hundredths]
    got = column(lambda t: round_half_up(t.x, 1), x=values)
    expected = [float(Decimal(str(v)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) for v in values]
    assert got == expected


# ---- properties --------------------------------------------------------------------------------------

AGES = st.integers(min_value=18, max_value=110)
WEIGHTS = st.floats(min_value=25, max_value=250, allow_nan=False)
SCRS = st.floats(min_value=0.1, max_value=20.0, allow_nan=False)


def crcl_column(ages: list[int], weights: list[float], scrs: list[float], female: bool) -> list[float]:
    n = len(ages)
    return column(lambda t: scores.cockcroft_gault(t.a, t.w, t.s, t.f), a=ages, w=weights, s=scrs, f=[female] * n)


def non_increasing(xs: list[float]) -> bool:
    return all(a >= b - 1e-9 for a, b in zip(xs, xs[1:], strict=False))


@PROPERTY
@given(st.lists(SCRS, min_size=2, max_size=40), AGES, WEIGHTS, st.booleans())
def test_crcl_decreases_as_creatinine_rises(scrs: list[float], age: int, weight: float, female: bool) -> None:
    s = sorted(scrs)
    assert non_increasing(crcl_column([age] * len(s), [weight] * len(s), s, female))


@PROPERTY
@given(st.lists(AGES, min_size=2, max_size=40), WEIGHTS, SCRS, st.booleans())
def test_crcl_decreases_with_age(ages: list[int], weight: float, scr: float, female: bool) -> None:
    a = sorted(ages)
    assert non_increasing(crcl_column(a, [weight] * len(a), [scr] * len(a), female))


@PROPERTY
@given(st.lists(WEIGHTS, min_size=2, max_size=40), AGES, SCRS, st.booleans())
def test_crcl_increases_with_weight(weights: list[float], age: int, scr: float, female: bool) -> None:
    w = sorted(weights, reverse=True)
    assert non_increasing(crcl_column([age] * len(w), w, [scr] * len(w), female))


@PROPERTY
@given(AGES, WEIGHTS, SCRS)
def test_crcl_female_is_0_85_of_male(age: int, weight: float, scr: float) -> None:
    assert cg(age, weight, scr, True) == pytest.approx(0.85 * cg(age, weight, scr, False), rel=1e-12)


@PROPERTY
@given(st.lists(st.floats(min_value=0, max_value=200, allow_nan=False), min_size=2, max_size=60))
def test_zoledronic_dose_never_falls_as_crcl_rises(crcls: list[float]) -> None:
    ordered = sorted(crcls)
    doses = column(lambda t: scores.zoledronic_dose_mg(round_half_up(t.c, 1)), c=ordered)
    known = [d for d in doses if d is not None]
    assert all(a <= b for a, b in zip(known, known[1:], strict=False))
    assert set(known) <= {3.0, 3.3, 3.5, 4.0}
    # no dose exactly where the rounded CrCl is below 30 (SAFE-04 instead)
    for c, d in zip(ordered, doses, strict=True):
        rounded = Decimal(repr(c)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        assert (d is None) == (rounded < 30), (c, d)


@PROPERTY
@given(
    st.lists(
        st.tuples(st.integers(min_value=100, max_value=500), st.integers(min_value=100, max_value=600)),
        min_size=1,
        max_size=40,
    )
)
def test_corrected_calcium_same_in_both_units_within_rounding(pairs: list[tuple[int, int]]) -> None:
    # Ca in mmol/L (1.00-5.00) and albumin in g/L (10.0-60.0); the mg/dL form gets Ca × 4.0
    # (rules.md VAL-03) and albumin / 10. Payne's two forms are the same formula, so after
    # rounding (0.01 mmol/L, 0.1 mg/dL) they agree within 0.05 + 4 × 0.005 mg/dL.
    ca = [c / 100 for c, _ in pairs]
    alb = [a / 10 for _, a in pairs]
    mmol = column(lambda t: scores.corrected_calcium(t.c, ibis.literal("mmol/L"), t.a), c=ca, a=alb)
    mg = column(lambda t: scores.corrected_calcium(t.c * 4.0, ibis.literal("mg/dL"), t.a), c=ca, a=alb)
    for m, g in zip(mmol, mg, strict=True):
        assert abs(g - 4.0 * m) <= 0.05 + 4 * 0.005 + 1e-9
