"""record v1 -> FHIR R4: the patient as an mCODE-shaped Bundle, findings as DetectedIssue /
Task / CommunicationRequest, the rule catalogue as PlanDefinition (docs/fhir.md).

Every resource is built as JSON and validated by its fhir.resources R4B model before it leaves
(:func:`checked`), so what bonepath exports is valid FHIR. Fields with no FHIR element of
their own travel in bonepath extensions (``http://bonepath.org/fhir/StructureDefinition/…``),
so that export followed by import gives the same record for the fields listed in docs/fhir.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from typing import Any, Final

from fhir.resources.R4B import get_fhir_model_class

from bonepath.engine.findings import Evaluation, Finding
from bonepath.interop.fhir import codes
from bonepath.interop.fhir.codes import AJCC, LOINC, SNOMED, UCUM, extension_url, local_system
from bonepath.interop.fhir.to_record import (
    DEFAULT_SOURCE,
    HOSPITAL_SYSTEM,
    IDENTIFIER_SYSTEM,
    LESION_FIELDS,
    PHYSICIAN_SYSTEM,
    route_code,
)
from bonepath.record.model import Lesion, Record
from bonepath.rules.catalogue import Catalogue, Rule
from bonepath.vocab import FindingKind, Severity

MCODE: Final = "http://hl7.org/fhir/us/mcode/StructureDefinition"
RULE_SYSTEM: Final = local_system("rule")
FINDING_KIND_SYSTEM: Final = local_system("finding-kind")
_FHIR_ID: Final = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ROMAN: Final = {"I": "1", "II": "2", "III": "3", "IV": "4"}
_LAB_LOINC_BY_UNIT: Final = {
    ("creatinine", "umol/L"): "14682-9",
    ("creatinine", "mg/dL"): "2160-0",
    ("calcium", "mmol/L"): "2000-8",
    ("calcium", "mg/dL"): "17861-6",
}
_ISSUE_SEVERITY: Final = {
    Severity.CRITICAL: "high",
    Severity.HIGH: "high",
    Severity.MEDIUM: "moderate",
    Severity.LOW: "low",
}
_PRIORITY: Final = {
    Severity.CRITICAL: "stat",
    Severity.HIGH: "urgent",
    Severity.MEDIUM: "routine",
    Severity.LOW: "routine",
}


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` after validation by its R4B model (raises ``ValidationError`` if invalid)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


PATIENT_ID_MAX: Final = 44
"""Longest readable patient id; leaves room for ``-<kind>-<n>`` in the ids of its resources
(FHIR ids are at most 64 characters)."""


def fhir_id(*parts: str) -> str:
    """A FHIR logical id for bonepath keys: ``source.id`` when that is a valid id of at most
    :data:`PATIENT_ID_MAX` characters, else ``h`` + 40 hex digits of a SHA-256 of the parts."""
    text = ".".join(parts)
    if len(text) <= PATIENT_ID_MAX and _FHIR_ID.match(text):
        return text
    return "h" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def patient_fhir_id(source: str, id_: str) -> str:
    """The FHIR id of the patient ``(source, id_)``: the client's own id for a patient that came
    in through FHIR without bonepath's identifier (source ``fhir``, an id without dots), so
    that ``PUT Patient/f001`` is read back as ``Patient/f001``; ``source.id`` (or a hash,
    :func:`fhir_id`) for every other patient. A bare id has no dot and a ``source.id`` id has
    one, so the two never meet."""
    if source == DEFAULT_SOURCE and "." not in id_:
        bare = fhir_id(id_)
        if bare == id_:
            return bare
    return fhir_id(source, id_)


def patient_id(record: Record) -> str:
    return patient_fhir_id(record.source, record.id)


def _ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": extension_url(name), **value}


def _coding(row: codes.CodeRow) -> dict[str, str]:
    return {"system": row.system, "code": row.code, "display": row.display}


def _concept(table: str, target: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with the standard code (when the table has one) and the local code."""
    rows = [codes.first(table, target)]
    try:
        local = codes.local(table, target)
    except KeyError:
        local = None
    if local is not None and local not in rows:
        rows.append(local)
    concept: dict[str, Any] = {"coding": [_coding(row) for row in rows]}
    if text:
        concept["text"] = text
    return concept


