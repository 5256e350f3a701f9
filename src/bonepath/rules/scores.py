"""Clinical calculators as column expressions: one definition for a patient and a registry.

Each calculator takes ibis value expressions (a column, or ``ibis.literal`` for one value) and
returns an expression; tests evaluate them against published reference values.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from bonepath.rules import tables
from bonepath.rules.expr import lit, null, round_half_up, when
from bonepath.vocab import Drug


def cockcroft_gault(
    age_years: ir.NumericValue,
    weight_kg: ir.NumericValue,
    scr_mg_dl: ir.NumericValue,
    is_female: ir.BooleanValue,
) -> ir.FloatingValue:
    """Creatinine clearance in mL/min, at full precision (round with VAL-08 before banding).

    CrCl = (140 − age) × weight / (72 × SCr mg/dL) × 0.85 if female.

    References
    ----------
    Cockcroft DW, Gault MH. Nephron 1976;16:31-41. Zometa label (actual body weight) [K];
    rules.md SCORE-CG.
    """
    crcl = (140 - age_years) * weight_kg / (72 * scr_mg_dl)
    return (crcl * ibis.ifelse(is_female, 0.85, 1.0)).cast("float64")


def crcl_rounded(
    age_years: ir.NumericValue,
    weight_kg: ir.NumericValue,
    scr_mg_dl: ir.NumericValue,
    is_female: ir.BooleanValue,
) -> ir.FloatingValue:
    """Cockcroft-Gault rounded half-up to 0.1 mL/min (VAL-08), the value that is banded."""
    return round_half_up(cockcroft_gault(age_years, weight_kg, scr_mg_dl, is_female), 1)


def corrected_calcium(
    calcium: ir.NumericValue, unit: ir.StringValue, albumin_g_l: ir.NumericValue
) -> ir.FloatingValue:
    """Albumin-corrected total calcium in the calcium's own unit, rounded (VAL-08).

    mmol/L: Ca + 0.02 × (40 − albumin g/L), to 0.01; mg/dL: Ca + 0.8 × (4.0 − albumin g/dL),
    to 0.1. Without albumin the measured calcium is returned (``corrected`` false upstream).

    References
    ----------
    Payne RB et al. BMJ 1973;4:643-6 (mg/dL form) [K]; Zometa label (albumin-corrected serum
    calcium) [V]; rules.md SCORE-CCA.
    """
    mmol = calcium + 0.02 * (40 - albumin_g_l)
    mg = calcium + 0.8 * (4.0 - albumin_g_l / 10)
    raw = when(
        (albumin_g_l.isnull(), calcium),
        (unit == "mmol/L", mmol),
        else_=mg,
    )
    return ibis.ifelse(unit == "mmol/L", round_half_up(raw, 2), round_half_up(raw, 1))


def ecog_to_kps(ecog: ir.IntegerValue) -> ir.IntegerValue:
    """ECOG → Karnofsky lower bound: 0→90, 1→70, 2→50, 3→30, 4→10 (SCORE-PS; Oken 1982 [K])."""
    return when(
        (ecog == 0, 90),
        (ecog == 1, 70),
        (ecog == 2, 50),
        (ecog == 3, 30),
        (ecog == 4, 10),
        else_=null("int64"),
    ).cast("int64")


def kps_to_ecog(kps: ir.IntegerValue) -> ir.IntegerValue:
    """Karnofsky → ECOG (the inverse bands of SCORE-PS: 90–100→0, 70–80→1, 50–60→2, 30–40→3,
    0–20→4). Used for display only; rules read recorded ECOG."""
    return when(
        (kps >= 90, 0),
        (kps >= 70, 1),
        (kps >= 50, 2),
        (kps >= 30, 3),
        else_=4,
    ).cast("int64")


# ---- renal dose bands (rules/tables/bta_dosing.json) ----------------------------------------


def _band_cases(drug: str, crcl: ir.NumericValue, field: str) -> ir.Value:
    bands: list[dict[str, Any]] = tables.load("bta_dosing")["drugs"][drug]["bands"]
    cases = []
    for band in bands:
        above = float(band["crcl_above"])
        cond = crcl >= above if band["inclusive"] else crcl > above
        cases.append((cond, lit(float(band[field]))))
    return when(*cases, else_=null("float64"))


def zoledronic_dose_mg(crcl: ir.NumericValue) -> ir.FloatingValue:
    """BTA-03: >60 → 4.0; 50–60 → 3.5; 40–<50 → 3.3; 30–<40 → 3.0 mg; < 30 → none (SAFE-04).

    References
    ----------
    Zometa label renal table [V]; GL24 表2; rules.md D-01 (CrCl 60.0 → 3.5 mg).
    """
    return _band_cases(Drug.ZOLEDRONIC_ACID.value, crcl, "dose_mg").cast("float64")


def _lowest_band(drug: str, field: str) -> float:
    """A band table's value below its lowest CrCl step: what dialysis is dosed as (VAL-10)."""
    bands: list[dict[str, Any]] = tables.load("bta_dosing")["drugs"][drug]["bands"]
    return float(min(bands, key=lambda band: float(band["crcl_above"]))[field])


