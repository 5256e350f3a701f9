"""FHIR resources -> record v1 dicts, one per patient in scope; what is skipped, counted.

The mapping (docs/fhir.md) reads the validated fhir.resources models of :mod:`.read` and the
code tables of :mod:`.codes`; the record it builds is then validated by
:func:`bonepath.record.parse.parse_record` like every other import. It never guesses: a unit
that is not accepted, a partial date or a gender bonepath cannot use refuses the patient with
the FHIR path of the element; a resource bonepath has no use for is skipped and counted with
its reason. A patient without a lung-cancer Condition is out of scope and skipped with all of
its resources.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol

from bonepath.errors import Problem, RecordRefused
from bonepath.interop.fhir import codes
from bonepath.interop.fhir.codes import AJCC, SNOMED, UCUM, extension_url, local_system
from bonepath.interop.fhir.medication import bta_of, medication_concept
from bonepath.interop.fhir.read import USED_TYPES, Item, Unit
from bonepath.interop.raw import Origin, RawRecord
from bonepath.interop.values import resolve_unit
from bonepath.record.parse import parse_record

UNMAPPED: Final = "FHIR_UNMAPPED"
"""Problem code: an element bonepath needs cannot be mapped (unit, partial date, gender)."""
TRANSACTION: Final = "FHIR_TRANSACTION_REFUSED"
IDENTIFIER_SYSTEM: Final = f"{codes.LOCAL}/patient"
"""Identifier system of bonepath's own export: ``<IDENTIFIER_SYSTEM>/<source>`` + value = id."""
DEFAULT_SOURCE: Final = "fhir"
HOSPITAL_SYSTEM: Final = f"{codes.LOCAL}/hospital"
"""Identifier system of a hospital (Organization) in bonepath's export: value = hospital.id."""
PHYSICIAN_SYSTEM: Final = f"{codes.LOCAL}/physician"
"""Identifier system of a physician (Practitioner) in bonepath's export: value = physician.id."""
LESION_FIELDS: Final = {
    "site": "valueCode",
    "kind": "valueCode",
    "size_mm": "valueDecimal",
    "cortical_involvement_pct": "valueDecimal",
    "level": "valueString",
    "peritrochanteric": "valueBoolean",
    "alignment": "valueCode",
    "collapse": "valueCode",
    "posterolateral": "valueCode",
}
"""The sub-extensions of bonepath's complex extension ``lesion`` (one per lesion field)."""
_REFERENCED: Final = frozenset({"Organization", "Practitioner", "Medication"})
"""Resource types about no patient that are referenced (bonepath's export: hospital,
department, physician; any system: the Medication of an order): held for the references,
counted as skipped when nothing uses them."""

SKIP_NO_PATIENT: Final = "not about a patient (bonepath keeps patient records only)"
SKIP_OUT_OF_SCOPE: Final = "patient out of scope: no lung-cancer Condition"
SKIP_UNUSED_TYPE: Final = "resource type not used by bonepath"
SKIP_UNKNOWN_PATIENT: Final = "its patient is not in the input"
SKIP_UNDATED_CANCER: Final = (
    "patient out of scope: its lung-cancer Condition has no onset date "
    "(onsetDateTime or recordedDate)"
)

_FINAL_OBSERVATION: Final = frozenset({"final", "amended", "corrected"})
_REFUTED: Final = frozenset({"refuted", "entered-in-error"})
_LB_KG: Final = 0.45359237
_ROUTES: Final = {"47625008": "iv", "34206005": "sc"}  # SNOMED CT route concepts (recall)
_ROUTE_CODES: Final = {v: k for k, v in _ROUTES.items()}
_MERGED: Final = frozenset({"vitals", "performance", "supplements"})
"""Event lists whose values FHIR carries one per resource; one day's values are merged."""


def route_code(route: str) -> str:
    return _ROUTE_CODES[route]


@dataclass(slots=True)
class Mapped:
    """What the mapping of one unit gives: a raw record per patient in scope, skip counts."""

    records: list[RawRecord] = field(default_factory=list)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused_items: list[RawRecord] = field(default_factory=list)
    """Malformed resources that belong to no patient (refused on their own)."""


class Refs(Protocol):
    """Resources about no patient, by reference (a dict, or the streaming import's spill)."""

    def get(self, key: str, /) -> Item | None: ...


class _Patient:
    """The record being built for one FHIR Patient, with problems and the origin of each path."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.data: dict[str, Any] = {"format": "bonepath-record/1"}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.problems: list[Problem] = list(item.problems)
        self.origins: dict[str, Origin] = {}
        self.cancers: list[tuple[dt.date, Item, codes.CodeRow]] = []
        self.comorbidities: list[str] = []
        self.lesion_sites: list[str] = []
        self.bone: dict[str, Any] = {}
        self.stage_obs: list[tuple[dt.date, str]] = []
        self.tnm: dict[str, tuple[dt.date, str]] = {}  # cT/cN/cM/pT/pN/pM -> (date, T3)
        self.skipped: Counter[tuple[str, str]] = Counter()
        self.items: list[Item] = [item]
        self.refs: Refs = {}
        self.used: list[Item] = []
        self.undated_cancer = False
        """A lung-cancer Condition without a date was seen (the cause when out of scope)."""
        self.bonepath = False
        """The Patient carries bonepath's identifier (an export of bonepath's)."""
        self.drivers: dict[str, str] = {}
        self.pd_l1: float | None = None
        self.lesions: list[dict[str, Any]] = []

    def resolve(self, reference: Any, kind: str) -> Item | None:
        """The held resource of type ``kind`` that ``reference`` points to (marked used)."""
        ref = _reference(reference)
        found = self.refs.get(ref) if ref else None
        if found is None or found.resource_type != kind or found.model is None:
            return None
        self.used.append(found)
        return found

    def origin(self, pointer: str, item: Item, element: str = "") -> None:
        self.origins.setdefault(
            pointer,
            Origin(item.location, fhir_path=f"{item.path}.{element}" if element else item.path),
        )

    def add_event(self, name: str, event: dict[str, Any], item: Item) -> None:
        events = self.events.setdefault(name, [])
        if event in events:
            return
        if name in _MERGED:  # weight and height (ECOG and KPS…) of one day: one event
            for other in events:
                if other["date"] == event["date"] and not (set(other) & set(event)) - {"date"}:
                    other.update(event)
                    return
        self.origin(f"/events/{name}/{len(events)}", item)
        events.append(event)

    def problem(
        self, item: Item, element: str, message: str, accepted: tuple[Any, ...] | None = None
    ) -> None:
        self.problems.append(Problem(f"{item.path}.{element}", UNMAPPED, message, accepted))

    def skip(self, item: Item, reason: str) -> None:
        self.skipped[(item.resource_type, reason)] += 1


# ---- small readers -------------------------------------------------------------------------


def _day(value: Any) -> dt.date | None:
    """A FHIR date/dateTime as a calendar day (as written, without time-zone shifts)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _reference(value: Any) -> str | None:
    ref = getattr(value, "reference", None)
    return ref if isinstance(ref, str) else None