def _local_concept(table: str, target: str) -> dict[str, Any]:
    return {"coding": [_coding(codes.local(table, target))]}


class _Builder:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.pid = patient_id(record)
        self.subject = {"reference": f"Patient/{self.pid}"}
        self.resources: list[dict[str, Any]] = []
        self.serial = 0

    def next_id(self, kind: str) -> str:
        """The id ``<patient id>-<kind>-<n>`` of the next resource (:func:`split_id`)."""
        self.serial += 1
        return f"{self.pid}-{kind.replace('-', '')}-{self.serial}"

    def add(self, resource: dict[str, Any], kind: str) -> None:
        """Add ``resource`` with the id ``<patient id>-<kind>-<n>`` (:func:`split_id`)."""
        if "id" not in resource:
            resource["id"] = self.next_id(kind)
        self.resources.append(checked(resource))


def split_id(resource_id: str) -> tuple[str, str, str] | None:
    """``(patient id, kind, n)`` of the id of a resource exported for a patient, or None."""
    parts = resource_id.rsplit("-", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and parts[2].isdigit() else None


def patient_resources(record: Record) -> list[dict[str, Any]]:
    """The resources of one patient (Patient first)."""
    b = _Builder(record)
    _patient(b)
    _care_team(b)
    _cancer(b)
    _bone(b)
    for comorbidity in record.comorbidities or ():
        b.add(
            {
                "resourceType": "Condition",
                "meta": {"profile": [f"{MCODE}/mcode-comorbid-condition"]},
                "code": _concept("comorbidity", comorbidity.value),
                "subject": b.subject,
            },
            "comorbidity",
        )
    if record.bta_plan is not None:
        plan = record.bta_plan
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "plan",
            "medicationCodeableConcept": _concept("bta", plan.drug.value),
            "subject": b.subject,
        }
        if plan.interval_days:
            request["extension"] = [_ext("interval-days", valueInteger=plan.interval_days)]
        b.add(request, "bta-plan")
    _events(b)
    return b.resources


def patient_bundle(record: Record, *, base: str = "urn:bonepath") -> dict[str, Any]:
    """The patient as a ``collection`` Bundle of mCODE-shaped resources."""
    resources = patient_resources(record)
    return checked(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "meta": {"profile": [f"{MCODE}/mcode-patient-bundle"]},
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
                for r in resources
            ],
        }
    )


def _patient(b: _Builder) -> None:
    r = b.record
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": b.pid,
        "meta": {"profile": [f"{MCODE}/mcode-cancer-patient"]},
        "identifier": [{"system": f"{IDENTIFIER_SYSTEM}/{r.source}", "value": r.id}],
        "gender": r.sex.value,
        "birthDate": r.birth_date.isoformat(),
    }
    if r.death_date is not None:
        patient["deceasedDateTime"] = r.death_date.isoformat()
    if r.identity is not None and r.identity.name:
        patient["name"] = [{"use": "official", "text": r.identity.name}]
    if r.identity is not None and r.identity.phone:
        patient["telecom"] = [{"system": "phone", "value": r.identity.phone}]
    if r.smoking is not None:
        patient["extension"] = [_ext("smoking", valueCode=r.smoking.value)]
    hospital = _hospital(b) if r.hospital is not None else None
    if hospital is not None:
        patient["managingOrganization"] = {"reference": f"Organization/{hospital['id']}"}
    b.resources.append(checked(patient))
    if hospital is not None:
        b.add(hospital, "hospital")


_ORGANIZATION_TYPE: Final = "http://terminology.hl7.org/CodeSystem/organization-type"


def _hospital(b: _Builder) -> dict[str, Any]:
    """The hospital as an Organization (type ``prov``; bonepath's hospital type beside it), its
    id as identifier ``HOSPITAL_SYSTEM``, the city tier in the extension ``city-tier``."""
    hospital = b.record.hospital
    assert hospital is not None
    kind: dict[str, Any] = {"coding": [_coding(codes.first("organization_type", "hospital"))]}
    if hospital.type is not None:
        kind["coding"].append(_coding(codes.local("hospital_type", hospital.type.value)))
    organization: dict[str, Any] = {
        "resourceType": "Organization",
        "id": b.next_id("hospital"),
        "type": [kind],
    }
    if hospital.id is not None:
        organization["identifier"] = [{"system": HOSPITAL_SYSTEM, "value": hospital.id}]
    if hospital.name is not None:
        organization["name"] = hospital.name
    if hospital.city_tier is not None:
        organization["extension"] = [_ext("city-tier", valueCode=hospital.city_tier.value)]
    return organization


