"""Calculators against outside reference values, and their properties (hypothesis).

The calculators are ibis column expressions; here they run on literal values and on generated
columns through DuckDB, the same compiled path the engine uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonepath.rules import scores
from bonepath.rules.expr import add_months, round_half_up

CON = ibis.duckdb.connect()


def value(expr: Any) -> Any:
    return CON.execute(expr)


def column(expr_of: Any, **cols: list[Any]) -> list[Any]:
    """Evaluate ``expr_of(table)`` over a table of the given columns, in row order."""
    t = ibis.memtable(pd.DataFrame(cols))
    out = CON.execute(t.select(v=expr_of(t)))
    return list(out["v"])


def test_cockcroft_gault_reference_values() -> None:
    # Cockcroft & Gault (Nephron 1976) formula; worked label example: 65-year-old man, 80 kg,
    # SCr 1.2 mg/dL -> (140-65)*80/(72*1.2) = 69.44 mL/min; female x 0.85 = 59.03
    male = value(scores.cockcroft_gault(ibis.literal(65), ibis.literal(80.0), ibis.literal(1.2), ibis.literal(False)))
    female = value(scores.cockcroft_gault(ibis.literal(65), ibis.literal(80.0), ibis.literal(1.2), ibis.literal(True)))
    assert male == pytest.approx(69.444, abs=1e-3)
    assert female == pytest.approx(59.028, abs=1e-3)
    # the same creatinine in umol/L (1.2 mg/dL = 106.08 umol/L) gives the same clearance
    umol = value(scores.cockcroft_gault(ibis.literal(65), ibis.literal(80.0), ibis.literal(106.08 / 88.4), ibis.literal(False)))
    assert umol == pytest.approx(male, abs=1e-6)


def test_corrected_calcium_reference_values() -> None:
    # Payne 1973: Ca 8.0 mg/dL, albumin 2.5 g/dL -> 8.0 + 0.8 * (4.0 - 2.5) = 9.2 mg/dL
    assert value(scores.corrected_calcium(ibis.literal(8.0), ibis.literal("mg/dL"), ibis.literal(25.0))) == pytest.approx(9.2)
    # mmol/L form: 2.00 + 0.02 * (40 - 30) = 2.20 mmol/L
    assert value(scores.corrected_calcium(ibis.literal(2.0), ibis.literal("mmol/L"), ibis.literal(30.0))) == pytest.approx(2.2)


@pytest.mark.parametrize(
    ("ca", "unit", "lln", "grade"),
    [
        (2.05, "mmol/L", 2.10, 1), (2.00, "mmol/L", 2.10, 1), (1.99, "mmol/L", 2.10, 2),
        (1.75, "mmol/L", 2.10, 2), (1.74, "mmol/L", 2.10, 3), (1.49, "mmol/L", 2.10, 4),
        (8.0, "mg/dL", 8.5, 1), (7.9, "mg/dL", 8.5, 2), (6.9, "mg/dL", 8.5, 3), (5.9, "mg/dL", 8.5, 4),
        (2.10, "mmol/L", 2.10, 0),
    ],
)
def test_ctcae_hypocalcaemia_grades(ca: float, unit: str, lln: float, grade: int) -> None:
    # CTCAE v5.0 hypocalcemia: G1 <LLN-8.0 mg/dL (<LLN-2.0 mmol/L); G2 <8.0-7.0; G3 <7.0-6.0; G4 <6.0
    got = value(scores.ctcae_hypocalcaemia_grade(ibis.literal(ca), ibis.literal(unit), ibis.literal(lln)))
    assert got == grade


@pytest.mark.parametrize(
    ("scr", "uln", "baseline", "grade"),
    [(1.3, 1.2, None, 1), (1.8, 1.2, None, 1), (1.81, 1.2, None, 2), (3.61, 1.2, None, 3),
     (7.21, 1.2, None, 4), (1.1, 1.2, 0.7, 2), (2.2, 1.2, 0.7, 3), (1.2, 1.2, None, 0)],
)
def test_ctcae_creatinine_grades(scr: float, uln: float, baseline: float | None, grade: int) -> None:
    # CTCAE v5.0 creatinine increased: G1 >ULN-1.5xULN; G2 >1.5-3.0x baseline or ULN;
    # G3 >3.0x baseline or >3.0-6.0xULN; G4 >6.0xULN
    base = ibis.literal(baseline, type="float64")
    assert value(scores.ctcae_creatinine_grade(ibis.literal(scr), ibis.literal(uln), base)) == grade


def test_ecog_kps_conversion() -> None:
    assert column(lambda t: scores.ecog_to_kps(t.e), e=[0, 1, 2, 3, 4]) == [90, 70, 50, 30, 10]
    assert column(lambda t: scores.kps_to_ecog(t.k), k=[100, 90, 80, 70, 50, 40, 10]) == [0, 0, 1, 1, 2, 3, 4]


def test_interval_classes() -> None:
    got = column(
        lambda t: scores.interval_class(t.d, t.n, t.p),
        d=["denosumab", "denosumab", "denosumab", "zoledronic_acid", "zoledronic_acid", "zoledronic_acid", "zoledronic_acid"],
        n=[26, 27, 31, 21, 35, 84, 92],
        p=[28, 28, 28, 28, 28, 84, 84],
    )
    assert got == ["short", "standard", "extended", "standard", "extended", "standard", "extended"]


def test_month_end_clamping() -> None:
    days = [dt.date(2026, 1, 31), dt.date(2024, 1, 31), dt.date(2026, 8, 31), dt.date(2026, 3, 15)]
    got = column(lambda t: add_months(t.d, 1), d=days)
    assert [pd.Timestamp(x).date() for x in got] == [
        dt.date(2026, 2, 28), dt.date(2024, 2, 29), dt.date(2026, 9, 30), dt.date(2026, 4, 15)
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(min_value=0.2, max_value=15.0), min_size=2, max_size=30),
    st.integers(min_value=18, max_value=100),
    st.floats(min_value=30, max_value=150),
)
def test_crcl_decreases_with_creatinine(scrs: list[float], age: int, weight: float) -> None:
    ordered = sorted(scrs)
    got = column(
        lambda t: scores.cockcroft_gault(t.a, t.w, t.s, t.f),
        a=[age] * len(ordered), w=[weight] * len(ordered), s=ordered, f=[False] * len(ordered),
    )
    assert all(x >= y - 1e-9 for x, y in zip(got, got[1:], strict=False))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=200.0), min_size=2, max_size=40))
def test_zoledronic_dose_never_falls_as_crcl_rises(crcls: list[float]) -> None:
    ordered = sorted(crcls)
    doses = column(lambda t: scores.zoledronic_dose_mg(round_half_up(t.c, 1)), c=ordered)
    known = [d for d in doses if d == d and d is not None]  # NaN/None below 30 mL/min
    assert all(x <= y for x, y in zip(known, known[1:], strict=False))
    assert set(known) <= {3.0, 3.3, 3.5, 4.0}