def _ext(model: Any, name: str) -> Any:
    """The value of bonepath extension ``name`` on ``model`` (None when absent)."""
    url = extension_url(name)
    for ext in getattr(model, "extension", None) or ():
        if ext.url == url:
            for attr in (
                "valueString",
                "valueCode",
                "valueDate",
                "valueInteger",
                "valueBoolean",
                "valueDecimal",
            ):
                value = getattr(ext, attr, None)
                if value is not None:
                    return value
    return None


def _exts(model: Any, name: str) -> list[Any]:
    url = extension_url(name)
    out: list[Any] = []
    for ext in getattr(model, "extension", None) or ():
        if ext.url == url:
            out.extend(
                v
                for attr in ("valueString", "valueCode", "valueInteger")
                if (v := getattr(ext, attr, None)) is not None
            )
    return out


def _stage_of(text: str | None) -> str | None:
    """AJCC overall stage group (``3C``, ``IIIC``, ``4``, ``IVA``) -> record stage I–IV."""
    if not text:
        return None
    value = text.strip().upper().removeprefix("STAGE").strip()
    for roman in ("IV", "III", "II", "I"):
        if value.startswith(roman):
            return roman
    if value[:1] in "1234":
        return ("I", "II", "III", "IV")[int(value[0]) - 1]
    return None


def _subject(item: Item) -> str | None:
    model = item.model
    if model is not None:
        for attr in ("subject", "patient"):
            ref = _reference(getattr(model, attr, None))
            if ref:
                return ref
        return None
    for attr in ("subject", "patient"):
        value = item.raw.get(attr)
        if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
            return str(value["reference"])
    return None


# ---- the unit ------------------------------------------------------------------------------


def map_unit(unit: Unit, *, today: dt.date) -> Mapped:
    """Map every patient of ``unit``; a transaction unit is all or nothing."""
    out = Mapped()
    patients: dict[str, _Patient] = {}
    refs: dict[str, Item] = {}
    for item in unit.items:
        if item.resource_type == "Patient":
            patient = _Patient(item)
            for key in (f"Patient/{item.id}", item.full_url):
                if key:
                    patients[key] = patient
    for item in unit.items:
        if item.resource_type == "Patient":
            continue
        ref = _subject(item)
        owner = patients.get(ref) if ref else None
        if (
            owner is None
            and ref is None
            and item.resource_type in _REFERENCED
            and not item.problems
        ):
            for key in (f"{item.resource_type}/{item.id}", item.full_url):
                if key:
                    refs[key] = item
        if owner is None:
            if item.problems:
                out.refused_items.append(RawRecord(item.location, item.raw, problems=item.problems))
            else:
                reason = (
                    SKIP_UNUSED_TYPE
                    if item.resource_type not in USED_TYPES
                    else SKIP_UNKNOWN_PATIENT
                    if ref and ref.startswith(("Patient/", "urn:"))
                    else SKIP_NO_PATIENT
                )
                out.skipped[(item.resource_type, reason)] += 1
            continue
        owner.items.append(item)
        owner.problems.extend(item.problems)

    unique = list(dict.fromkeys(patients.values()))
    for patient in unique:
        patient.refs = refs
        _map_patient(patient)
    in_scope = [p for p in unique if _in_scope(p)]
    used = {id(item) for p in in_scope for item in p.used}
    held = {id(item): item for item in refs.values()}
    for ident, item in held.items():  # used by a patient in scope: not skipped
        if ident in used:
            out.skipped[(item.resource_type, SKIP_NO_PATIENT)] -= 1
    out.skipped += Counter()  # drop zero counts
    for patient in unique:
        if patient in in_scope:
            out.skipped.update(patient.skipped)
        else:
            reason = SKIP_UNDATED_CANCER if patient.undated_cancer else SKIP_OUT_OF_SCOPE
            for item in patient.items:
                out.skipped[(item.resource_type, reason)] += 1
    records = [_raw_record(p) for p in in_scope]
    if unit.problems:
        out.refused_items.append(RawRecord(unit.location, None, problems=tuple(unit.problems)))
    if unit.transaction:
        records = _all_or_nothing(unit, records, out.refused_items, today)
    out.records = records
    return out