def _care_team(b: _Builder) -> None:
    """The department (an Organization of type ``dept``, partOf the hospital) and the physician
    (a Practitioner: id as identifier ``PHYSICIAN_SYSTEM``, title as qualification) as the
    patient's CareTeam: the physician is the member on behalf of the department; a department
    without a physician is the member itself."""
    r = b.record
    if r.department is None and r.physician is None:
        return
    hospital = next((x for x in b.resources if x["resourceType"] == "Organization"), None)
    team: dict[str, Any] = {
        "resourceType": "CareTeam",
        "status": "active",
        "category": [{"coding": [_coding(codes.local("care_team", "treating"))]}],
        "subject": b.subject,
    }
    if hospital is not None:
        team["managingOrganization"] = [{"reference": f"Organization/{hospital['id']}"}]
    participant: dict[str, Any] = {}
    if r.department is not None:
        department: dict[str, Any] = {
            "resourceType": "Organization",
            "type": [
                {
                    "coding": [
                        _coding(codes.first("organization_type", "department")),
                        _coding(codes.local("department", r.department.value)),
                    ]
                }
            ],
        }
        if hospital is not None:
            department["partOf"] = {"reference": f"Organization/{hospital['id']}"}
        b.add(department, "department")
        participant["member"] = {"reference": f"Organization/{department['id']}"}
    if r.physician is not None:
        practitioner: dict[str, Any] = {"resourceType": "Practitioner", "active": True}
        if r.physician.id is not None:
            practitioner["identifier"] = [{"system": PHYSICIAN_SYSTEM, "value": r.physician.id}]
        if r.physician.title is not None:
            practitioner["qualification"] = [
                {"code": _local_concept("physician_title", r.physician.title.value)}
            ]
        b.add(practitioner, "physician")
        if "member" in participant:
            participant["onBehalfOf"] = participant.pop("member")
        participant["member"] = {"reference": f"Practitioner/{practitioner['id']}"}
    team["participant"] = [participant]
    b.add(team, "careteam")


def _cancer(b: _Builder) -> None:
    c = b.record.cancer
    histology = c.histology.value if c.histology else None
    target = histology if histology in ("adenocarcinoma", "squamous", "sclc", "nsclc_nos") else ""
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "meta": {"profile": [f"{MCODE}/mcode-primary-cancer-condition"]},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [_coding(codes.first("lung_cancer", target))]},
        "subject": b.subject,
        "onsetDateTime": c.diagnosis_date.isoformat(),
    }
    extensions = []
    if histology:
        extensions.append(_ext("histology", valueCode=histology))
    if c.tnm:
        extensions.append(_ext("tnm", valueString=c.tnm))
    if c.setting:
        extensions.append(_ext("setting", valueCode=c.setting.value))
    if c.surgery_date:
        extensions.append(_ext("surgery_date", valueDate=c.surgery_date.isoformat()))
    if c.recurrence_date:
        extensions.append(_ext("recurrence_date", valueDate=c.recurrence_date.isoformat()))
    if c.visceral_metastasis:
        extensions.append(_ext("visceral_metastasis", valueCode=c.visceral_metastasis.value))
    if extensions:
        condition["extension"] = extensions
    if c.stage:
        stage = c.stage.value
        condition["stage"] = [
            {"summary": {"coding": [{"system": AJCC, "code": _ROMAN[stage], "display": stage}]}}
        ]
    b.add(condition, "cancer")
    focus = [{"reference": f"Condition/{condition['id']}"}]
    for gene, status in (c.drivers or {}).items():
        b.add(_driver(b, gene.value, status.value, focus), "driver")
    if c.pd_l1_tps is not None:
        b.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [_LABORATORY],
                "code": _local_concept("observation", "pd_l1_tps"),
                "subject": b.subject,
                "focus": focus,
                "valueQuantity": {
                    "value": c.pd_l1_tps,
                    "unit": "%",
                    "system": UCUM,
                    "code": "%",
                },
            },
            "pdl1",
        )


