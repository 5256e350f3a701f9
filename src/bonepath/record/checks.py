"""Semantic checks of a patient record: units, plausibility, dates and contradictions.

The pydantic models of :mod:`bonepath.record.model` check structure and vocabularies; the
checks here cover what a type cannot say (rules.md VAL-01..VAL-05). They run on the *decoded
JSON*, not on the model, so that a record with a structural error still gets every semantic
problem reported in the same refusal (record-format.md "every problem listed"). Each check is a
small named function taking a :class:`RawRecord` and yielding :class:`~bonepath.errors.Problem`;
a value of the wrong JSON type is skipped here, because the structural validation reports it.

Every message says what is wrong and what would be accepted, so the person fixing the export
knows the remedy without reading the spec.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from bonepath.errors import Problem
from bonepath.record import problems as codes
from bonepath.record.model import EVENT_LISTS, parse_date
from bonepath.units import accepted_units
from bonepath.vocab import VERTEBRA_LEVELS, BoneMetStatus, Drug, LabTest, Site

# ---- plausibility tables (rules.md VAL-02), in the value's own unit -------------------------

PLAUSIBLE_LAB_RANGES: Final[Mapping[LabTest, Mapping[str, tuple[float, float]]]] = {
    LabTest.CREATININE: {"mg/dL": (0.1, 20.0), "umol/L": (9.0, 1768.0)},
    LabTest.CALCIUM: {"mmol/L": (1.0, 5.0), "mg/dL": (4.0, 20.0)},
    LabTest.ALBUMIN: {"g/L": (10.0, 60.0), "g/dL": (1.0, 6.0)},
}
"""Inclusive plausible ranges per lab test and unit (VAL-02); other tests need only be > 0."""

PLAUSIBLE_WEIGHT_KG: Final = (25.0, 250.0)

MAX_BTA_DOSE_MG: Final[Mapping[Drug, float]] = {
    Drug.ZOLEDRONIC_ACID: 8.0,
    Drug.IBANDRONATE: 12.0,
    Drug.INCADRONATE: 20.0,
    Drug.PAMIDRONATE: 180.0,
    Drug.DENOSUMAB: 240.0,
}
"""VAL-02 (v1.1): a ``bta.dose_mg`` above twice the drug's labelled single dose is refused (a
typo such as 40 mg of zoledronic acid, or 1e308)."""
BONE_PAIN_RANGE: Final = (0, 10)
ECOG_RANGE: Final = (0, 4)
KPS_RANGE: Final = (0, 100)
MIN_AGE_AT_DIAGNOSIS: Final = 18
MAX_AGE: Final = 120

POSITIVE_EVENT_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("labs", "value"),
    ("labs", "lln"),
    ("labs", "uln"),
    ("vitals", "weight_kg"),
    ("vitals", "height_cm"),
    ("bta", "dose_mg"),
    ("treatments", "dose_gy"),
    ("treatments", "fractions"),
)
"""Measured quantities that are refused when zero or negative (VAL-02), as (event list, field)."""

# The vertebra prefix names the spine site it belongs to (record-format.md `level`).
LEVEL_SITES: Final[Mapping[str, Site]] = {
    "C": Site.CERVICAL_SPINE,
    "T": Site.THORACIC_SPINE,
    "L": Site.LUMBAR_SPINE,
    "S": Site.SACRUM,
}

TNM_MAX_LENGTH: Final = 32
# Lenient on purpose: optional prefixes (c, p, yp, r), spaces and AJCC suffixes are allowed;
# the string must only name at least one T, N or M category and hold no other characters.
_TNM_CHARS = re.compile(r"[A-Za-z0-9() /,.+-]+")
_TNM_CATEGORY = re.compile(r"[TNM](?:[0-4]|x|X|is)")


# ---- the raw record -----------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901) from path parts (cached: the same event paths recur in every
    record)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def as_number(value: object) -> float | None:
    """``value`` if it is a finite JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def as_date(value: object) -> dt.date | None:
    """``value`` read as a record date, or None when it is not one (reported structurally)."""
    try:
        return parse_date(value)
    except ValueError:
        return None


