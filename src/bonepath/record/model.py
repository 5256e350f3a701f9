"""The patient record, format v1 (shared/spec/record-format.md), as frozen typed objects.

Record v1 is both the public interchange format and the domain model: the field names, codes
and nesting are the wire format's, so one set of frozen pydantic models serves the parser and
the domain (docs/ARCHITECTURE.md). Structure and vocabularies are checked by these models;
plausibility, units and cross-field rules by :mod:`bonepath.record.checks`; both run through
:func:`bonepath.record.parse.parse_record`, which collects *every* problem.

Missing is explicit: ``None`` means "not recorded" (record-format.md "Unknown is not the same
as no"); an empty tuple of events means none were recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bonepath.vocab import (
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

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INVALID_DATE_ERROR = "invalid_date"
"""The pydantic error type raised for a value that is not an ISO calendar date."""


def parse_date(value: object) -> dt.date:
    """Read a record date: ``YYYY-MM-DD``, or an ISO datetime truncated to its date.

    A calendar-impossible date such as ``2026-02-30`` and any other shape (``2026/02/03``,
    ISO week dates, numbers) raise :class:`pydantic_core.PydanticCustomError` of type
    :data:`INVALID_DATE_ERROR` (a ``ValueError``), so the parser reports it with its path.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _parse_date_text(value)
    raise PydanticCustomError(
        INVALID_DATE_ERROR,
        "{input} is not an ISO date; accepted: YYYY-MM-DD (a datetime is truncated to its date)",
        {"input": repr(value)},
    )


@lru_cache(maxsize=65536)
def _parse_date_text(value: str) -> dt.date:
    """:func:`parse_date` of a text. Cached: a registry's dates repeat (an import reads each
    date twice, by the model and by the checks); a refused text raises and is not cached."""
    text = value.strip()
    if _ISO_DATE.match(text) and (len(text) == 10 or text[10] in "T "):
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError as exc:
            raise PydanticCustomError(
                INVALID_DATE_ERROR,
                "{input} is not a valid calendar date ({reason}); "
                "accepted: an ISO date YYYY-MM-DD or datetime",
                {"input": repr(value), "reason": str(exc)},
            ) from None
    raise PydanticCustomError(
        INVALID_DATE_ERROR,
        "{input} is not an ISO date; accepted: YYYY-MM-DD (a datetime is truncated to its date)",
        {"input": repr(value)},
    )


def _to_date(value: Any) -> Any:
    return parse_date(value)


Date = Annotated[dt.date, BeforeValidator(_to_date)]
# Numbers must be JSON numbers: "1.2" (a string) is refused, never coerced.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Int = Annotated[int, Field(strict=True)]
Bool = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Hospital(Frozen):
    id: Text | None = None
    name: Text | None = None
    city_tier: CityTier | None = None
    type: HospitalType | None = None


class Identity(Frozen):
    """Who the patient is, for the staff who call them (record-format.md ``identity``).

    Personal data: shown only to users granted the patient's hospital, masked in exports
    unless asked for, never in de-identified packages or messages to others."""

    name: Annotated[str, Field(strict=True, min_length=1, max_length=64)] | None = None
    phone: (
        Annotated[str, Field(strict=True, max_length=32, pattern=r"^\+?[0-9][0-9 ()\-]*[0-9]$")]
        | None
    ) = None
    """Digits with an optional leading ``+`` and separators (spaces, hyphens, brackets)."""


class Physician(Frozen):
    id: Text | None = None
    title: PhysicianTitle | None = None


class Cancer(Frozen):
    diagnosis_date: Date
    histology: Histology | None = None
    stage: Stage | None = None
    tnm: Text | None = None
    drivers: dict[Gene, DriverStatus] | None = None
    pd_l1_tps: Number | None = Field(default=None, ge=0, le=100)
    setting: Setting | None = None
    surgery_date: Date | None = None
    recurrence_date: Date | None = None
    visceral_metastasis: VisceralMetastasis | None = None


class Lesion(Frozen):
    site: Site
    kind: LesionKind | None = None
    size_mm: Number | None = Field(default=None, gt=0)
    cortical_involvement_pct: Number | None = Field(default=None, ge=0, le=100)
    level: Text | None = None
    peritrochanteric: Bool | None = None
    alignment: Alignment | None = None
    collapse: Collapse | None = None
    posterolateral: Posterolateral | None = None


class BoneMetastasis(Frozen):
    status: BoneMetStatus | None = None
    confirmed_date: Date | None = None
    lesions: tuple[Lesion, ...] = ()