_LABORATORY: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}


def _driver(b: _Builder, gene: str, status: str, focus: list[dict[str, str]]) -> dict[str, Any]:
    """A driver result, shaped as mCODE's genetic-variant Observation (LOINC 69548-6 with the
    gene studied, 48018-6, as a component); bonepath's driver and status codes ride beside the
    standard ones (import reads those). Not dated: record v1 keeps no date for it."""
    gene_rows = [row for row in codes.rows() if row.table == "driver" and row.target == gene]
    status_rows = [r for r in codes.rows() if r.table == "driver_status" and r.target == status]
    value = {"coding": [_coding(row) for row in status_rows]}  # the standard one first
    return {
        "resourceType": "Observation",
        "meta": {"profile": [f"{MCODE}/mcode-cancer-genetic-variant"]},
        "status": "final",
        "category": [_LABORATORY],
        "code": {"coding": [_coding(codes.first("genetic_variant", "assessment"))]},
        "subject": b.subject,
        "focus": focus,
        "valueCodeableConcept": value,
        "component": [
            {
                "code": {"coding": [_coding(codes.first("genetic_variant", "gene_studied"))]},
                "valueCodeableConcept": {"coding": [_coding(row) for row in gene_rows]},
            }
        ],
    }


def _bone(b: _Builder) -> None:
    bone = b.record.bone_metastasis
    if bone is None or bone.status is None:
        return
    status = {"confirmed": "confirmed", "suspected": "provisional", "none": "refuted"}[
        bone.status.value
    ]
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "meta": {"profile": [f"{MCODE}/mcode-secondary-cancer-condition"]},
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [_coding(codes.first("bone_metastasis", ""))]},
        "subject": b.subject,
    }
    if bone.confirmed_date is not None:
        condition["onsetDateTime"] = bone.confirmed_date.isoformat()
    if bone.lesions:
        condition["bodySite"] = [
            _concept("body_site", lesion.site.value) for lesion in bone.lesions
        ]
        condition["extension"] = [_lesion(lesion) for lesion in bone.lesions]
    b.add(condition, "bone-metastasis")


def _lesion(lesion: Lesion) -> dict[str, Any]:
    """One lesion as the complex extension ``lesion``: one sub-extension per field."""
    parts: list[dict[str, Any]] = []
    for name, kind in LESION_FIELDS.items():
        value = getattr(lesion, name)
        if value is None:
            continue
        if hasattr(value, "value"):
            value = value.value
        parts.append({"url": name, kind: value})
    return {"url": extension_url("lesion"), "extension": parts}


def _observation(b: _Builder, date: dt.date, code: dict[str, Any], **value: Any) -> None:
    b.add(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": code,
            "subject": b.subject,
            "effectiveDateTime": date.isoformat(),
            **value,
        },
        "obs",
    )


def _component(name: str, **value: Any) -> dict[str, Any]:
    return {"code": _local_concept("symptom", name), **value}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": codes.record_to_ucum(unit)}