def _all_or_nothing(
    unit: Unit, records: list[RawRecord], refused_items: list[RawRecord], today: dt.date
) -> list[RawRecord]:
    """A transaction Bundle: when any resource or record fails, every record is refused."""
    failures = [p.path for raw in refused_items for p in raw.problems]
    for raw in records:
        if raw.problems:
            failures.append(raw.location)
            continue
        try:
            parse_record(raw.data, today=today)
        except RecordRefused:
            failures.append(raw.location)
    if not failures:
        return records
    problem = Problem(
        "Bundle",
        TRANSACTION,
        f"transaction Bundle {unit.location} refused whole: a transaction is all or nothing "
        f"(FHIR R4 Bundle.type) and {len(failures)} part(s) failed: {', '.join(failures[:5])}",
    )
    return [
        RawRecord(raw.location, raw.data, raw.origins, (*raw.problems, problem)) for raw in records
    ]


def _in_scope(patient: _Patient) -> bool:
    """A patient with a lung-cancer Condition, or one whose Patient or a Condition is
    malformed (it may be the cancer: refused, not silently skipped)."""
    if patient.cancers or patient.item.model is None:
        return True
    return any(i.model is None and i.resource_type == "Condition" for i in patient.items)


def _raw_record(patient: _Patient) -> RawRecord:
    data = patient.data
    if patient.events:
        data["events"] = dict(patient.events)
    return RawRecord(
        patient.item.location,
        data,
        origins=patient.origins,
        problems=tuple(patient.problems),
    )


# ---- one patient ---------------------------------------------------------------------------


def _map_patient(patient: _Patient) -> None:
    _demographics(patient)
    for item in patient.items[1:]:
        if item.model is None:
            if not item.problems:  # a type bonepath does not read (read.USED_TYPES)
                patient.skip(item, SKIP_UNUSED_TYPE)
            continue
        handler = _HANDLERS.get(item.resource_type)
        if handler is None:
            patient.skip(item, SKIP_UNUSED_TYPE)
        else:
            handler(patient, item)
    _cancer(patient)


def _demographics(patient: _Patient) -> None:
    item = patient.item
    model = item.model
    if model is None:
        patient.data["id"] = item.id
        return
    source, id_ = DEFAULT_SOURCE, model.id
    for identifier in model.identifier or ():
        system = identifier.system or ""
        if system.startswith(IDENTIFIER_SYSTEM + "/") and identifier.value:
            source, id_ = system[len(IDENTIFIER_SYSTEM) + 1 :], identifier.value
            patient.bonepath = True
    data = patient.data
    data["id"] = id_
    data["source"] = source
    patient.origin("/id", item, "id")
    if model.gender in ("male", "female"):
        data["sex"] = model.gender
    else:
        patient.problem(
            item,
            "gender",
            f"gender {model.gender!r}: bonepath needs male or female (the renal and dose rules depend on it)",
            ("male", "female"),
        )
    born = _day(model.birthDate)
    if born is None:
        patient.problem(
            item,
            "birthDate",
            f"birthDate {model.birthDate!r} is missing or partial; a full date YYYY-MM-DD is needed (age enters the dose rules)",
            ("YYYY-MM-DD",),
        )
    else:
        data["birth_date"] = born.isoformat()
        patient.origin("/birth_date", item, "birthDate")
    died = _day(model.deceasedDateTime)
    if died is not None:
        data["death_date"] = died.isoformat()
        patient.origin("/death_date", item, "deceasedDateTime")
    identity = _identity(model)
    if identity:
        data["identity"] = identity
    smoking = _ext(model, "smoking")
    if smoking:
        data["smoking"] = smoking
    if patient.bonepath:  # foreign organizations are not bonepath hospitals: skipped as before
        organization = patient.resolve(model.managingOrganization, "Organization")
        if organization is not None:
            data["hospital"] = _hospital(organization.model)
            patient.origin("/hospital", organization)


def _identity(model: Any) -> dict[str, str]:
    """record-format ``identity`` from ``Patient.name`` (its text, else family + given, as
    Chinese names are written) and the first ``telecom`` of system ``phone``."""
    identity: dict[str, str] = {}
    for name in model.name or ():
        text = name.text or "".join([name.family or "", *(name.given or ())])
        if text.strip():
            identity["name"] = text.strip()
            break
    for telecom in model.telecom or ():
        if telecom.system == "phone" and telecom.value:
            identity["phone"] = str(telecom.value).strip()
            break
    return identity


def _identifier_value(model: Any, system: str) -> str | None:
    """The value of the last identifier of ``system`` on ``model`` (none: None)."""
    values = [i.value for i in model.identifier or () if i.system == system and i.value]
    return str(values[-1]) if values else None


def _hospital(model: Any) -> dict[str, Any]:
    hospital: dict[str, Any] = {}
    if (id_ := _identifier_value(model, HOSPITAL_SYSTEM)) is not None:
        hospital["id"] = id_
    if model.name:
        hospital["name"] = model.name
    tier = _ext(model, "city-tier")
    if tier:
        hospital["city_tier"] = tier
    for concept in model.type or ():
        row = codes.find("hospital_type", concept)
        if row is not None:
            hospital["type"] = row.target
    return hospital


def _care_team(patient: _Patient, item: Item) -> None:
    """bonepath's CareTeam (category ``care-team|treating``): the department and physician."""
    model = item.model
    if not any(codes.find("care_team", c) for c in model.category or ()):
        patient.skip(item, SKIP_UNUSED_TYPE)
        return
    for participant in model.participant or ():
        for reference in (participant.member, participant.onBehalfOf):
            organization = patient.resolve(reference, "Organization")
            if organization is not None:
                for concept in organization.model.type or ():
                    row = codes.find("department", concept)
                    if row is not None:
                        patient.data["department"] = row.target
                        patient.origin("/department", organization)
            practitioner = patient.resolve(reference, "Practitioner")
            if practitioner is not None:
                patient.data["physician"] = _physician(practitioner.model)
                patient.origin("/physician", practitioner)


