"""Hand-written FHIR R4 resources for the mapping tests (what a hospital system sends)."""

from __future__ import annotations

from typing import Any

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def patient(pid: str, *, gender: str = "male", born: str = "1958-03-02") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": born}


def lung_cancer(pid: str, onset: str = "2026-01-05", code: str = "254626006") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-lc",
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
        "stage": [
            {
                "summary": {
                    "coding": [
                        {"system": "http://cancerstaging.org", "code": "4A", "display": "IVA"}
                    ]
                }
            }
        ],
    }


def bone_metastasis(
    pid: str, onset: str = "2026-02-10", status: str = "confirmed"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-bm",
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C79.51"}]},
        "bodySite": [{"coding": [{"system": SCT, "code": "122496007"}]}],
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }


def lab(
    pid: str, loinc: str, value: float, unit: str, day: str = "2026-02-12", *, system: str = UCUM
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{pid}-{loinc}-{day}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day + "T08:30:00+08:00",
        "valueQuantity": {"value": value, "unit": unit, "system": system, "code": unit},
    }


def zoledronic_given(pid: str, day: str = "2026-02-15", mg: float = 4) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": f"{pid}-zol-{day}",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "77655"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day,
        "dosage": {
            "route": {"coding": [{"system": SCT, "code": "47625008"}]},
            "dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"},
        },
    }


def bundle(resources: list[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": f"http://example.org/fhir/{resource['resourceType']}/{resource.get('id', 'x')}",
            "resource": resource,
        }
        if kind == "transaction":
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource.get('id', 'x')}",
            }
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}
