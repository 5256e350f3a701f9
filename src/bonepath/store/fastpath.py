"""The import's fast path: certify a decoded record and flatten it in one walk, without the model.

:func:`bonepath.record.parse.parse_record` followed by
:func:`bonepath.store.repository.prepare_record` validates a record in three passes (the
screen, the pydantic model, the semantic checks of :mod:`bonepath.record.checks`) and then
flattens the model back into rows: ≈ 0.9 ms of CPU per synthetic patient, most of an import.
:func:`fast_prepare` walks the decoded JSON once against a table of the format-v1 fields and
builds, as it goes, the canonical document and the rows of every table.

It only *certifies*: it accepts a record only when every value has exactly the JSON type, code,
bound and relation that the slow path accepts, and then returns exactly what the slow path
would store (same document, hash and rows; a differential test holds it to that). Anything
else — an unknown field, a value of another type, a date written as a datetime, a value near a
plausibility bound it does not decide, any problem at all — returns ``None``, and the caller
runs the slow path, which refuses or accepts with today's rules and messages. So the rules and
the messages have one home (the slow path); this module may only say "certainly good".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable
from typing import Any, Final

from bonepath.record.checks import (
    BONE_PAIN_RANGE,
    ECOG_RANGE,
    LEVEL_SITES,
    MAX_AGE,
    MAX_BTA_DOSE_MG,
    MIN_AGE_AT_DIAGNOSIS,
    PLAUSIBLE_LAB_RANGES,
    PLAUSIBLE_WEIGHT_KG,
    TNM_MAX_LENGTH,
)
from bonepath.record.columns import REPORT_SITE_RESULT, derive_imaging
from bonepath.record.limits import MAX_VALUES
from bonepath.record.model import _parse_date_text
from bonepath.store.db import canonical_json
from bonepath.store.repository import PreparedRecord
from bonepath.units import LAB_UNITS
from bonepath.vocab import (
    RECORD_FORMAT,
    VERTEBRA_LEVELS,
    AdverseEventKind,
    Alignment,
    BiopsyResult,
    BoneMetStatus,
    CityTier,
    Collapse,
    Comorbidity,
    DentalResult,
    Department,
    DriverStatus,
    Drug,
    Frankel,
    Gene,
    Histology,
    HospitalType,
    ImagingResult,
    LabTest,
    LesionKind,
    MdtDecision,
    MdtQuestion,
    MedicationAction,
    MedicationClass,
    Modality,
    PhysicianTitle,
    Posterolateral,
    Region,
    Route,
    Setting,
    Sex,
    Site,
    Smoking,
    SreKind,
    Stage,
    StopReason,
    TreatmentKind,
    VisceralMetastasis,
)

__all__ = ["fast_prepare", "fast_prepared"]


class _Uncertified(Exception):
    """The record is not certainly good: the slow path decides."""


Rows = dict[str, list[tuple[Any, ...]]]
Checker = Callable[[Any], Any]

_MAX_EXACT_INT: Final = 2**53
_TNM_CHARS: Final = re.compile(r"[A-Za-z0-9() /,.+-]+")
_TNM_CATEGORY: Final = re.compile(r"[TNM](?:[0-4]|x|X|is)")
_PHONE: Final = re.compile(r"\+?[0-9][0-9 ()\-]*[0-9]")
_VERTEBRAE: Final = frozenset(VERTEBRA_LEVELS)
_LEVEL_SITE: Final = {prefix: site.value for prefix, site in LEVEL_SITES.items()}
_LAB_UNITS: Final = {test.value: spec.to_canonical for test, spec in LAB_UNITS.items()}
_LAB_RANGES: Final = {test.value: ranges for test, ranges in PLAUSIBLE_LAB_RANGES.items()}
_DOSE_CEILING: Final = {drug.value: ceiling for drug, ceiling in MAX_BTA_DOSE_MG.items()}
_COMORBIDITIES: Final = tuple(c.value for c in Comorbidity)
_GENES: Final = tuple(g.value for g in Gene)
_KPS: Final = frozenset(range(0, 101, 10))


# ---- value checkers: each returns the value as the model holds it, or raises -----------------


def _text(value: Any) -> str:
    if type(value) is str and "\x00" not in value:
        return value
    raise _Uncertified


def _sized_text(low: int, high: int) -> Checker:
    def check(value: Any) -> str:
        if type(value) is str and low <= len(value) <= high and "\x00" not in value:
            return value
        raise _Uncertified

    return check


def _id_text(*, top: bool) -> Checker:
    """An id (limits.ID_FIELDS): visible characters, not blank; a source without '/'."""

    def check(value: Any) -> str:
        if (
            type(value) is str
            and value.strip()
            and value.isprintable()
            and (not top or len(value) <= 64)
        ):
            return value
        raise _Uncertified

    return check


def _phone(value: Any) -> str:
    if type(value) is str and len(value) <= 32 and _PHONE.fullmatch(value):
        return value
    raise _Uncertified


def _code(values: Any) -> Checker:
    accepted = frozenset(member.value for member in values)

    def check(value: Any) -> str:
        if type(value) is str and value in accepted:
            return value
        raise _Uncertified

    return check


def _codes(values: Any) -> Checker:
    accepted = frozenset(member.value for member in values)

    def check(value: Any) -> list[str]:
        if type(value) is list and all(type(v) is str and v in accepted for v in value):
            return value
        raise _Uncertified

    return check


def _literal(text: str) -> Checker:
    def check(value: Any) -> str:
        if type(value) is str and value == text:
            return value
        raise _Uncertified

    return check


def _as_float(value: Any) -> float:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value  # type: ignore[no-any-return]
    elif kind is int and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
        return float(value)
    raise _Uncertified


def _number(
    *, gt: float | None = None, ge: float | None = None, le: float | None = None
) -> Checker:
    if gt is None and ge is None and le is None:
        return _as_float

    def check(value: Any) -> float:
        number = _as_float(value)
        if (
            (gt is not None and not number > gt)
            or (ge is not None and not number >= ge)
            or (le is not None and not number <= le)
        ):
            raise _Uncertified
        return number

    return check


def _int(low: int | None = None, high: int | None = None) -> Checker:
    def check(value: Any) -> int:
        if type(value) is int and (low is None or value >= low) and (high is None or value <= high):
            return value
        raise _Uncertified

    return check


def _choice(*values: int) -> Checker:
    accepted = frozenset(values)

    def check(value: Any) -> int:
        if type(value) is int and value in accepted:
            return value
        raise _Uncertified

    return check


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise _Uncertified


def _date(value: Any) -> dt.date:
    if type(value) is str:
        try:
            return _parse_date_text(value)
        except ValueError:
            pass
    raise _Uncertified


def _drivers(value: Any) -> dict[str, str]:
    genes, statuses = _GENE_SET, _DRIVER_STATUSES
    if type(value) is dict and all(
        k in genes and type(v) is str and v in statuses for k, v in value.items()
    ):
        return value
    raise _Uncertified


_GENE_SET: Final = frozenset(_GENES)
_DRIVER_STATUSES: Final = frozenset(s.value for s in DriverStatus)


# ---- objects --------------------------------------------------------------------------------

REQUIRED: Final = 0
OPTIONAL: Final = 1  # may be absent or null (omitted from the document)
LIST: Final = 2  # absent: an empty list; null: not certified


class _Spec:
    """An object of the format: its fields (checker, kind) by wire name."""

    __slots__ = ("fields", "lists", "required")

    def __init__(self, **fields: tuple[Checker, int]) -> None:
        self.fields = {name.rstrip("_"): spec for name, spec in fields.items()}
        self.required = frozenset(n for n, (_, kind) in self.fields.items() if kind == REQUIRED)
        self.lists = tuple(n for n, (_, kind) in self.fields.items() if kind == LIST)

    def __call__(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise _Uncertified
        fields = self.fields
        out: dict[str, Any] = {}
        for name, value in data.items():
            spec = fields.get(name)
            if spec is None:
                raise _Uncertified
            if value is None:
                if spec[1] != OPTIONAL:
                    raise _Uncertified
                continue
            out[name] = spec[0](value)
        if not self.required.issubset(out):
            raise _Uncertified
        for name in self.lists:
            if name not in out:
                out[name] = []
        return out


def _list_of(check: Checker) -> Checker:
    def walk(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Uncertified
        return [check(item) for item in value]

    return walk


def _event(**fields: tuple[Checker, int]) -> _Spec:
    return _Spec(date=(_date, REQUIRED), **fields)


_POSITIVE: Final = _number(gt=0)
_PCT: Final = _number(ge=0, le=100)
_NON_NEGATIVE: Final = _number(ge=0)
_INTERVAL: Final = _choice(21, 28, 84)

_HOSPITAL: Final = _Spec(
    id=(_id_text(top=False), OPTIONAL),
    name=(_text, OPTIONAL),
    city_tier=(_code(CityTier), OPTIONAL),
    type=(_code(HospitalType), OPTIONAL),
)
_PHYSICIAN: Final = _Spec(
    id=(_id_text(top=False), OPTIONAL), title=(_code(PhysicianTitle), OPTIONAL)
)
_IDENTITY: Final = _Spec(name=(_sized_text(1, 64), OPTIONAL), phone=(_phone, OPTIONAL))
_CANCER: Final = _Spec(
    diagnosis_date=(_date, REQUIRED),
    histology=(_code(Histology), OPTIONAL),
    stage=(_code(Stage), OPTIONAL),
    tnm=(_text, OPTIONAL),
    drivers=(_drivers, OPTIONAL),
    pd_l1_tps=(_PCT, OPTIONAL),
    setting=(_code(Setting), OPTIONAL),
    surgery_date=(_date, OPTIONAL),
    recurrence_date=(_date, OPTIONAL),
    visceral_metastasis=(_code(VisceralMetastasis), OPTIONAL),
)
_LESION: Final = _Spec(
    site=(_code(Site), REQUIRED),
    kind=(_code(LesionKind), OPTIONAL),
    size_mm=(_POSITIVE, OPTIONAL),
    cortical_involvement_pct=(_PCT, OPTIONAL),
    level=(_text, OPTIONAL),
    peritrochanteric=(_bool, OPTIONAL),
    alignment=(_code(Alignment), OPTIONAL),
    collapse=(_code(Collapse), OPTIONAL),
    posterolateral=(_code(Posterolateral), OPTIONAL),
)
_BONE: Final = _Spec(
    status=(_code(BoneMetStatus), OPTIONAL),
    confirmed_date=(_date, OPTIONAL),
    lesions=(_list_of(_LESION), LIST),
)
_PLAN: Final = _Spec(drug=(_code(Drug), REQUIRED), interval_days=(_INTERVAL, OPTIONAL))

_EVENT_SPECS: Final[dict[str, _Spec]] = {
    "imaging": _event(
        modality=(_code(Modality), REQUIRED),
        region=(_code(Region), OPTIONAL),
        result=(_code(ImagingResult), OPTIONAL),
        bone_window_reviewed=(_bool, OPTIONAL),
        lesion_count=(_int(0), OPTIONAL),
        sites=(_codes(Site), LIST),
        report_text=(_text, OPTIONAL),
    ),
    "biopsy": _event(site=(_code(Site), OPTIONAL), result=(_code(BiopsyResult), REQUIRED)),
    "labs": _event(
        test=(_code(LabTest), REQUIRED),
        value=(_as_float, REQUIRED),
        unit=(_text, REQUIRED),
        lln=(_as_float, OPTIONAL),
        uln=(_as_float, OPTIONAL),
    ),
    "vitals": _event(weight_kg=(_as_float, OPTIONAL), height_cm=(_POSITIVE, OPTIONAL)),
    "performance": _event(
        ecog=(_int(), OPTIONAL),
        kps=(_int(), OPTIONAL),
        life_expectancy_months=(_NON_NEGATIVE, OPTIONAL),
    ),
    "symptoms": _event(
        bone_pain=(_int(), OPTIONAL),
        pain_sites=(_codes(Site), LIST),
        neuro_deficit=(_bool, OPTIONAL),
        mechanical_pain=(_bool, OPTIONAL),
        frankel=(_code(Frankel), OPTIONAL),
    ),
    "bta": _event(
        drug=(_code(Drug), REQUIRED),
        dose_mg=(_as_float, REQUIRED),
        route=(_code(Route), OPTIONAL),
        interval_days=(_INTERVAL, OPTIONAL),
    ),
    "bta_stop": _event(reason=(_code(StopReason), REQUIRED)),
    "supplements": _event(
        calcium_mg_daily=(_NON_NEGATIVE, OPTIONAL), vitamin_d_iu_daily=(_NON_NEGATIVE, OPTIONAL)
    ),
    "dental": _event(result=(_code(DentalResult), REQUIRED)),
    "medications": _event(
        class_=(_code(MedicationClass), REQUIRED), action=(_code(MedicationAction), REQUIRED)
    ),
    "treatments": _event(
        kind=(_code(TreatmentKind), REQUIRED),
        site=(_code(Site), OPTIONAL),
        dose_gy=(_POSITIVE, OPTIONAL),
        fractions=(_int(1), OPTIONAL),
    ),
    "adverse_events": _event(
        kind=(_code(AdverseEventKind), REQUIRED),
        grade=(_int(1, 5), OPTIONAL),
        stage=(_int(0, 3), OPTIONAL),
    ),
    "sre": _event(kind=(_code(SreKind), REQUIRED)),
    "mdt": _event(
        decision=(_text, OPTIONAL),
        attendees=(_codes(Department), LIST),
        question=(_code(MdtQuestion), OPTIONAL),
        decisions=(_codes(MdtDecision), LIST),
        remote=(_bool, OPTIONAL),
        centre=(_text, OPTIONAL),
    ),
}


def _events(value: Any) -> dict[str, list[dict[str, Any]]]:
    """The events object, keeping only the non-empty lists (as ``Record.to_json_dict``)."""
    if type(value) is not dict:
        raise _Uncertified
    out = {}
    for name, items in value.items():
        spec = _EVENT_SPECS.get(name)
        if spec is None or type(items) is not list:
            raise _Uncertified
        if items:
            out[name] = [spec(item) for item in items]
    return out


_RECORD: Final = _Spec(
    format=(_literal(RECORD_FORMAT), REQUIRED),
    id=(_id_text(top=True), REQUIRED),
    source=(_id_text(top=True), LIST),  # default "manual", set below
    hospital=(_HOSPITAL, OPTIONAL),
    department=(_code(Department), OPTIONAL),
    physician=(_PHYSICIAN, OPTIONAL),
    identity=(_IDENTITY, OPTIONAL),
    sex=(_code(Sex), REQUIRED),
    birth_date=(_date, REQUIRED),
    death_date=(_date, OPTIONAL),
    smoking=(_code(Smoking), OPTIONAL),
    comorbidities=(_codes(Comorbidity), OPTIONAL),
    cancer=(_CANCER, REQUIRED),
    bone_metastasis=(_BONE, OPTIONAL),
    bta_plan=(_PLAN, OPTIONAL),
    events=(_events, LIST),
)


# ---- the semantic checks, as conditions for certifying -------------------------------------

MIRRORED_CHECKS: Final = (
    "check_lab_units",
    "check_positive_values",
    "check_lab_plausibility",
    "check_weight",
    "check_bta_dose",
    "check_bone_pain",
    "check_performance",
    "check_reference_limits",
    "check_age",
    "check_future_dates",
    "check_dates_after_birth",
    "check_confirmed_date",
    "check_vertebra_levels",
    "check_tnm",
)
"""The checks of :data:`bonepath.record.checks.CHECKS` that :func:`_certify_semantics` mirrors
(a test fails when a check is added there and not here)."""


def _completed_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _certify_semantics(doc: dict[str, Any], today: dt.date) -> None:
    """Raise unless every check of :mod:`bonepath.record.checks` certainly passes."""
    born: dt.date = doc["birth_date"]
    if born > today or _completed_years(born, today) > MAX_AGE:
        raise _Uncertified
    cancer = doc["cancer"]
    diagnosed: dt.date = cancer["diagnosis_date"]
    if diagnosed < born or _completed_years(born, diagnosed) < MIN_AGE_AT_DIAGNOSIS:
        raise _Uncertified
    dates = [diagnosed, cancer.get("surgery_date"), cancer.get("recurrence_date")]
    dates.append(doc.get("death_date"))
    tnm = cancer.get("tnm")
    if tnm is not None:
        text = tnm.strip()
        if (
            len(text) > TNM_MAX_LENGTH
            or not _TNM_CHARS.fullmatch(text)
            or not _TNM_CATEGORY.search(text)
        ):
            raise _Uncertified
    bone = doc.get("bone_metastasis")
    if bone is not None:
        if "confirmed_date" in bone:
            if bone.get("status") != BoneMetStatus.CONFIRMED.value:
                raise _Uncertified
            dates.append(bone["confirmed_date"])
        for lesion in bone["lesions"]:
            level = lesion.get("level")
            if level is not None and (
                level not in _VERTEBRAE or _LEVEL_SITE[level[0]] != lesion["site"]
            ):
                raise _Uncertified
    events = doc.get("events", {})
    for items in events.values():
        dates.extend(item["date"] for item in items)
    for day in dates:
        if day is not None and not born <= day <= today:
            raise _Uncertified
    for lab in events.get("labs", ()):
        units = _LAB_UNITS[lab["test"]]
        value, unit = lab["value"], lab["unit"]
        if unit not in units or value <= 0:
            raise _Uncertified
        ranges = _LAB_RANGES.get(lab["test"])
        if ranges is not None:
            low, high = ranges[unit]
            if not low <= value <= high:
                raise _Uncertified
        lln, uln = lab.get("lln"), lab.get("uln")
        if (lln is not None and lln <= 0) or (uln is not None and uln <= 0):
            raise _Uncertified
        if lln is not None and uln is not None and lln >= uln:
            raise _Uncertified
    low_kg, high_kg = PLAUSIBLE_WEIGHT_KG
    for vitals in events.get("vitals", ()):
        weight = vitals.get("weight_kg")
        if weight is not None and not low_kg <= weight <= high_kg:
            raise _Uncertified
    for dose in events.get("bta", ()):
        ceiling = _DOSE_CEILING.get(dose["drug"])
        if dose["dose_mg"] <= 0 or (ceiling is not None and dose["dose_mg"] > ceiling):
            raise _Uncertified
    low_pain, high_pain = BONE_PAIN_RANGE
    for symptoms in events.get("symptoms", ()):
        pain = symptoms.get("bone_pain")
        if pain is not None and not low_pain <= pain <= high_pain:
            raise _Uncertified
    low_ecog, high_ecog = ECOG_RANGE
    for performance in events.get("performance", ()):
        ecog, kps = performance.get("ecog"), performance.get("kps")
        if (ecog is not None and not low_ecog <= ecog <= high_ecog) or (
            kps is not None and kps not in _KPS
        ):
            raise _Uncertified


# ---- counting values (limits.MAX_VALUES) -----------------------------------------------------


def _values(data: dict[str, Any]) -> int:
    """The values of a certified-shaped record as :func:`limits.bound_problem` counts them
    (every object's and list's length), up to the fixed depth of format v1."""
    count = 0
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        count += len(value)
        for child in value.values() if type(value) is dict else value:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append(child)
    return count


# ---- rows -----------------------------------------------------------------------------------


def _rows(doc: dict[str, Any]) -> Rows:
    """The rows of every table, as :func:`bonepath.store.repository.prepare_record` gives them
    (each without its leading ``pk``; only the tables with rows; in table order)."""
    hospital = doc.get("hospital") or {}
    physician = doc.get("physician") or {}
    cancer = doc["cancer"]
    bone = doc.get("bone_metastasis")
    plan = doc.get("bta_plan")
    comorbidities = doc.get("comorbidities")
    drivers = cancer.get("drivers") or {}
    taken = None if comorbidities is None else frozenset(comorbidities)
    rows: Rows = {}
    rows["patients"] = [
        (
            doc["source"],
            doc["id"],
            doc["sex"],
            doc["birth_date"],
            doc.get("death_date"),
            doc.get("smoking"),
            hospital.get("id"),
            hospital.get("name"),
            hospital.get("city_tier"),
            hospital.get("type"),
            doc.get("department"),
            physician.get("id"),
            physician.get("title"),
            comorbidities is not None,
            *(None if taken is None else c in taken for c in _COMORBIDITIES),
            cancer["diagnosis_date"],
            cancer.get("histology"),
            cancer.get("stage"),
            cancer.get("tnm"),
            cancer.get("pd_l1_tps"),
            cancer.get("setting"),
            cancer.get("surgery_date"),
            cancer.get("recurrence_date"),
            cancer.get("visceral_metastasis"),
            *(drivers.get(g) for g in _GENES),
            bone.get("status") if bone else None,
            bone.get("confirmed_date") if bone else None,
            plan["drug"] if plan else None,
            plan.get("interval_days") if plan else None,
        )
    ]
    if bone and bone["lesions"]:
        rows["lesions"] = [
            (
                seq,
                les["site"],
                les.get("kind"),
                les.get("size_mm"),
                les.get("cortical_involvement_pct"),
                les.get("level"),
                les.get("peritrochanteric"),
                les.get("alignment"),
                les.get("collapse"),
                les.get("posterolateral"),
            )
            for seq, les in enumerate(bone["lesions"])
        ]
    ev = doc.get("events", {})
    if "imaging" in ev:
        imaging: list[tuple[Any, ...]] = []
        sites: list[tuple[Any, ...]] = []
        for seq, im in enumerate(ev["imaging"]):
            recorded = im["sites"]
            derived = derive_imaging(
                im["modality"],
                im.get("result"),
                im.get("bone_window_reviewed"),
                tuple(recorded),
                im.get("report_text"),
            )
            imaging.append(
                (
                    seq,
                    im["date"],
                    im["modality"],
                    im.get("region"),
                    im.get("result"),
                    derived.bone_window_reviewed,
                    im.get("lesion_count"),
                    im.get("report_text"),
                    derived.bone_window_source,
                    derived.report_bone_window,
                    derived.evidence_text,
                )
            )
            sites.extend((seq, site, None, "recorded") for site in recorded)
            sites.extend((seq, name, REPORT_SITE_RESULT, "report") for name in derived.report_sites)
        rows["imaging"] = imaging
        if sites:
            rows["imaging_sites"] = sites
    if "biopsy" in ev:
        rows["biopsy"] = [
            (seq, b["date"], b.get("site"), b["result"]) for seq, b in enumerate(ev["biopsy"])
        ]
    if "labs" in ev:
        rows["labs"] = [
            (
                seq,
                lab["date"],
                lab["test"],
                lab["value"],
                lab["unit"],
                lab.get("lln"),
                lab.get("uln"),
                _canonical(lab["test"], lab["value"], lab["unit"]),
            )
            for seq, lab in enumerate(ev["labs"])
        ]
    if "vitals" in ev:
        rows["vitals"] = [
            (seq, v["date"], v.get("weight_kg"), v.get("height_cm"))
            for seq, v in enumerate(ev["vitals"])
        ]
    if "performance" in ev:
        rows["performance"] = [
            (seq, p["date"], p.get("ecog"), p.get("kps"), p.get("life_expectancy_months"))
            for seq, p in enumerate(ev["performance"])
        ]
    if "symptoms" in ev:
        symptoms: list[tuple[Any, ...]] = []
        pain_sites: list[tuple[Any, ...]] = []
        for seq, s in enumerate(ev["symptoms"]):
            symptoms.append(
                (
                    seq,
                    s["date"],
                    s.get("bone_pain"),
                    s.get("neuro_deficit"),
                    s.get("mechanical_pain"),
                    s.get("frankel"),
                )
            )
            pain_sites.extend((seq, site) for site in s["pain_sites"])
        rows["symptoms"] = symptoms
        if pain_sites:
            rows["symptom_sites"] = pain_sites
    if "bta" in ev:
        rows["bta"] = [
            (seq, d["date"], d["drug"], d["dose_mg"], d.get("route"), d.get("interval_days"))
            for seq, d in enumerate(ev["bta"])
        ]
    if "bta_stop" in ev:
        rows["bta_stop"] = [(seq, s["date"], s["reason"]) for seq, s in enumerate(ev["bta_stop"])]
    if "supplements" in ev:
        rows["supplements"] = [
            (seq, s["date"], s.get("calcium_mg_daily"), s.get("vitamin_d_iu_daily"))
            for seq, s in enumerate(ev["supplements"])
        ]
    if "dental" in ev:
        rows["dental"] = [(seq, d["date"], d["result"]) for seq, d in enumerate(ev["dental"])]
    if "medications" in ev:
        rows["medications"] = [
            (seq, m["date"], m["class"], m["action"]) for seq, m in enumerate(ev["medications"])
        ]
    if "treatments" in ev:
        rows["treatments"] = [
            (seq, t["date"], t["kind"], t.get("site"), t.get("dose_gy"), t.get("fractions"))
            for seq, t in enumerate(ev["treatments"])
        ]
    if "adverse_events" in ev:
        rows["adverse_events"] = [
            (seq, a["date"], a["kind"], a.get("grade"), a.get("stage"))
            for seq, a in enumerate(ev["adverse_events"])
        ]
    if "sre" in ev:
        rows["sre"] = [(seq, s["date"], s["kind"]) for seq, s in enumerate(ev["sre"])]
    if "mdt" in ev:
        rows["mdt"] = [
            (seq, m["date"], m.get("decision"), ",".join(m["attendees"]) or None)
            for seq, m in enumerate(ev["mdt"])
        ]
    return rows


def _canonical(test: str, value: float, unit: str) -> float | None:
    factor = _LAB_UNITS[test][unit]
    return None if factor is None else value * factor


def fast_prepare(data: Any, today: dt.date) -> tuple[dict[str, Any], Rows] | None:
    """The record's document (the data :meth:`Record.to_json_dict` gives, dates as
    :class:`datetime.date`) and its rows, when ``data`` is certainly a good format-v1 record as
    of ``today``; else ``None`` (run the slow path)."""
    if type(data) is not dict:
        return None
    try:
        doc = _RECORD(data)
        if not doc["events"]:
            del doc["events"]
        if "source" not in data:
            doc["source"] = "manual"
        elif "/" in doc["source"]:
            return None
        _certify_semantics(doc, today)
        if _values(data) > MAX_VALUES:
            return None
        rows = _rows(doc)
    except _Uncertified:
        return None
    return doc, rows


def fast_prepared(data: Any, today: dt.date) -> PreparedRecord | None:
    """:func:`fast_prepare` as the :class:`PreparedRecord` that
    ``prepare_record(parse_record(data, today=today))`` gives; ``None``: run that instead."""
    certified = fast_prepare(data, today)
    if certified is None:
        return None
    doc, rows = certified
    document = canonical_json(doc)
    digest = hashlib.sha256(document.encode()).hexdigest()
    return PreparedRecord(doc["source"], doc["id"], document, digest, rows)