def _physician(model: Any) -> dict[str, Any]:
    physician: dict[str, Any] = {}
    if (id_ := _identifier_value(model, PHYSICIAN_SYSTEM)) is not None:
        physician["id"] = id_
    for qualification in model.qualification or ():
        row = codes.find("physician_title", qualification.code)
        if row is not None:
            physician["title"] = row.target
    return physician


def _condition(patient: _Patient, item: Item) -> None:
    model = item.model
    status = _code_of(model.verificationStatus)
    if status == "refuted" and codes.find("bone_metastasis", model.code) is not None:
        patient.bone.setdefault("status", "none")  # bone metastasis ruled out: recorded as none
        return
    if status in _REFUTED:
        patient.skip(item, f"verificationStatus {status}")
        return
    day = _day(model.onsetDateTime) or _day(model.recordedDate)
    lung = codes.find("lung_cancer", model.code)
    if lung is not None and status not in (None, "confirmed"):
        # provisional, differential, unconfirmed: not the pathological diagnosis record v1 needs
        patient.skip(item, f"lung cancer not confirmed (verificationStatus {status})")
        return
    if lung is not None:
        if day is None:
            patient.undated_cancer = True
            patient.problem(
                item,
                "onsetDateTime",
                "a lung-cancer Condition needs its full diagnosis date (onsetDateTime or recordedDate)",
                ("YYYY-MM-DD",),
            )
            return
        patient.cancers.append((day, item, lung))
        return
    not_dx = codes.find("not_diagnosis", model.code)
    if not_dx is not None:
        patient.skip(item, not_dx.target)
        return
    bone = codes.find("bone_metastasis", model.code)
    secondary = codes.find("secondary_cancer", model.code)
    sites = [
        row.target for row in (codes.find("body_site", s) for s in model.bodySite or ()) if row
    ]
    if bone is not None or (secondary is not None and sites and secondary.code == "128462008"):
        confirmed = status in (None, "confirmed")
        if confirmed and day is None:
            patient.problem(
                item,
                "onsetDateTime",
                "a confirmed bone metastasis needs the date it was established (bone_metastasis.confirmed_date)",
                ("YYYY-MM-DD",),
            )
            return
        current = patient.bone.get("status")
        if current == "none":
            current = None
        if confirmed and day is not None:
            if current != "confirmed" or day < patient.bone["confirmed_date"]:
                patient.bone["confirmed_date"] = day
            patient.bone["status"] = "confirmed"
        elif current is None:
            patient.bone["status"] = "suspected"
        patient.lesion_sites.extend(s for s in sites if s not in patient.lesion_sites)
        patient.lesions.extend(_lesions(model))
        patient.origin("/bone_metastasis", item)
        return
    if secondary is not None:
        patient.skip(item, "secondary cancer not in bone (bonepath follows bone metastasis only)")
        return
    comorbidity = codes.find("comorbidity", model.code)
    if comorbidity is not None:
        if comorbidity.target not in patient.comorbidities:
            patient.comorbidities.append(comorbidity.target)
        return
    patient.skip(item, "condition code not in the mapping table")


def _lesions(model: Any) -> list[dict[str, Any]]:
    """The lesions of bonepath's complex extension ``lesion`` (all fields of each lesion)."""
    url = extension_url("lesion")
    out = []
    for ext in model.extension or ():
        if ext.url != url:
            continue
        lesion: dict[str, Any] = {}
        for part in ext.extension or ():
            attr = LESION_FIELDS.get(part.url)
            value = getattr(part, attr, None) if attr else None
            if value is not None:
                lesion[part.url] = float(value) if isinstance(value, Decimal) else value
        out.append(lesion)
    return out


def _code_of(concept: Any) -> str | None:
    for coding in getattr(concept, "coding", None) or ():
        if coding.code:
            return str(coding.code)
    return None


def _cancer(patient: _Patient) -> None:
    if not patient.cancers:
        return
    patient.cancers.sort(key=lambda c: c[0])
    day, item, _ = patient.cancers[0]
    model = item.model
    cancer: dict[str, Any] = {"diagnosis_date": day.isoformat()}
    patient.origin("/cancer", item)
    patient.origin("/cancer/diagnosis_date", item, "onsetDateTime")
    histology = None
    for _, it, row in patient.cancers:
        target = row.target.split("/")
        if target[0] and (histology is None or histology == "nsclc_nos"):
            histology = target[0]
        if len(target) > 1 and "stage" not in cancer:
            cancer["stage"] = target[1]
        for ext in it.model.extension or ():
            if ext.url.endswith("mcode-histology-morphology-behavior"):
                row2 = codes.find("histology", ext.valueCodeableConcept)
                if row2 is not None:
                    histology = row2.target
        histology = _ext(it.model, "histology") or histology
    if histology:
        cancer["histology"] = histology
    stage = None
    for entry in model.stage or ():
        summary = entry.summary
        if summary is not None:
            for coding in summary.coding or ():
                stage = (
                    stage
                    or _stage_of(coding.code if coding.system == AJCC else coding.display)
                    or _stage_of(coding.code)
                )
    if stage is None and patient.stage_obs:
        stage = sorted(patient.stage_obs)[0][1]
    if stage:
        cancer["stage"] = stage
    tnm = _ext(model, "tnm")
    for prefix in ("c", "p"):  # clinical TNM at diagnosis first, else pathological
        axes = [patient.tnm[prefix + axis][1] for axis in "TNM" if prefix + axis in patient.tnm]
        if tnm is None and len(axes) == 3:
            tnm = "".join(axes)
    if tnm:
        cancer["tnm"] = tnm
    for name in ("setting", "surgery_date", "recurrence_date", "visceral_metastasis"):
        value = _ext(model, name)
        if value is not None:
            cancer[name] = value.isoformat() if isinstance(value, dt.date) else value
    if "surgery_date" in patient.bone:  # a lung resection Procedure
        cancer.setdefault("setting", "resected")
        cancer.setdefault("surgery_date", patient.bone.pop("surgery_date").isoformat())
    patient.bone.pop("surgery_date", None)
    if patient.drivers:
        cancer["drivers"] = patient.drivers
    if patient.pd_l1 is not None:
        cancer["pd_l1_tps"] = patient.pd_l1
    patient.data["cancer"] = cancer
    if patient.comorbidities:
        patient.data["comorbidities"] = patient.comorbidities
    if patient.bone or patient.lesion_sites:
        bone: dict[str, Any] = {}
        if "status" in patient.bone:
            bone["status"] = patient.bone["status"]
        if "confirmed_date" in patient.bone:
            bone["confirmed_date"] = patient.bone["confirmed_date"].isoformat()
        if patient.lesions:  # bonepath's lesion extensions: every field, in order
            bone["lesions"] = patient.lesions
        elif patient.lesion_sites:
            bone["lesions"] = [{"site": s} for s in patient.lesion_sites]
        patient.data["bone_metastasis"] = bone