def _events(b: _Builder) -> None:
    e = b.record.events
    for lab in e.labs:
        test = lab.test.value
        loinc = _LAB_LOINC_BY_UNIT.get((test, lab.unit))
        coding = [_coding(codes.lookup("lab", LOINC, loinc))] if loinc else []  # type: ignore[arg-type]
        if not coding:
            try:
                coding = [_coding(codes.first("lab", test))]
            except KeyError:
                coding = []
        local = _coding(codes.local("lab", test))
        if local not in coding:
            coding.append(local)
        extra: dict[str, Any] = {"valueQuantity": _quantity(lab.value, lab.unit)}
        if lab.lln is not None or lab.uln is not None:
            limits: dict[str, Any] = {}
            if lab.lln is not None:
                limits["low"] = _quantity(lab.lln, lab.unit)
            if lab.uln is not None:
                limits["high"] = _quantity(lab.uln, lab.unit)
            extra["referenceRange"] = [limits]
        extra["category"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ]
        _observation(b, lab.date, {"coding": coding}, **extra)
    for vitals in e.vitals:
        if vitals.weight_kg is not None:
            _observation(
                b,
                vitals.date,
                _concept("observation", "weight"),
                valueQuantity=_quantity(vitals.weight_kg, "kg"),
            )
        if vitals.height_cm is not None:
            _observation(
                b,
                vitals.date,
                _concept("observation", "height"),
                valueQuantity=_quantity(vitals.height_cm, "cm"),
            )
    for perf in e.performance:
        if perf.ecog is not None:
            _observation(b, perf.date, _concept("observation", "ecog"), valueInteger=perf.ecog)
        if perf.kps is not None:
            _observation(b, perf.date, _concept("observation", "kps"), valueInteger=perf.kps)
        if perf.life_expectancy_months is not None:
            _observation(
                b,
                perf.date,
                _local_concept("observation", "life_expectancy"),
                valueQuantity={
                    "value": perf.life_expectancy_months,
                    "unit": "month",
                    "system": UCUM,
                    "code": "mo",
                },
            )
    for symptoms in e.symptoms:
        components: list[dict[str, Any]] = []
        if symptoms.bone_pain is not None:
            components.append(_component("bone_pain", valueInteger=symptoms.bone_pain))
        components.extend(
            _component("pain_site", valueCodeableConcept=_concept("body_site", site.value))
            for site in symptoms.pain_sites
        )
        if symptoms.neuro_deficit is not None:
            components.append(_component("neuro_deficit", valueBoolean=symptoms.neuro_deficit))
        if symptoms.mechanical_pain is not None:
            components.append(_component("mechanical_pain", valueBoolean=symptoms.mechanical_pain))
        if symptoms.frankel is not None:
            components.append(
                _component(
                    "frankel",
                    valueCodeableConcept=_local_concept("frankel", symptoms.frankel.value),
                )
            )
        found: dict[str, Any] = {"component": components} if components else {}
        _observation(b, symptoms.date, _local_concept("observation", "symptoms"), **found)
    for sre in e.sre:
        _observation(
            b,
            sre.date,
            _local_concept("observation", "sre"),
            valueCodeableConcept=_local_concept("sre", sre.kind.value),
        )
    for imaging in e.imaging:
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}
                    ]
                }
            ],
            "code": _local_concept("imaging", imaging.modality.value),
            "subject": b.subject,
            "effectiveDateTime": imaging.date.isoformat(),
        }
        extensions = []
        if imaging.region is not None:
            extensions.append(_ext("region", valueCode=imaging.region.value))
        if imaging.bone_window_reviewed is not None:
            extensions.append(
                _ext("bone-window-reviewed", valueBoolean=imaging.bone_window_reviewed)
            )
        if imaging.lesion_count is not None:
            extensions.append(_ext("lesion-count", valueInteger=imaging.lesion_count))
        extensions.extend(_ext("site", valueCode=site.value) for site in imaging.sites)
        if extensions:
            report["extension"] = extensions
        if imaging.result is not None:
            report["conclusionCode"] = [
                {"coding": [_coding(codes.first("imaging_result", imaging.result.value))]}
            ]
        if imaging.report_text:
            report["conclusion"] = imaging.report_text
        b.add(report, "imaging")
    for dose in e.bta:
        admin: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "medicationCodeableConcept": _concept("bta", dose.drug.value),
            "subject": b.subject,
            "effectiveDateTime": dose.date.isoformat(),
            "dosage": {"dose": _quantity(dose.dose_mg, "mg")},
        }
        if dose.route is not None:
            admin["dosage"]["route"] = {
                "coding": [{"system": SNOMED, "code": route_code(dose.route.value)}]
            }
        if dose.interval_days is not None:
            admin["extension"] = [_ext("interval-days", valueInteger=dose.interval_days)]
        b.add(admin, "bta")
    for supplement in e.supplements:
        given: list[tuple[str, float | None, str]] = [
            ("calcium", supplement.calcium_mg_daily, "mg"),
            ("vitamin_d", supplement.vitamin_d_iu_daily, "IU"),
        ]
        parts = [part for part in given if part[1] is not None]
        for name, amount, unit in parts or [("calcium_vitamin_d", None, "")]:
            request: dict[str, Any] = {
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": _local_concept("supplement", name),
                "subject": b.subject,
                "authoredOn": supplement.date.isoformat(),
            }
            if amount is not None:
                request["dosageInstruction"] = [
                    {
                        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": _quantity(amount, unit)}],
                    }
                ]
            b.add(request, "supplement")
    for dental in e.dental:
        _procedure(b, dental.date, _local_concept("procedure", f"dental-{dental.result.value}"))
    for treatment in e.treatments:
        extensions = []
        if treatment.dose_gy is not None:
            extensions.append(_ext("dose-gy", valueDecimal=treatment.dose_gy))
        if treatment.fractions is not None:
            extensions.append(_ext("fractions", valueInteger=treatment.fractions))
        _procedure(
            b,
            treatment.date,
            _local_concept("procedure", treatment.kind.value),
            site=treatment.site.value if treatment.site else None,
            extensions=extensions,
        )
    for biopsy in e.biopsy:
        _procedure(
            b,
            biopsy.date,
            _local_concept("procedure", "bone_biopsy"),
            site=biopsy.site.value if biopsy.site else None,
            outcome=_local_concept("biopsy_result", biopsy.result.value),
        )
    for mdt in e.mdt:
        _procedure(
            b,
            mdt.date,
            _local_concept("procedure", "mdt"),
            outcome={"text": mdt.decision} if mdt.decision is not None else None,
            extensions=[_ext("attendee", valueCode=d.value) for d in mdt.attendees],
        )
    for medication in e.medications:
        _statement(
            b,
            medication.date,
            medication.class_.value,
            "active" if medication.action.value == "start" else "stopped",
        )
    for stop in e.bta_stop:
        _statement(
            b,
            stop.date,
            "bone_targeted_agent",
            "stopped",
            reason=_local_concept("stop_reason", stop.reason.value),
        )
    for adverse in e.adverse_events:
        event: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "actuality": "actual",
            "event": _local_concept("adverse_event", adverse.kind.value),
            "subject": b.subject,
            "date": adverse.date.isoformat(),
        }
        extensions = []
        if adverse.grade is not None:
            extensions.append(_ext("ctcae-grade", valueInteger=adverse.grade))
        if adverse.stage is not None:
            extensions.append(_ext("mronj-stage", valueInteger=adverse.stage))
        if extensions:
            event["extension"] = extensions
        b.add(event, "adverse")