def _fmt(number: float) -> str:
    return f"{number:g}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The decoded JSON of one record, read defensively, and the real current date."""

    data: Mapping[str, Any]
    today: dt.date

    @classmethod
    def of(cls, data: object, today: dt.date) -> RawRecord:
        return cls(_mapping(data), today)

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level object (``cancer``, ``bone_metastasis``, …); empty when not an object."""
        return _mapping(self.data.get(name))

    def events(self, name: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(path, item)`` for every object in ``events.<name>``."""
        items = self.section("events").get(name)
        if not isinstance(items, list | tuple):
            return
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield _pointer("events", name, index), item

    def all_events(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every event object of every format-v1 list (unknown lists are refused structurally)."""
        for name in EVENT_LISTS:
            yield from self.events(name)

    def lesions(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        items = self.section("bone_metastasis").get("lesions")
        if not isinstance(items, list | tuple):
            return
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield _pointer("bone_metastasis", "lesions", index), item

    @property
    def birth_date(self) -> dt.date | None:
        return as_date(self.data.get("birth_date"))

    def dates(self) -> Iterator[tuple[str, dt.date]]:
        """``(path, date)`` for every readable date of the record, birth date first."""
        fields: list[tuple[str, object]] = [
            ("/birth_date", self.data.get("birth_date")),
            ("/death_date", self.data.get("death_date")),
        ]
        cancer = self.section("cancer")
        for name in ("diagnosis_date", "surgery_date", "recurrence_date"):
            fields.append((_pointer("cancer", name), cancer.get(name)))
        bone = self.section("bone_metastasis")
        fields.append(("/bone_metastasis/confirmed_date", bone.get("confirmed_date")))
        fields.extend((path + "/date", item.get("date")) for path, item in self.all_events())
        for path, value in fields:
            if value is not None and (day := as_date(value)) is not None:
                yield path, day


Check = Callable[[RawRecord], Iterator[Problem]]


# ---- units (VAL-03) -----------------------------------------------------------------------


def _lab_test(item: Mapping[str, Any]) -> LabTest | None:
    test = item.get("test")
    return LabTest(test) if isinstance(test, str) and test in LabTest._value2member_map_ else None


def check_lab_units(raw: RawRecord) -> Iterator[Problem]:
    """A lab unit must be one record-format.md lists for its test (VAL-03); never guessed."""
    for path, item in raw.events("labs"):
        test, unit = _lab_test(item), item.get("unit")
        if test is None or not isinstance(unit, str):
            continue
        accepted = accepted_units(test)
        if unit not in accepted:
            yield Problem(
                path + "/unit",
                codes.UNKNOWN_UNIT,
                f"unit {unit!r} is not accepted for {test.value}; record the value in one of "
                f"{', '.join(accepted)} (units are never guessed, VAL-03)",
                accepted,
            )


# ---- plausibility (VAL-02) ----------------------------------------------------------------


def check_positive_values(raw: RawRecord) -> Iterator[Problem]:
    """Zero or negative measured values are always refused (VAL-02)."""
    located: list[tuple[str, object]] = []
    for list_name, field in POSITIVE_EVENT_FIELDS:
        located.extend((f"{path}/{field}", item.get(field)) for path, item in raw.events(list_name))
    located.extend((f"{path}/size_mm", item.get("size_mm")) for path, item in raw.lesions())
    for path, value in located:
        number = as_number(value)
        if number is not None and number <= 0:
            name = path.rsplit("/", 1)[-1]
            yield Problem(
                path,
                codes.NOT_POSITIVE,
                f"{name} {_fmt(number)} is not positive; a measured value must be greater "
                "than 0 (VAL-02: zero or negative values are always refused)",
                ("> 0",),
            )


def _range_text(low: float, high: float, unit: str) -> str:
    return f"{_fmt(low)}-{_fmt(high)} {unit}"


def check_lab_plausibility(raw: RawRecord) -> Iterator[Problem]:
    """Creatinine, calcium and albumin within the VAL-02 ranges, judged in their own unit."""
    for path, item in raw.events("labs"):
        test, unit, value = _lab_test(item), item.get("unit"), as_number(item.get("value"))
        ranges = PLAUSIBLE_LAB_RANGES.get(test) if test is not None else None
        if ranges is None or test is None or value is None or value <= 0:
            continue
        if not isinstance(unit, str) or unit not in ranges:
            continue  # an unknown unit is reported by check_lab_units; no guessed range
        low, high = ranges[unit]
        if not low <= value <= high:
            accepted = tuple(_range_text(lo, hi, u) for u, (lo, hi) in ranges.items())
            yield Problem(
                path + "/value",
                codes.IMPLAUSIBLE_VALUE,
                f"{test.value} {_fmt(value)} {unit} is outside the plausible range "
                f"{_range_text(low, high, unit)} (VAL-02); check the value and its unit",
                accepted,
            )


def check_weight(raw: RawRecord) -> Iterator[Problem]:
    """Body weight 25-250 kg (VAL-02)."""
    low, high = PLAUSIBLE_WEIGHT_KG
    for path, item in raw.events("vitals"):
        weight = as_number(item.get("weight_kg"))
        if weight is not None and weight > 0 and not low <= weight <= high:
            yield Problem(
                path + "/weight_kg",
                codes.IMPLAUSIBLE_VALUE,
                f"weight_kg {_fmt(weight)} is outside the plausible range "
                f"{_range_text(low, high, 'kg')} (VAL-02); record the weight in kilograms",
                (_range_text(low, high, "kg"),),
            )


def check_bta_dose(raw: RawRecord) -> Iterator[Problem]:
    """A BTA dose at most twice the drug's labelled single dose (VAL-02, v1.1)."""
    for path, item in raw.events("bta"):
        dose = as_number(item.get("dose_mg"))
        drug = item.get("drug")
        if dose is None or dose <= 0 or not isinstance(drug, str) or drug not in MAX_BTA_DOSE_MG:
            continue  # not positive: check_positive_values; unknown drug or not a text: the model
        ceiling = MAX_BTA_DOSE_MG[Drug(str(drug))]
        if dose > ceiling:
            yield Problem(
                path + "/dose_mg",
                codes.IMPLAUSIBLE_VALUE,
                f"dose_mg {_fmt(dose)} of {drug} is above twice its labelled single dose "
                f"(at most {_fmt(ceiling)} mg, VAL-02); check the value and its unit (mg)",
                (f"0-{_fmt(ceiling)} mg",),
            )


def _integer_out_of(value: object, low: int, high: int) -> int | None:
    """``value`` when it is a JSON integer outside [low, high]; non-integers are structural."""
    if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
        return value
    return None


def check_bone_pain(raw: RawRecord) -> Iterator[Problem]:
    """``bone_pain`` is an NRS integer 0-10 (VAL-02)."""
    low, high = BONE_PAIN_RANGE
    for path, item in raw.events("symptoms"):
        pain = _integer_out_of(item.get("bone_pain"), low, high)
        if pain is not None:
            yield Problem(
                path + "/bone_pain",
                codes.IMPLAUSIBLE_VALUE,
                f"bone_pain {pain} is not a numeric rating scale score; accepted: an integer "
                f"{low}-{high} (VAL-02)",
                tuple(range(low, high + 1)),
            )


def check_performance(raw: RawRecord) -> Iterator[Problem]:
    """``ecog`` integer 0-4; ``kps`` a multiple of 10 in 0-100 (VAL-02)."""
    kps_accepted = tuple(range(KPS_RANGE[0], KPS_RANGE[1] + 1, 10))
    for path, item in raw.events("performance"):
        ecog = _integer_out_of(item.get("ecog"), *ECOG_RANGE)
        if ecog is not None:
            yield Problem(
                path + "/ecog",
                codes.IMPLAUSIBLE_VALUE,
                f"ecog {ecog} is not an ECOG performance status; accepted: an integer 0-4 (VAL-02)",
                tuple(range(ECOG_RANGE[0], ECOG_RANGE[1] + 1)),
            )
        kps = item.get("kps")
        if isinstance(kps, int) and not isinstance(kps, bool) and kps not in kps_accepted:
            yield Problem(
                path + "/kps",
                codes.IMPLAUSIBLE_VALUE,
                f"kps {kps} is not a Karnofsky score; accepted: a multiple of 10 from 0 to 100 "
                "(VAL-02)",
                kps_accepted,
            )


def check_reference_limits(raw: RawRecord) -> Iterator[Problem]:
    """A lab's own ``lln`` must lie below its ``uln`` (both in the value's unit)."""
    for path, item in raw.events("labs"):
        lln, uln = as_number(item.get("lln")), as_number(item.get("uln"))
        if lln is not None and uln is not None and lln > 0 and uln > 0 and lln >= uln:
            yield Problem(
                path + "/lln",
                codes.CONTRADICTION,
                f"lln {_fmt(lln)} is not below uln {_fmt(uln)}; give the reporting lab's lower "
                "and upper reference limits in the unit of the value",
                (f"< {_fmt(uln)}",),
            )


def _completed_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_age(raw: RawRecord) -> Iterator[Problem]:
    """``birth_date`` giving age < 18 at diagnosis or > 120 today is implausible (VAL-02)."""
    born = raw.birth_date
    if born is None or born > raw.today:
        return  # an unreadable or future birth date is reported elsewhere
    diagnosed = as_date(raw.section("cancer").get("diagnosis_date"))
    if diagnosed is not None and diagnosed >= born:
        age = _completed_years(born, diagnosed)
        if age < MIN_AGE_AT_DIAGNOSIS:
            yield Problem(
                "/birth_date",
                codes.IMPLAUSIBLE_VALUE,
                f"birth_date {born} gives an age of {age} at cancer.diagnosis_date {diagnosed}; "
                f"accepted: age {MIN_AGE_AT_DIAGNOSIS} or more at diagnosis (VAL-02)",
                (f"on or before {_years_before(diagnosed, MIN_AGE_AT_DIAGNOSIS)}",),
            )
    age_today = _completed_years(born, raw.today)
    if age_today > MAX_AGE:
        yield Problem(
            "/birth_date",
            codes.IMPLAUSIBLE_VALUE,
            f"birth_date {born} gives an age of {age_today} today; accepted: age {MAX_AGE} "
            "or less (VAL-02)",
            (f"after {_years_before(raw.today, MAX_AGE + 1)}",),
        )


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# ---- dates (VAL-01) -----------------------------------------------------------------------


def check_future_dates(raw: RawRecord) -> Iterator[Problem]:
    """No date after the real current date (VAL-01: ``--as-of`` ignores, only today refuses)."""
    for path, day in raw.dates():
        if day > raw.today:
            yield Problem(
                path,
                codes.FUTURE_DATE,
                f"{day} is after today ({raw.today}); a record holds only what has happened. "
                "Planned dates belong elsewhere (bta_plan, interval_days)",
                (f"on or before {raw.today}",),
            )


def check_dates_after_birth(raw: RawRecord) -> Iterator[Problem]:
    """No event or clinical date before ``birth_date``."""
    born = raw.birth_date
    if born is None or born > raw.today:
        return  # a future birth date is the one error to report (FUTURE_DATE), not every date
    for path, day in raw.dates():
        if path != "/birth_date" and day < born:
            yield Problem(
                path,
                codes.BEFORE_BIRTH,
                f"{day} is before birth_date {born}; check the date or the birth date",
                (f"on or after {born}",),
            )


# ---- contradictions and shapes ------------------------------------------------------------


def check_confirmed_date(raw: RawRecord) -> Iterator[Problem]:
    """``confirmed_date`` needs ``status: confirmed`` (VAL-05 names this a format error)."""
    bone = raw.section("bone_metastasis")
    status = bone.get("status")
    if bone.get("confirmed_date") is not None and status != BoneMetStatus.CONFIRMED.value:
        shown = "absent" if status is None else repr(status)
        yield Problem(
            "/bone_metastasis/confirmed_date",
            codes.CONTRADICTION,
            f"confirmed_date is given but status is {shown}; set status to 'confirmed' or "
            "remove confirmed_date (VAL-05)",
            None,
        )


def check_vertebra_levels(raw: RawRecord) -> Iterator[Problem]:
    """A lesion ``level`` is a vertebra (C1-C7, T1-T12, L1-L5, S1-S5) of the lesion's site."""
    for path, lesion in raw.lesions():
        level, site = lesion.get("level"), lesion.get("site")
        if not isinstance(level, str):
            continue
        if level not in VERTEBRA_LEVELS:
            yield Problem(
                path + "/level",
                codes.UNKNOWN_CODE,
                f"level {level!r} is not a vertebra; accepted: C1-C7, T1-T12, L1-L5, S1-S5",
                VERTEBRA_LEVELS,
            )
            continue
        expected = LEVEL_SITES[level[0]]
        if isinstance(site, str) and site in Site._value2member_map_ and site != expected:
            yield _level_site_mismatch(path + "/level", level, site)


def _level_site_mismatch(path: str, level: str, site: str) -> Problem:
    prefix = next((p for p, s in LEVEL_SITES.items() if s.value == site), None)
    if prefix is None:
        return Problem(
            path,
            codes.CONTRADICTION,
            f"level {level} is given for a lesion at {site!r}; a vertebra level belongs only "
            f"to spine sites ({', '.join(s.value for s in LEVEL_SITES.values())}): remove "
            "level or correct the site",
            None,
        )
    return Problem(
        path,
        codes.CONTRADICTION,
        f"level {level} is not a vertebra of {site!r}; accepted for that site: "
        f"{prefix}-levels, or correct the site",
        tuple(lv for lv in VERTEBRA_LEVELS if lv.startswith(prefix)),
    )


def check_tnm(raw: RawRecord) -> Iterator[Problem]:
    """``cancer.tnm`` is a short TNM string such as ``T2aN1M1c``."""
    tnm = raw.section("cancer").get("tnm")
    if not isinstance(tnm, str):
        return
    text = tnm.strip()
    if (
        len(text) > TNM_MAX_LENGTH
        or not _TNM_CHARS.fullmatch(text)
        or not _TNM_CATEGORY.search(text)
    ):
        yield Problem(
            "/cancer/tnm",
            codes.WRONG_FORMAT,
            f"tnm {tnm[:40]!r} is not a TNM classification; accepted: a short string of "
            f"T/N/M categories such as 'T2aN1M1c' (at most {TNM_MAX_LENGTH} characters)",
            ("T2aN1M1c",),
        )


CHECKS: Final[tuple[Check, ...]] = (
    check_lab_units,
    check_positive_values,
    check_lab_plausibility,
    check_weight,
    check_bta_dose,
    check_bone_pain,
    check_performance,
    check_reference_limits,
    check_age,
    check_future_dates,
    check_dates_after_birth,
    check_confirmed_date,
    check_vertebra_levels,
    check_tnm,
)
"""Every semantic check, in the order they run; :func:`run_checks` applies them all."""


def run_checks(data: object, today: dt.date) -> list[Problem]:
    """Every semantic problem of the decoded record ``data`` as of the real date ``today``."""
    raw = RawRecord.of(data, today)
    return [problem for check in CHECKS for problem in check(raw)]