def _observation(patient: _Patient, item: Item) -> None:
    model = item.model
    if model.status not in _FINAL_OBSERVATION:
        patient.skip(item, f"status {model.status}: not a final result")
        return
    day = (
        _day(model.effectiveDateTime)
        or (_day(model.effectivePeriod.start) if model.effectivePeriod else None)
        or _day(model.issued)
    )
    lab = codes.find("lab", model.code)
    kind = codes.find("observation", model.code)
    tnm = codes.find("tnm_category", model.code)
    if _cancer_observation(patient, item, kind):
        return
    if lab is None and kind is None and tnm is None:
        known = codes.find("skip_observation", model.code)
        patient.skip(
            item,
            known.target if known else "observation code not in the mapping table (LOINC / local)",
        )
        return
    if day is None:
        patient.problem(
            item,
            "effectiveDateTime",
            "the observation's date is missing or partial; a full date is needed (every fact is dated)",
            ("YYYY-MM-DD",),
        )
        return
    if lab is not None:
        _lab(patient, item, lab.target, day)
    elif tnm is not None:
        value = model.valueCodeableConcept
        code = _code_of(value)
        if code and (tnm.target not in patient.tnm or day < patient.tnm[tnm.target][0]):
            patient.tnm[tnm.target] = (day, code.lstrip("cpy"))
        patient.skip(item, "TNM category: kept as part of cancer.tnm")
    elif kind is not None:
        _scored(patient, item, kind.target, day)


def _cancer_observation(patient: _Patient, item: Item, kind: codes.CodeRow | None) -> bool:
    """bonepath's undated cancer Observations: a driver result (the gene studied coded in
    bonepath's driver code system) or the PD-L1 TPS; True when ``item`` was one of them."""
    model = item.model
    if kind is not None and kind.target == "pd_l1_tps":
        quantity = model.valueQuantity
        value = _number(getattr(quantity, "value", None))
        if value is None or getattr(quantity, "code", None) != "%":
            patient.problem(item, "valueQuantity", "PD-L1 TPS needs a value in UCUM %", ("%",))
        else:
            patient.pd_l1 = value
        return True
    for component in model.component or ():
        gene = _local_row("driver", component.valueCodeableConcept)
        if gene is not None:
            status = _local_row("driver_status", model.valueCodeableConcept)
            if status is None:
                patient.problem(
                    item,
                    "valueCodeableConcept",
                    f"the {gene.target} result needs a status",
                    ("positive", "negative", "unknown"),
                )
            else:
                patient.drivers[gene.target] = status.target
            return True
    return False


def _local_row(table: str, concept: Any) -> codes.CodeRow | None:
    """The row of ``table`` for the bonepath local coding of ``concept``."""
    for coding in getattr(concept, "coding", None) or ():
        row = codes.lookup(table, coding.system, coding.code)
        if row is not None and row.system.startswith(codes.LOCAL):
            return row
    return None


def _lab(patient: _Patient, item: Item, test: str, day: dt.date) -> None:
    quantity = item.model.valueQuantity
    value = _number(quantity.value) if quantity is not None else None
    if value is None and item.model.dataAbsentReason is not None:
        patient.skip(item, "no result (dataAbsentReason)")
        return
    if quantity is not None and quantity.comparator is not None:
        patient.problem(
            item,
            "valueQuantity.comparator",
            f"a {test} result {quantity.comparator}{quantity.value} is a bound, not a value; "
            "record v1 keeps measured values only (enter the value or leave the result out)",
        )
        return
    if value is None:
        patient.problem(
            item, "valueQuantity.value", f"a {test} result needs a numeric valueQuantity"
        )
        return
    unit = _lab_unit(quantity)
    if unit is None:
        shown = quantity.code or quantity.unit
        patient.problem(
            item,
            "valueQuantity.code" if quantity.code else "valueQuantity.unit",
            f"unit {shown!r} of {test} is neither an accepted UCUM unit (system {UCUM}) nor a "
            "known spelling of one; bonepath never guesses a unit",
            tuple(codes.record_to_ucum(u) for u in _accepted(test)),
        )
        return
    lab: dict[str, Any] = {"date": day.isoformat(), "test": test, "value": value, "unit": unit}
    for range_ in item.model.referenceRange or ():
        low, high = (
            _number(getattr(range_.low, "value", None)),
            _number(getattr(range_.high, "value", None)),
        )
        if low is not None:
            lab["lln"] = low
        if high is not None:
            lab["uln"] = high
    n = len(patient.events.get("labs", []))
    patient.add_event("labs", lab, item)
    patient.origin(f"/events/labs/{n}/value", item, "valueQuantity.value")
    patient.origin(f"/events/labs/{n}/unit", item, "valueQuantity.code")