def _statement(
    b: _Builder, date: dt.date, klass: str, status: str, reason: dict[str, Any] | None = None
) -> None:
    """A medication class started (``active``) or stopped, as a MedicationStatement."""
    statement: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": _local_concept("medication_class", klass),
        "subject": b.subject,
        "effectiveDateTime": date.isoformat(),
    }
    if reason is not None:
        statement["statusReason"] = [reason]
    b.add(statement, "medstatement")


def _procedure(
    b: _Builder,
    date: dt.date,
    code: dict[str, Any],
    *,
    site: str | None = None,
    extensions: list[dict[str, Any]] | None = None,
    outcome: dict[str, Any] | None = None,
) -> None:
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": code,
        "subject": b.subject,
        "performedDateTime": date.isoformat(),
    }
    if site:
        procedure["bodySite"] = [_concept("body_site", site)]
    if extensions:
        procedure["extension"] = extensions
    if outcome is not None:
        procedure["outcome"] = outcome
    b.add(procedure, "procedure")


# ---- findings and the catalogue -------------------------------------------------------------


def _rule_concept(finding: Finding) -> dict[str, Any]:
    return {
        "coding": [{"system": RULE_SYSTEM, "code": finding.rule, "display": finding.title_en}],
        "text": finding.title_zh,
    }


def _finding_extensions(finding: Finding) -> list[dict[str, Any]]:
    out = [
        _ext("rule", valueCode=finding.rule),
        _ext("finding-kind", valueCode=finding.kind.value),
        _ext("severity", valueCode=finding.severity.value),
        _ext("title-en", valueString=finding.title_en),
    ]
    if finding.item:
        out.append(_ext("item", valueString=finding.item))
    out.extend(_ext("source", valueString=source) for source in finding.sources)
    return out


def _values_text(finding: Finding) -> str:
    shown = ", ".join(
        f"{key}={value}" for key, value in finding.values.items() if value is not None
    )
    sources = "; ".join(finding.sources)
    return (
        f"{finding.title_zh} / {finding.title_en}"
        + (f" ({shown})" if shown else "")
        + f" — {sources}"
    )


