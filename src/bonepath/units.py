"""Units of measure: the accepted units of every lab test and the conversions between them.

This is the one place where a unit is converted (record-format.md "Lab tests and accepted units",
rules.md VAL-03). Every converted value keeps its original value and unit beside it; a unit that
is not listed is refused by the record parser, never guessed.

References
----------
- Creatinine: 1 mg/dL = 88.4 umol/L (molar mass 113.12 g/mol) [rules.md VAL-03, K].
- Calcium: 1 mmol/L = 4.008 mg/dL (molar mass 40.08 g/mol). rules.md VAL-03 rounds this to 4.0;
  no finding depends on the factor because corrected calcium is computed and graded in the
  calcium's own unit (SCORE-CCA, SAFE-14/15), so the exact factor is used here
  (docs/clarifications.md C-03).
- Albumin: 1 g/dL = 10 g/L.
- 25-OH vitamin D: 1 ng/mL = 2.496 nmol/L (molar mass 400.64 g/mol).
- CTX: 1 ng/mL = 1000 pg/mL; PINP: 1 ng/mL = 1 ug/L.
- Bone ALP in U/L (activity) and ug/L (mass) have no fixed conversion: each is kept in its own
  unit and judged only against the reporting lab's ULN in that unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bonepath.vocab import LabTest

CREATININE_UMOL_PER_MG_DL: Final = 88.4
CALCIUM_MG_DL_PER_MMOL_L: Final = 4.008
ALBUMIN_G_L_PER_G_DL: Final = 10.0
VITAMIN_D_NMOL_L_PER_NG_ML: Final = 2.496


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """The accepted units of one lab test and the factor that takes each to the canonical unit."""

    test: LabTest
    canonical: str
    # unit -> multiply by this to get the canonical unit; None = no fixed conversion
    to_canonical: dict[str, float | None]

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(self.to_canonical)


LAB_UNITS: Final[dict[LabTest, UnitSpec]] = {
    spec.test: spec
    for spec in (
        UnitSpec(
            LabTest.CREATININE,
            "mg/dL",
            {"umol/L": 1 / CREATININE_UMOL_PER_MG_DL, "mg/dL": 1.0},
        ),
        UnitSpec(
            LabTest.CALCIUM,
            "mmol/L",
            {"mmol/L": 1.0, "mg/dL": 1 / CALCIUM_MG_DL_PER_MMOL_L},
        ),
        UnitSpec(LabTest.ALBUMIN, "g/L", {"g/L": 1.0, "g/dL": ALBUMIN_G_L_PER_G_DL}),
        UnitSpec(LabTest.ALP, "U/L", {"U/L": 1.0}),
        UnitSpec(LabTest.BALP, "U/L", {"U/L": 1.0, "ug/L": None}),
        UnitSpec(LabTest.PINP, "ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
        UnitSpec(LabTest.CTX, "ng/mL", {"ng/mL": 1.0, "pg/mL": 1 / 1000}),
        UnitSpec(LabTest.NTX, "nmol BCE/mmol Cr", {"nmol BCE/mmol Cr": 1.0}),
        UnitSpec(
            LabTest.VITAMIN_D,
            "ng/mL",
            {"ng/mL": 1.0, "nmol/L": 1 / VITAMIN_D_NMOL_L_PER_NG_ML},
        ),
    )
}


def accepted_units(test: LabTest) -> tuple[str, ...]:
    """The units record-format.md accepts for ``test``, in the order it lists them."""
    return LAB_UNITS[test].accepted


def is_accepted_unit(test: LabTest, unit: str) -> bool:
    return unit in LAB_UNITS[test].to_canonical


def to_canonical(test: LabTest, value: float, unit: str) -> float | None:
    """``value`` in the canonical unit of ``test``; None when no fixed conversion exists.

    Raises KeyError for a unit that is not accepted: the parser refuses those before this runs.
    """
    factor = LAB_UNITS[test].to_canonical[unit]
    return None if factor is None else value * factor


def from_canonical(test: LabTest, value: float, unit: str) -> float | None:
    """Inverse of :func:`to_canonical`."""
    factor = LAB_UNITS[test].to_canonical[unit]
    return None if factor is None else value / factor


def creatinine_mg_dl(value: float, unit: str) -> float:
    """Serum creatinine in mg/dL (rules.md SCORE-CG divides umol/L by 88.4)."""
    if unit == "mg/dL":
        return value
    if unit == "umol/L":
        return value / CREATININE_UMOL_PER_MG_DL
    raise KeyError(unit)