def _lab_unit(quantity: Any) -> str | None:
    """The record unit of a valueQuantity: its UCUM code, else its code or unit text as
    laboratories write it without a system (``µmol/L``, ``umol/l``, ``mg/dl``), read with the
    unit synonym table of the import (``interop/synonyms/unit.toml``)."""
    if quantity.system == UCUM:
        unit = codes.ucum_to_record(quantity.code)
        if unit is not None:
            return unit
    for text in (quantity.code, quantity.unit):
        if text:
            unit = resolve_unit(str(text))
            if unit is not None:
                return unit
    return None


def _accepted(test: str) -> tuple[str, ...]:
    from bonepath.units import accepted_units
    from bonepath.vocab import LabTest

    return accepted_units(LabTest(test))


def _scored(patient: _Patient, item: Item, kind: str, day: dt.date) -> None:
    model = item.model
    date = day.isoformat()
    if kind in ("weight", "height"):
        quantity = model.valueQuantity
        value = _number(getattr(quantity, "value", None))
        code = (
            getattr(quantity, "code", None) if getattr(quantity, "system", None) == UCUM else None
        )
        factor = {
            "weight": {"kg": 1.0, "g": 0.001, "[lb_av]": _LB_KG},
            "height": {"cm": 1.0, "m": 100.0},
        }[kind].get(code or "")
        if value is None or factor is None:
            patient.problem(
                item,
                "valueQuantity",
                f"body {kind} needs a value in UCUM {'kg, g or [lb_av]' if kind == 'weight' else 'cm or m'}",
            )
            return
        field_ = "weight_kg" if kind == "weight" else "height_cm"
        patient.add_event("vitals", {"date": date, field_: round(value * factor, 3)}, item)
    elif kind in ("ecog", "kps"):
        score = model.valueInteger
        if score is None and kind == "ecog":
            row = codes.find("ecog_answer", model.valueCodeableConcept)
            score = int(row.target) if row else None
        if score is None:
            patient.problem(item, "valueInteger", f"{kind.upper()} needs an integer score")
            return
        patient.add_event("performance", {"date": date, kind: int(score)}, item)
    elif kind == "stage_group":
        concept = model.valueCodeableConcept
        for coding in getattr(concept, "coding", None) or ():
            stage = _stage_of(coding.code) or _stage_of(coding.display)
            if stage:
                patient.stage_obs.append((day, stage))
                break
        patient.skip(item, "stage group: kept as cancer.stage")
    elif kind == "life_expectancy":
        quantity = model.valueQuantity
        months = _number(getattr(quantity, "value", None))
        if months is None or getattr(quantity, "code", None) != "mo":
            patient.problem(item, "valueQuantity", "life expectancy needs a value in UCUM mo")
            return
        patient.add_event("performance", {"date": date, "life_expectancy_months": months}, item)
    elif kind == "symptoms":
        patient.add_event("symptoms", _symptoms(model, date), item)
    elif kind == "sre":
        row = _local_row("sre", model.valueCodeableConcept)
        if row is None:
            patient.problem(item, "valueCodeableConcept", "a skeletal-related event needs its kind")
            return
        patient.add_event("sre", {"date": date, "kind": row.target}, item)
    elif kind == "smoking":
        row = codes.find("smoking_answer", model.valueCodeableConcept)
        if row is None:
            patient.skip(item, "smoking status answer not in the mapping table")
        else:
            patient.data["smoking"] = row.target


def _symptoms(model: Any, date: str) -> dict[str, Any]:
    event: dict[str, Any] = {"date": date}
    for component in model.component or ():
        row = _local_row("symptom", component.code)
        name = row.target if row else None
        if name == "bone_pain" and component.valueInteger is not None:
            event["bone_pain"] = int(component.valueInteger)
        elif name == "pain_site":
            site = codes.find("body_site", component.valueCodeableConcept)
            if site is not None:
                event.setdefault("pain_sites", []).append(site.target)
        elif name in ("neuro_deficit", "mechanical_pain") and component.valueBoolean is not None:
            event[name] = bool(component.valueBoolean)
        elif name == "frankel":
            grade = _local_row("frankel", component.valueCodeableConcept)
            if grade is not None:
                event["frankel"] = grade.target
    return event


def _medication_code(patient: _Patient, model: Any) -> Any:
    """The drug's CodeableConcept, through a contained or Bundle Medication when referenced."""

    def resolve(reference: str) -> Any:
        found = patient.resolve(_Ref(reference), "Medication")
        return found.model if found is not None else None

    return medication_concept(model, resolve)


@dataclass(frozen=True, slots=True)
class _Ref:
    reference: str