class BtaPlan(Frozen):
    drug: Drug
    interval_days: Literal[21, 28, 84] | None = None


# ---- events ----------------------------------------------------------------------------------


class Event(Frozen):
    date: Date


class Imaging(Event):
    modality: Modality
    region: Region | None = None
    result: ImagingResult | None = None
    bone_window_reviewed: Bool | None = None
    lesion_count: Int | None = Field(default=None, ge=0)
    sites: tuple[Site, ...] = ()
    report_text: Text | None = None


class Biopsy(Event):
    site: Site | None = None
    result: BiopsyResult


class Lab(Event):
    test: LabTest
    value: Number
    unit: Text
    lln: Number | None = None
    uln: Number | None = None


class Vitals(Event):
    weight_kg: Number | None = None
    height_cm: Number | None = Field(default=None, gt=0)


class Performance(Event):
    ecog: Int | None = None
    kps: Int | None = None
    life_expectancy_months: Number | None = Field(default=None, ge=0)


class Symptoms(Event):
    bone_pain: Int | None = None
    pain_sites: tuple[Site, ...] = ()
    neuro_deficit: Bool | None = None
    mechanical_pain: Bool | None = None
    frankel: Frankel | None = None


class BtaDose(Event):
    drug: Drug
    dose_mg: Number
    route: Route | None = None
    interval_days: Literal[21, 28, 84] | None = None


class BtaStop(Event):
    reason: StopReason


class Supplement(Event):
    calcium_mg_daily: Number | None = Field(default=None, ge=0)
    vitamin_d_iu_daily: Number | None = Field(default=None, ge=0)


class Dental(Event):
    result: DentalResult


class Medication(Event):
    class_: MedicationClass = Field(alias="class")
    action: MedicationAction

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Treatment(Event):
    kind: TreatmentKind
    site: Site | None = None
    dose_gy: Number | None = Field(default=None, gt=0)
    fractions: Int | None = Field(default=None, gt=0)


class AdverseEvent(Event):
    kind: AdverseEventKind
    grade: Int | None = Field(default=None, ge=1, le=5)
    stage: Int | None = Field(default=None, ge=0, le=3)


class Sre(Event):
    kind: SreKind


class Mdt(Event):
    decision: Text | None = None
    attendees: tuple[Department, ...] = ()
    # optional since 2026-12 (record-format.md): the structured question and decisions, and
    # whether it was held with a regional centre (the centre's hospital id)
    question: MdtQuestion | None = None
    decisions: tuple[MdtDecision, ...] = ()
    remote: Bool | None = None
    centre: Text | None = None


class Events(Frozen):
    imaging: tuple[Imaging, ...] = ()
    biopsy: tuple[Biopsy, ...] = ()
    labs: tuple[Lab, ...] = ()
    vitals: tuple[Vitals, ...] = ()
    performance: tuple[Performance, ...] = ()
    symptoms: tuple[Symptoms, ...] = ()
    bta: tuple[BtaDose, ...] = ()
    bta_stop: tuple[BtaStop, ...] = ()
    supplements: tuple[Supplement, ...] = ()
    dental: tuple[Dental, ...] = ()
    medications: tuple[Medication, ...] = ()
    treatments: tuple[Treatment, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    sre: tuple[Sre, ...] = ()
    mdt: tuple[Mdt, ...] = ()


EVENT_LISTS: tuple[str, ...] = tuple(Events.model_fields)


class Record(Frozen):
    """One patient, identified by ``(source, id)``."""

    format: Literal["bonepath-record/1"]
    id: Annotated[str, Field(strict=True, min_length=1, max_length=64)]
    source: Annotated[str, Field(strict=True, min_length=1, max_length=64)] = "manual"
    hospital: Hospital | None = None
    department: Department | None = None
    physician: Physician | None = None
    identity: Identity | None = None
    sex: Sex
    birth_date: Date
    death_date: Date | None = None
    smoking: Smoking | None = None
    comorbidities: tuple[Comorbidity, ...] | None = None
    cancer: Cancer
    bone_metastasis: BoneMetastasis | None = None
    bta_plan: BtaPlan | None = None
    events: Events = Events()

    @property
    def key(self) -> tuple[str, str]:
        """The natural key of the patient in a registry."""
        return (self.source, self.id)

    def to_json_dict(self) -> dict[str, Any]:
        """The record as format-v1 JSON-ready data (absent fields omitted)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        events = data.get("events", {})
        data["events"] = {name: items for name, items in events.items() if items}
        if not data["events"]:
            del data["events"]
        return data