def finding_resource(
    finding: Finding, *, subject: str, as_of: dt.date, index: int, pid: str
) -> dict[str, Any]:
    """One finding: an alert (or info) as DetectedIssue, an action or data request as Task, a
    reminder as CommunicationRequest; each carries the rule id and the sources."""
    ref = {"reference": subject}
    rid = f"{pid}-{re.sub(r'[^a-z0-9]', '', finding.rule.lower())}-{index}"
    extensions = _finding_extensions(finding)
    due = finding.due.isoformat() if finding.due else None
    if finding.kind in (FindingKind.ALERT, FindingKind.INFO):
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "id": rid,
            "extension": extensions,
            "status": "final",
            "code": _rule_concept(finding),
            "severity": _ISSUE_SEVERITY[finding.severity],
            "patient": ref,
            "identifiedDateTime": as_of.isoformat(),
            "detail": _values_text(finding),
        }
        return checked(issue)
    if finding.kind is FindingKind.REMINDER:
        request: dict[str, Any] = {
            "resourceType": "CommunicationRequest",
            "id": rid,
            "extension": extensions,
            "status": "active",
            "category": [{"coding": [{"system": FINDING_KIND_SYSTEM, "code": finding.kind.value}]}],
            "priority": _PRIORITY[finding.severity],
            "subject": ref,
            "authoredOn": as_of.isoformat(),
            "reasonCode": [_rule_concept(finding)],
            "payload": [{"contentString": finding.title_zh}, {"contentString": finding.title_en}],
        }
        if due:
            request["occurrenceDateTime"] = due
        return checked(request)
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": rid,
        "extension": extensions,
        "status": "requested",
        "intent": "proposal",
        "priority": _PRIORITY[finding.severity],
        "code": _rule_concept(finding),
        "description": _values_text(finding),
        "for": ref,
        "authoredOn": as_of.isoformat(),
        "businessStatus": {"coding": [{"system": FINDING_KIND_SYSTEM, "code": finding.kind.value}]},
    }
    if due:
        task["restriction"] = {"period": {"end": due}}
    return checked(task)


def findings_resources(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The findings of one evaluation as FHIR resources, in the evaluation's order."""
    pid = patient_fhir_id(evaluation.source, evaluation.patient)
    subject = f"Patient/{pid}"
    return [
        finding_resource(f, subject=subject, as_of=evaluation.as_of, index=i, pid=pid)
        for i, f in enumerate(evaluation.findings)
    ]


def plan_definition(rule: Rule, *, version: str) -> dict[str, Any]:
    """One rule of the catalogue as an ECA-rule PlanDefinition with its citations."""
    rid = fhir_id("rule", rule.id)
    return checked(
        {
            "resourceType": "PlanDefinition",
            "id": rid,
            "url": f"{codes.LOCAL}/PlanDefinition/{rule.id}",
            "identifier": [{"system": RULE_SYSTEM, "value": rule.id}],
            "version": version,
            "name": re.sub(r"[^A-Za-z0-9]", "_", rule.id),
            "title": rule.title.zh,
            "subtitle": rule.title.en,
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                        "code": "eca-rule",
                    }
                ]
            },
            "status": "active",
            "description": f"{rule.logic_text.zh}\n\n{rule.logic_text.en}",
            "topic": [{"coding": [{"system": local_system("family"), "code": rule.family.value}]}],
            "relatedArtifact": [
                {"type": "citation", "label": c.label[:200], "display": c.render()}
                for c in rule.sources
            ],
            "action": [
                {
                    "title": rule.title.zh,
                    "description": rule.title.en,
                    "priority": _PRIORITY[rule.severity],
                    "code": [
                        {"coding": [{"system": FINDING_KIND_SYSTEM, "code": kind.value}]}
                        for kind in rule.possible_kinds
                    ],
                }
            ],
        }
    )


def catalogue_resources(catalogue: Catalogue) -> list[dict[str, Any]]:
    return [plan_definition(rule, version=catalogue.version) for rule in catalogue]


def collection(
    resources: Iterable[dict[str, Any]], *, base: str = "urn:bonepath"
) -> dict[str, Any]:
    """Resources as a ``collection`` Bundle."""
    return checked(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
                for r in resources
            ],
        }
    )