def _medication(patient: _Patient, item: Item) -> None:
    model = item.model
    concept = _medication_code(patient, model)
    is_admin = item.resource_type == "MedicationAdministration"
    if concept is None:
        patient.skip(item, "medication reference not found (neither contained nor in the input)")
        return
    not_bta = codes.find("not_bta", concept)
    if not_bta is not None:
        patient.skip(item, not_bta.target)
        return
    match = bta_of(concept)
    if match.refused is not None:
        patient.skip(item, match.refused[0])
        return
    bta = codes.first("bta", match.drug) if match.drug is not None else None
    supplement, anticancer = codes.find("supplement", concept), codes.find("anticancer", concept)
    if bta is None and supplement is None and anticancer is None:
        patient.skip(
            item, "medication not recognised (code not in the mapping table, text not a known name)"
        )
        return
    day = (
        (
            _day(model.effectiveDateTime)
            or (_day(model.effectivePeriod.start) if model.effectivePeriod else None)
        )
        if is_admin
        else _day(model.authoredOn)
    )
    status = model.status
    is_plan = bta is not None and not is_admin and status == "active"  # a plan needs no date
    if day is None and not is_plan:
        patient.problem(
            item,
            "effectiveDateTime" if is_admin else "authoredOn",
            "the medication's date is missing or partial",
            ("YYYY-MM-DD",),
        )
        return
    date = day.isoformat() if day else ""
    if bta is not None:
        if is_admin:
            if status != "completed":
                patient.skip(item, f"administration status {status}: not a given dose")
                return
            _bta_dose(patient, item, bta.target, date)
        elif status == "active":
            plan: dict[str, Any] = {"drug": bta.target}
            interval = _interval_days(model)
            if interval:
                plan["interval_days"] = interval
            patient.data["bta_plan"] = plan
            patient.origin("/bta_plan", item)
        else:
            patient.skip(
                item,
                f"bone-targeted agent order ({status}): doses are counted from MedicationAdministration",
            )
        return
    if supplement is not None:
        event: dict[str, Any] = {"date": date}
        amount = _daily_amount(
            model.dosage if is_admin else (model.dosageInstruction or [None])[0], is_admin
        )
        if amount is not None:
            mg, iu = amount
            if mg is not None and supplement.target.startswith("calcium"):
                event["calcium_mg_daily"] = mg
            if iu is not None and supplement.target.endswith("vitamin_d"):
                event["vitamin_d_iu_daily"] = iu
        patient.add_event("supplements", event, item)
        return
    assert anticancer is not None
    patient.add_event("treatments", {"date": date, "kind": "chemotherapy"}, item)
    if anticancer.target == "cisplatin" and status == "active":
        patient.add_event(
            "medications", {"date": date, "class": "cisplatin", "action": "start"}, item
        )


def _bta_dose(patient: _Patient, item: Item, drug: str, date: str) -> None:
    dosage = item.model.dosage
    dose = getattr(dosage, "dose", None)
    mg = _number(getattr(dose, "value", None))
    if mg is None or getattr(dose, "code", None) != "mg" or getattr(dose, "system", None) != UCUM:
        patient.problem(item, "dosage.dose", f"a {drug} dose needs dosage.dose in UCUM mg", ("mg",))
        return
    event: dict[str, Any] = {"date": date, "drug": drug, "dose_mg": mg}
    route = _code_of(getattr(dosage, "route", None))
    if route in _ROUTES:
        event["route"] = _ROUTES[route]
    interval = _ext(item.model, "interval-days")
    if interval is not None:
        event["interval_days"] = int(interval)
    patient.add_event("bta", event, item)


def _interval_days(model: Any) -> int | None:
    interval = _ext(model, "interval-days")
    if interval is not None:
        return int(interval)
    for dosage in model.dosageInstruction or ():
        repeat = getattr(getattr(dosage, "timing", None), "repeat", None)
        period, unit = _number(getattr(repeat, "period", None)), getattr(repeat, "periodUnit", None)
        if period is not None and unit in ("d", "wk", "mo"):
            days = period * {"d": 1, "wk": 7, "mo": 28}[unit]
            if days in (21, 28, 84):
                return int(days)
    return None


def _daily_amount(dosage: Any, is_admin: bool) -> tuple[float | None, float | None] | None:
    """(mg/day, IU/day) from a dose and its timing (once a day when the timing is absent)."""
    if dosage is None:
        return None
    if is_admin:
        dose = dosage.dose
        per_day = 1.0
    else:
        rates = dosage.doseAndRate or []
        dose = rates[0].doseQuantity if rates else None
        repeat = getattr(dosage.timing, "repeat", None)
        frequency = _number(getattr(repeat, "frequency", None)) or 1.0
        period = _number(getattr(repeat, "period", None)) or 1.0
        unit = getattr(repeat, "periodUnit", None) or "d"
        if unit != "d":
            return None
        per_day = frequency / period
    value = _number(getattr(dose, "value", None))
    if value is None or getattr(dose, "system", None) != UCUM:
        return None
    if dose.code == "mg":
        return (round(value * per_day, 3), None)
    if dose.code == "[iU]":
        return (None, round(value * per_day, 3))
    return None


def _procedure(patient: _Patient, item: Item) -> None:
    model = item.model
    if model.status != "completed":
        patient.skip(item, f"procedure status {model.status}: not done")
        return
    row = codes.find("procedure", model.code)
    imaging = codes.find("imaging", model.code)
    if row is None and imaging is None:
        patient.skip(item, "procedure code not in the mapping table")
        return
    day = _day(model.performedDateTime) or (
        _day(model.performedPeriod.start) if model.performedPeriod else None
    )
    if day is None:
        patient.problem(
            item, "performedDateTime", "the procedure's date is missing or partial", ("YYYY-MM-DD",)
        )
        return
    date = day.isoformat()
    sites = [r.target for r in (codes.find("body_site", s) for s in model.bodySite or ()) if r]
    if imaging is not None:
        _imaging(patient, item, imaging.target, date, sites, None, None)
        return
    assert row is not None
    target = row.target
    if target == "radiotherapy":
        if not sites:
            patient.skip(
                item, "radiotherapy without a bone target (bonepath follows radiotherapy to bone)"
            )
            return
        target = "treatment:radiotherapy_bone"
    if target == "biopsy":
        result = _local_row("biopsy_result", model.outcome)
        if result is None:
            patient.problem(item, "outcome", "a bone biopsy needs its result (Procedure.outcome)")
            return
        biopsy: dict[str, Any] = {"date": date, "result": result.target}
        if sites:
            biopsy["site"] = sites[0]
        patient.add_event("biopsy", biopsy, item)
        return
    if target == "mdt":
        mdt: dict[str, Any] = {"date": date}
        decision = getattr(model.outcome, "text", None)
        if decision is not None:
            mdt["decision"] = decision
        attendees = [str(code) for code in _exts(model, "attendee")]
        if attendees:
            mdt["attendees"] = attendees
        patient.add_event("mdt", mdt, item)
        return
    if target == "lung_resection":
        if "surgery_date" not in patient.bone or day < patient.bone["surgery_date"]:
            patient.bone["surgery_date"] = day
        return
    kind, _, value = target.partition(":")
    if kind == "dental":
        patient.add_event("dental", {"date": date, "result": value}, item)
        return
    event: dict[str, Any] = {"date": date, "kind": value}
    if sites:
        event["site"] = sites[0]
    dose_gy, fractions = _ext(model, "dose-gy"), _ext(model, "fractions")
    if dose_gy is not None:
        event["dose_gy"] = float(dose_gy)
    if fractions is not None:
        event["fractions"] = int(fractions)
    patient.add_event("treatments", event, item)