def ibandronate_dose_mg(crcl: ir.NumericValue, dialysis: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """BTA-04: ≥50 → 6 mg; 30–<50 → 4 mg; <30 or dialysis → 2 mg (EU Bondronat SmPC; GL24 表2;
    D-02; VAL-10)."""
    drug = Drug.IBANDRONATE.value
    dose = _band_cases(drug, crcl, "dose_mg")
    if dialysis is not None:
        dose = ibis.ifelse(dialysis, lit(_lowest_band(drug, "dose_mg")), dose)
    return dose.cast("float64")


def ibandronate_infusion_min(
    crcl: ir.NumericValue, dialysis: ir.BooleanValue | None = None
) -> ir.IntegerValue:
    """BTA-04 infusion time: 15 min at CrCl ≥ 50, else (dialysis too) 60 min."""
    drug = Drug.IBANDRONATE.value
    minutes = _band_cases(drug, crcl, "infusion_min")
    if dialysis is not None:
        minutes = ibis.ifelse(dialysis, lit(_lowest_band(drug, "infusion_min")), minutes)
    return minutes.cast("int64")


def incadronate_dose_mg(
    age_years: ir.NumericValue, crcl: ir.NumericValue, dialysis: ir.BooleanValue | None = None
) -> ir.FloatingValue:
    """BTA-05: age ≥ 65, CrCl < 30 or dialysis → 5 mg, else 10 mg; null when undecidable.

    Age ≥ 65 gives 5 mg even without a CrCl (GL24 表1 footnote; 表2; D-10; VAL-10).
    """
    spec = tables.load("bta_dosing")["drugs"][Drug.INCADRONATE.value]
    reduced, standard = float(spec["reduced_dose_mg"]), float(spec["standard_dose_mg"])
    on_dialysis = lit(False) if dialysis is None else dialysis
    return when(
        (age_years >= int(spec["reduce_at_age_years"]), lit(reduced)),
        (on_dialysis, lit(reduced)),
        (crcl.isnull(), null("float64")),
        (crcl < float(spec["reduce_below_crcl"]), lit(reduced)),
        else_=lit(standard),
    ).cast("float64")


def recommended_dose_mg(
    drug: ir.StringValue,
    crcl: ir.NumericValue,
    age_years: ir.NumericValue,
    dialysis: ir.BooleanValue | None = None,
) -> ir.FloatingValue:
    """The BTA-03/04/05 dose of a bisphosphonate for a CrCl (and age, and dialysis: VAL-10);
    null if undecidable (zoledronic acid on dialysis: none, SAFE-04)."""
    return when(
        (drug == Drug.ZOLEDRONIC_ACID.value, zoledronic_dose_mg(crcl)),
        (drug == Drug.IBANDRONATE.value, ibandronate_dose_mg(crcl, dialysis)),
        (drug == Drug.INCADRONATE.value, incadronate_dose_mg(age_years, crcl, dialysis)),
        else_=null("float64"),
    ).cast("float64")


# ---- CTCAE v5 grades -------------------------------------------------------------------------

_EPS = 1e-9
"""Tolerance of "above k × limit" comparisons on values rounded to 0.01 (VAL-08)."""


def ctcae_hypocalcaemia_grade(
    corrected_ca: ir.NumericValue, unit: ir.StringValue, lln: ir.NumericValue
) -> ir.IntegerValue:
    """CTCAE v5 hypocalcaemia grade (0 when not below LLN), in the calcium's own unit.

    G1 < LLN–8.0 mg/dL (2.0 mmol/L); G2 < 8.0–7.0 (2.0–1.75); G3 < 7.0–6.0 (1.75–1.5);
    G4 < 6.0 (1.5). References: CTCAE v5.0 (2017) [K]; rules.md SAFE-14.
    """
    mmol = unit == "mmol/L"
    g2 = ibis.ifelse(mmol, 2.0, 8.0)
    g3 = ibis.ifelse(mmol, 1.75, 7.0)
    g4 = ibis.ifelse(mmol, 1.5, 6.0)
    return when(
        (corrected_ca >= lln, 0),
        (corrected_ca >= g2, 1),
        (corrected_ca >= g3, 2),
        (corrected_ca >= g4, 3),
        else_=4,
    ).cast("int64")


def ctcae_hypercalcaemia_grade(
    corrected_ca: ir.NumericValue, unit: ir.StringValue, uln: ir.NumericValue
) -> ir.IntegerValue:
    """CTCAE v5 hypercalcaemia grade (0 when not above ULN), in the calcium's own unit.

    G1 > ULN–11.5 mg/dL (2.9 mmol/L); G2 > 11.5–12.5 (2.9–3.1); G3 > 12.5–13.5 (3.1–3.4);
    G4 > 13.5 (3.4). References: CTCAE v5.0 (2017) [K]; rules.md SAFE-15.
    """
    mmol = unit == "mmol/L"
    return when(
        (corrected_ca <= uln, 0),
        (corrected_ca > ibis.ifelse(mmol, 3.4, 13.5), 4),
        (corrected_ca > ibis.ifelse(mmol, 3.1, 12.5), 3),
        (corrected_ca > ibis.ifelse(mmol, 2.9, 11.5), 2),
        else_=1,
    ).cast("int64")


def ctcae_creatinine_grade(
    scr_mg_dl: ir.NumericValue, uln_mg_dl: ir.NumericValue, baseline_mg_dl: ir.NumericValue
) -> ir.IntegerValue:
    """CTCAE v5 "creatinine increased": the highest grade met (0 when SCr ≤ ULN and no rise).

    G1 > ULN–1.5×ULN; G2 > 1.5–3.0×baseline or > 1.5–3.0×ULN; G3 > 3.0×baseline or
    > 3.0–6.0×ULN; G4 > 6.0×ULN. ``baseline_mg_dl`` may be null (then only ULN counts).
    References: CTCAE v5.0 (2017) [K]; rules.md SAFE-13.
    """

    def above(limit: ir.NumericValue) -> ir.BooleanValue:
        # "> 1.5 × ULN" on 2-decimal values: 1.5 × 1.2 is 1.7999999999999998 in binary, so an
        # SCr of exactly 1.8 must not count as above it (a tolerance far below 0.01 mg/dL)
        return (scr_mg_dl > limit + _EPS).fill_null(False)

    return when(
        (above(6.0 * uln_mg_dl), 4),
        (above(3.0 * uln_mg_dl) | above(3.0 * baseline_mg_dl), 3),
        (above(1.5 * uln_mg_dl) | above(1.5 * baseline_mg_dl), 2),
        (above(uln_mg_dl), 1),
        else_=0,
    ).cast("int64")


# ---- BTA interval classification (ADH-04) ----------------------------------------------------


def interval_class(
    drug: ir.StringValue, interval_days: ir.IntegerValue, planned_interval_days: ir.IntegerValue
) -> ir.StringValue:
    """``standard`` / ``short`` / ``extended`` for the days between two doses (ADH-04).

    Denosumab 27–30 d; bisphosphonates 21–30 d, or 77–91 d on an 84-day plan (WP citing
    Kettle 2018 [S]); ``planned_interval_days`` is the plan in force for that interval.
    """
    deno = drug == Drug.DENOSUMAB.value
    low = ibis.ifelse(deno, 27, 21)
    on_84 = (~deno) & (planned_interval_days == 84).fill_null(False)
    standard = ((interval_days >= low) & (interval_days <= 30)) | (
        on_84 & (interval_days >= 77) & (interval_days <= 91)
    )
    # below the plan's window is short: on an 84-day plan that is anything under 77 days that
    # is not a standard 21–30-day interval (clarifications C-16)
    short = (interval_days < low) | (on_84 & (interval_days < 77))
    return when(
        (standard, lit("standard")),
        (short, lit("short")),
        else_=lit("extended"),
    )