def _imaging(
    patient: _Patient,
    item: Item,
    target: str,
    date: str,
    sites: list[str],
    result: str | None,
    text: str | None,
) -> None:
    modality, _, region = target.partition("/")
    model = item.model
    event: dict[str, Any] = {"date": date, "modality": modality}
    region = _ext(model, "region") or region
    if region:
        event["region"] = region
    if result:
        event["result"] = result
    reviewed = _ext(model, "bone-window-reviewed")
    if reviewed is not None:
        event["bone_window_reviewed"] = bool(reviewed)
    count = _ext(model, "lesion-count")
    if count is not None:
        event["lesion_count"] = int(count)
    sites = [str(s) for s in _exts(model, "site")] or sites
    if sites:
        event["sites"] = sites
    if text:
        event["report_text"] = text
    patient.add_event("imaging", event, item)


def _diagnostic_report(patient: _Patient, item: Item) -> None:
    model = item.model
    row = codes.find("imaging", model.code)
    if row is None:
        patient.skip(item, "report code not an imaging study in the mapping table")
        return
    if model.status not in _FINAL_OBSERVATION:
        patient.skip(item, f"status {model.status}: not a final report")
        return
    day = _day(model.effectiveDateTime) or _day(model.issued)
    if day is None:
        patient.problem(
            item, "effectiveDateTime", "the report's date is missing or partial", ("YYYY-MM-DD",)
        )
        return
    result = None
    for concept in model.conclusionCode or ():
        found = codes.find("imaging_result", concept)
        if found:
            result = found.target
            break
    _imaging(patient, item, row.target, day.isoformat(), [], result, model.conclusion)


def _imaging_study(patient: _Patient, item: Item) -> None:
    model = item.model
    row = None
    for concept in model.procedureCode or ():
        row = row or codes.find("imaging", concept)
    if row is None:
        patient.skip(item, "imaging study without a procedure code in the mapping table")
        return
    day = _day(model.started)
    if day is None:
        patient.problem(
            item, "started", "the study's start date is missing or partial", ("YYYY-MM-DD",)
        )
        return
    _imaging(patient, item, row.target, day.isoformat(), [], None, None)


def _medication_statement(patient: _Patient, item: Item) -> None:
    """bonepath's MedicationStatement of a medication class (``events.medications``: active =
    start, stopped = stop) or of the bone-targeted agents stopped (``events.bta_stop``, the
    reason in statusReason); any other MedicationStatement is skipped as before."""
    model = item.model
    row = _local_row("medication_class", model.medicationCodeableConcept)
    if row is None:
        patient.skip(item, SKIP_UNUSED_TYPE)
        return
    day = _day(model.effectiveDateTime)
    if day is None:
        patient.problem(
            item, "effectiveDateTime", "the statement's date is missing or partial", ("YYYY-MM-DD",)
        )
        return
    date = day.isoformat()
    if row.target == "bone_targeted_agent":
        reason = next(
            (r for c in model.statusReason or () if (r := _local_row("stop_reason", c))), None
        )
        if model.status != "stopped" or reason is None:
            patient.skip(item, "bone-targeted agent statement without a stop and its reason")
            return
        patient.add_event("bta_stop", {"date": date, "reason": reason.target}, item)
        return
    action = {"active": "start", "stopped": "stop"}.get(model.status)
    if action is None:
        patient.skip(item, f"medication statement status {model.status}: neither start nor stop")
        return
    patient.add_event("medications", {"date": date, "class": row.target, "action": action}, item)


def _adverse_event(patient: _Patient, item: Item) -> None:
    """bonepath's AdverseEvent (its kind coded locally; CTCAE grade and MRONJ stage in
    extensions); any other AdverseEvent is skipped as before."""
    model = item.model
    row = _local_row("adverse_event", model.event)
    if row is None or model.actuality != "actual":
        patient.skip(item, SKIP_UNUSED_TYPE)
        return
    day = _day(model.date)
    if day is None:
        patient.problem(item, "date", "the adverse event's date is missing or partial")
        return
    event: dict[str, Any] = {"date": day.isoformat(), "kind": row.target}
    grade, stage = _ext(model, "ctcae-grade"), _ext(model, "mronj-stage")
    if grade is not None:
        event["grade"] = int(grade)
    if stage is not None:
        event["stage"] = int(stage)
    patient.add_event("adverse_events", event, item)


_HANDLERS: Final = {
    "Condition": _condition,
    "Observation": _observation,
    "MedicationAdministration": _medication,
    "MedicationRequest": _medication,
    "Procedure": _procedure,
    "DiagnosticReport": _diagnostic_report,
    "ImagingStudy": _imaging_study,
    "CareTeam": _care_team,
    "MedicationStatement": _medication_statement,
    "AdverseEvent": _adverse_event,
}


def map_units(units: Iterable[Unit], *, today: dt.date) -> Mapped:
    """Every unit mapped; the skip counts added up."""
    total = Mapped()
    for unit in units:
        mapped = map_unit(unit, today=today)
        total.records.extend(mapped.records)
        total.refused_items.extend(mapped.refused_items)
        total.skipped.update(mapped.skipped)
    return total


__all__ = ["SNOMED", "Mapped", "local_system", "map_unit", "map_units", "route_code"]
