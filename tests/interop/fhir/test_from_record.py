"""FHIR export: the patient Bundle round-trips through import, findings carry their rule and
sources, the catalogue becomes PlanDefinitions; every resource is valid R4B."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from bonepath.engine.evaluate import evaluate
from bonepath.errors import RecordRefused
from bonepath.interop.fhir.from_record import (
    catalogue_resources,
    findings_resources,
    patient_bundle,
)
from bonepath.interop.fhir.importing import read_fhir
from bonepath.interop.fhir.to_record import SKIP_NO_PATIENT
from bonepath.record.model import EVENT_LISTS, Lesion, Record
from bonepath.record.parse import parse_record
from bonepath.rules import load_catalogue

TODAY = dt.date(2026, 11, 23)
EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "spec" / "examples"

CARRIED: dict[str, Any] = {
    "format": "bonepath-record/1",
    "id": "P-0042",
    "source": "hospital-a",
    "sex": "male",
    "birth_date": "1956-07-14",
    "smoking": "former",
    "comorbidities": ["diabetes", "ckd", "dental_disease"],
    "cancer": {
        "diagnosis_date": "2026-01-05",
        "histology": "large_cell",
        "stage": "IV",
        "tnm": "T2aN1M1c",
        "setting": "advanced",
        "recurrence_date": "2026-03-01",
        "visceral_metastasis": "none",
    },
    "bone_metastasis": {
        "status": "confirmed",
        "confirmed_date": "2026-02-10",
        "lesions": [{"site": "thoracic_spine"}, {"site": "acetabulum"}, {"site": "rib"}],
    },
    "bta_plan": {"drug": "denosumab", "interval_days": 28},
    "events": {
        "imaging": [
            {
                "date": "2026-02-01",
                "modality": "bone_scan",
                "region": "whole_body",
                "result": "positive",
                "lesion_count": 3,
                "sites": ["thoracic_spine", "rib"],
                "report_text": "多发骨转移 multiple bone metastases",
            },
            {
                "date": "2026-02-05",
                "modality": "ct",
                "region": "chest",
                "bone_window_reviewed": True,
            },
        ],
        "labs": [
            {
                "date": "2026-02-12",
                "test": "creatinine",
                "value": 97.0,
                "unit": "umol/L",
                "uln": 110.0,
            },
            {
                "date": "2026-02-12",
                "test": "calcium",
                "value": 2.3,
                "unit": "mmol/L",
                "lln": 2.1,
                "uln": 2.6,
            },
            {"date": "2026-02-12", "test": "albumin", "value": 38.0, "unit": "g/L"},
            {"date": "2026-02-12", "test": "ntx", "value": 60.0, "unit": "nmol BCE/mmol Cr"},
        ],
        "vitals": [{"date": "2026-02-12", "weight_kg": 61.5, "height_cm": 168.0}],
        "performance": [{"date": "2026-02-12", "ecog": 1, "kps": 80}],
        "bta": [
            {
                "date": "2026-02-15",
                "drug": "zoledronic_acid",
                "dose_mg": 3.5,
                "route": "iv",
                "interval_days": 28,
            },
        ],
        "supplements": [
            {"date": "2026-02-15", "calcium_mg_daily": 500.0, "vitamin_d_iu_daily": 400.0}
        ],
        "dental": [{"date": "2026-02-13", "result": "ok"}],
        "treatments": [
            {
                "date": "2026-02-20",
                "kind": "radiotherapy_bone",
                "site": "thoracic_spine",
                "dose_gy": 8.0,
                "fractions": 1,
            },
            {"date": "2026-01-20", "kind": "targeted"},
        ],
    },
}


def _import(bundle: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    mapped = read_fhir([path], today=TODAY)
    assert mapped.refused_items == [] and [r.problems for r in mapped.records] == [()]
    return parse_record(mapped.records[0].data, today=TODAY).to_json_dict()


def test_export_then_import_gives_the_same_record(tmp_path: Path) -> None:
    record = parse_record(CARRIED, today=TODAY)

    bundle = patient_bundle(record)

    assert _import(bundle, tmp_path) == record.to_json_dict()
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[0] == "Patient" and kinds.count("Condition") == 5  # cancer, bone, 3 comorbidities
    patient = bundle["entry"][0]["resource"]
    assert patient["meta"]["profile"] == [
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"
    ]


def test_a_ruled_out_bone_metastasis_round_trips_as_refuted(tmp_path: Path) -> None:
    data = {**CARRIED, "bone_metastasis": {"status": "none"}, "events": {}}
    record = parse_record(data, today=TODAY)

    bundle = patient_bundle(record)

    bone = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "94222008"
    ]
    assert [b["verificationStatus"]["coding"][0]["code"] for b in bone] == ["refuted"]
    assert _import(bundle, tmp_path)["bone_metastasis"] == {"status": "none", "lesions": []}


def test_findings_become_detected_issues_tasks_and_communication_requests() -> None:
    record = parse_record(CARRIED, today=TODAY)
    evaluation = evaluate(record, dt.date(2026, 3, 20))
    assert evaluation.findings

    resources = findings_resources(evaluation)

    expected_type = {
        "alert": "DetectedIssue",
        "info": "DetectedIssue",
        "action": "Task",
        "data_needed": "Task",
        "reminder": "CommunicationRequest",
    }
    for finding, resource in zip(evaluation.findings, resources, strict=True):
        assert resource["resourceType"] == expected_type[finding.kind.value]
        extensions = {
            (x["url"].rsplit("/", 1)[1], next(v for k, v in x.items() if k != "url"))
            for x in resource["extension"]
        }
        assert ("rule", finding.rule) in extensions
        assert {v for k, v in extensions if k == "source"} == set(finding.sources)
        subject = resource.get("patient") or resource.get("subject") or resource.get("for")
        assert subject == {"reference": "Patient/hospital-a.P-0042"}


def test_the_catalogue_becomes_plan_definitions_with_citations() -> None:
    catalogue = load_catalogue()

    plans = catalogue_resources(catalogue)

    assert len(plans) == len(catalogue)
    by_rule = {p["identifier"][0]["value"]: p for p in plans}
    for rule in catalogue:
        plan = by_rule[rule.id]
        assert (plan["title"], plan["subtitle"]) == (rule.title.zh, rule.title.en)
        assert [a["display"] for a in plan["relatedArtifact"]] == rule.rendered_sources
        assert plan["version"] == catalogue.version


FULL: dict[str, Any] = {
    **CARRIED,
    "hospital": {"id": "H-031", "name": "某市肿瘤医院", "city_tier": "tier3-4", "type": "cancer"},
    "department": "thoracic_oncology",
    "physician": {"id": "D-117", "title": "associate_chief"},
    "identity": {"name": "王建国", "phone": "+86 138-0013-8000"},  # Patient.name, telecom
    "cancer": {
        **CARRIED["cancer"],
        "drivers": {
            "EGFR": "positive",
            "ALK": "negative",
            "KRAS_G12C": "unknown",
            "NTRK": "negative",
            "HER2": "negative",
        },
        "pd_l1_tps": 55.0,
    },
    "bone_metastasis": {
        "status": "confirmed",
        "confirmed_date": "2026-02-10",
        "lesions": [
            {
                "site": "thoracic_spine",
                "kind": "lytic",
                "size_mm": 24.5,
                "cortical_involvement_pct": 40.0,
                "level": "T8",
                "alignment": "normal",
                "collapse": "lt50",
                "posterolateral": "unilateral",
            },
            {
                "site": "femur",
                "kind": "mixed",
                "size_mm": 31.0,
                "cortical_involvement_pct": 60.0,
                "peritrochanteric": True,
            },
            {"site": "rib"},
            {"site": "rib", "kind": "blastic"},
        ],
    },
    "events": {
        **CARRIED["events"],
        "performance": [
            {"date": "2026-02-12", "ecog": 1, "kps": 80, "life_expectancy_months": 9.0}
        ],
        "biopsy": [
            {"date": "2026-02-08", "site": "thoracic_spine", "result": "metastatic_lung"},
            {"date": "2026-02-09", "result": "nondiagnostic"},
        ],
        "symptoms": [
            {
                "date": "2026-02-12",
                "bone_pain": 6,
                "pain_sites": ["thoracic_spine", "femur"],
                "neuro_deficit": False,
                "mechanical_pain": True,
                "frankel": "E",
            },
            {"date": "2026-03-01", "bone_pain": 2},
        ],
        "bta_stop": [{"date": "2026-06-01", "reason": "renal_toxicity"}],
        "medications": [
            {"date": "2026-02-12", "class": "strong_opioid_long", "action": "start"},
            {"date": "2026-03-01", "class": "nsaid", "action": "stop"},
        ],
        "adverse_events": [
            {"date": "2026-05-20", "kind": "renal_toxicity", "grade": 2},
            {"date": "2026-05-25", "kind": "onj", "stage": 1},
        ],
        "sre": [{"date": "2026-02-18", "kind": "pathologic_fracture"}],
        "mdt": [
            {
                "date": "2026-02-16",
                "decision": "放疗 T8, 唑来膦酸 / RT to T8 and zoledronic acid",
                "attendees": ["thoracic_oncology", "radiotherapy", "orthopedics"],
            },
            {"date": "2026-04-01"},
        ],
    },
}


@pytest.mark.parametrize(
    "example",
    sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")),
    ids=lambda p: p.stem,
)
def test_the_shared_examples_round_trip(example: Path, tmp_path: Path) -> None:
    data = json.loads(example.read_text(encoding="utf-8"))
    try:
        record = parse_record(data, today=TODAY)
    except RecordRefused:
        pytest.skip("an example of a refused record")

    bundle = patient_bundle(record)

    Bundle.model_validate(bundle)
    assert _import(bundle, tmp_path) == record.to_json_dict()


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"].rsplit("/", 1)[-1], c["code"]) for c in concept["coding"]]


def test_every_carried_field_round_trips(tmp_path: Path) -> None:
    record = parse_record(FULL, today=TODAY)
    data = record.to_json_dict()
    assert set(data["events"]) == set(EVENT_LISTS)  # every event list is used
    assert set(Record.model_fields) - set(data) == {"death_date"}  # tested above
    lesion_fields = {k for lesion in data["bone_metastasis"]["lesions"] for k in lesion}
    assert lesion_fields == set(Lesion.model_fields)

    bundle = patient_bundle(record)

    assert _import(bundle, tmp_path) == record.to_json_dict()
    Bundle.model_validate(bundle)  # and every resource in it (patient_bundle checks each too)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Organization", "Practitioner", "CareTeam", "MedicationStatement"} <= kinds
    assert "AdverseEvent" in kinds


def test_the_hospital_is_the_patients_managing_organization() -> None:
    bundle = patient_bundle(parse_record(FULL, today=TODAY))

    patient = bundle["entry"][0]["resource"]
    hospital, department = _resources(bundle, "Organization")
    assert patient["managingOrganization"] == {"reference": f"Organization/{hospital['id']}"}
    assert hospital["identifier"] == [
        {"system": "http://bonepath.org/fhir/hospital", "value": "H-031"}
    ]
    assert hospital["name"] == "某市肿瘤医院"
    assert _codes(hospital["type"][0]) == [
        ("organization-type", "prov"),
        ("hospital-type", "cancer"),
    ]
    assert hospital["extension"] == [
        {"url": "http://bonepath.org/fhir/StructureDefinition/city-tier", "valueCode": "tier3-4"}
    ]
    assert _codes(department["type"][0]) == [
        ("organization-type", "dept"),
        ("department", "thoracic_oncology"),
    ]
    assert department["partOf"] == {"reference": f"Organization/{hospital['id']}"}


def test_the_physician_is_a_practitioner_of_the_patients_care_team() -> None:
    bundle = patient_bundle(parse_record(FULL, today=TODAY))

    [practitioner] = _resources(bundle, "Practitioner")
    [team] = _resources(bundle, "CareTeam")
    hospital, department = _resources(bundle, "Organization")
    assert practitioner["identifier"] == [
        {"system": "http://bonepath.org/fhir/physician", "value": "D-117"}
    ]
    assert _codes(practitioner["qualification"][0]["code"]) == [
        ("physician-title", "associate_chief")
    ]
    assert team["subject"] == {"reference": "Patient/hospital-a.P-0042"}
    assert _codes(team["category"][0]) == [("care-team", "treating")]
    assert team["managingOrganization"] == [{"reference": f"Organization/{hospital['id']}"}]
    assert team["participant"] == [
        {
            "member": {"reference": f"Practitioner/{practitioner['id']}"},
            "onBehalfOf": {"reference": f"Organization/{department['id']}"},
        }
    ]


def test_a_department_without_a_physician_is_the_care_team_member(tmp_path: Path) -> None:
    data = {k: v for k, v in FULL.items() if k not in ("physician", "hospital")}
    record = parse_record(data, today=TODAY)

    bundle = patient_bundle(record)

    [team] = _resources(bundle, "CareTeam")
    [department] = _resources(bundle, "Organization")
    assert team["participant"] == [{"member": {"reference": f"Organization/{department['id']}"}}]
    assert "partOf" not in department and "managingOrganization" not in team
    assert _import(bundle, tmp_path) == record.to_json_dict()


def test_drivers_and_pd_l1_are_mcode_shaped_observations() -> None:
    bundle = patient_bundle(parse_record(FULL, today=TODAY))

    observations = _resources(bundle, "Observation")
    variants = [o for o in observations if o["code"]["coding"][0]["code"] == "69548-6"]
    by_gene = {v["component"][0]["valueCodeableConcept"]["coding"][-1]["code"]: v for v in variants}
    assert sorted(by_gene) == ["ALK", "EGFR", "HER2", "KRAS_G12C", "NTRK"]
    egfr = by_gene["EGFR"]
    assert egfr["meta"]["profile"] == [
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-genetic-variant"
    ]
    assert _codes(egfr["component"][0]["code"]) == [("loinc.org", "48018-6")]
    assert _codes(egfr["component"][0]["valueCodeableConcept"]) == [
        ("geneId", "HGNC:3236"),
        ("driver", "EGFR"),
    ]
    assert _codes(egfr["valueCodeableConcept"]) == [
        ("loinc.org", "LA9633-4"),
        ("driver-status", "positive"),
    ]
    assert _codes(by_gene["KRAS_G12C"]["valueCodeableConcept"]) == [("driver-status", "unknown")]
    # NTRK is a family of three genes: bonepath's code only
    assert _codes(by_gene["NTRK"]["component"][0]["valueCodeableConcept"]) == [("driver", "NTRK")]
    assert "effectiveDateTime" not in egfr  # record v1 keeps no date for a driver result
    [tps] = [o for o in observations if _codes(o["code"]) == [("observation", "pd_l1_tps")]]
    assert tps["valueQuantity"] == {
        "value": 55.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert tps["focus"][0]["reference"].startswith("Condition/")


def test_lesions_travel_whole_in_the_lesion_extension() -> None:
    bundle = patient_bundle(parse_record(FULL, today=TODAY))

    [bone] = [
        c for c in _resources(bundle, "Condition") if c["code"]["coding"][0]["code"] == "94222008"
    ]
    assert len(bone["bodySite"]) == len(bone["extension"]) == 4
    first = bone["extension"][0]
    assert first["url"] == "http://bonepath.org/fhir/StructureDefinition/lesion"
    assert first["extension"] == [
        {"url": "site", "valueCode": "thoracic_spine"},
        {"url": "kind", "valueCode": "lytic"},
        {"url": "size_mm", "valueDecimal": 24.5},
        {"url": "cortical_involvement_pct", "valueDecimal": 40.0},
        {"url": "level", "valueString": "T8"},
        {"url": "alignment", "valueCode": "normal"},
        {"url": "collapse", "valueCode": "lt50"},
        {"url": "posterolateral", "valueCode": "unilateral"},
    ]


def _component_value(component: dict[str, Any]) -> tuple[str, Any]:
    name = _codes(component["code"])[0][1]
    if "valueCodeableConcept" in component:
        return name, _codes(component["valueCodeableConcept"])[-1][1]
    return name, next(v for k, v in component.items() if k.startswith("value"))


def test_events_become_observations_procedures_statements_and_adverse_events() -> None:
    bundle = patient_bundle(parse_record(FULL, today=TODAY))

    observations = _resources(bundle, "Observation")
    [life] = [o for o in observations if _codes(o["code"]) == [("observation", "life_expectancy")]]
    quantity = life["valueQuantity"]
    assert (life["effectiveDateTime"], quantity["value"], quantity["code"]) == (
        "2026-02-12",
        9.0,
        "mo",
    )
    symptoms = [o for o in observations if _codes(o["code"]) == [("observation", "symptoms")]]
    assert [_component_value(c) for c in symptoms[0]["component"]] == [
        ("bone_pain", 6),
        ("pain_site", "thoracic_spine"),
        ("pain_site", "femur"),
        ("neuro_deficit", False),
        ("mechanical_pain", True),
        ("frankel", "E"),
    ]
    [sre] = [o for o in observations if _codes(o["code"]) == [("observation", "sre")]]
    assert _codes(sre["valueCodeableConcept"]) == [("sre", "pathologic_fracture")]

    procedures = {p["performedDateTime"]: p for p in _resources(bundle, "Procedure")}
    biopsy = procedures["2026-02-08"]
    assert _codes(biopsy["code"]) == [("procedure", "bone_biopsy")]
    assert _codes(biopsy["outcome"]) == [("biopsy-result", "metastatic_lung")]
    assert _codes(biopsy["bodySite"][0])[0] == ("sct", "122495006")
    mdt = procedures["2026-02-16"]
    assert _codes(mdt["code"]) == [("procedure", "mdt")]
    assert mdt["outcome"] == {"text": "放疗 T8, 唑来膦酸 / RT to T8 and zoledronic acid"}
    assert [x["valueCode"] for x in mdt["extension"]] == [
        "thoracic_oncology",
        "radiotherapy",
        "orthopedics",
    ]

    statements = _resources(bundle, "MedicationStatement")
    assert [
        (s["effectiveDateTime"], s["status"], _codes(s["medicationCodeableConcept"])[0][1])
        for s in statements
    ] == [
        ("2026-02-12", "active", "strong_opioid_long"),
        ("2026-03-01", "stopped", "nsaid"),
        ("2026-06-01", "stopped", "bone_targeted_agent"),
    ]
    assert _codes(statements[2]["statusReason"][0]) == [("bta-stop-reason", "renal_toxicity")]

    renal, onj = _resources(bundle, "AdverseEvent")
    assert (renal["actuality"], _codes(renal["event"]), renal["date"]) == (
        "actual",
        [("adverse-event", "renal_toxicity")],
        "2026-05-20",
    )
    assert renal["extension"] == [
        {"url": "http://bonepath.org/fhir/StructureDefinition/ctcae-grade", "valueInteger": 2}
    ]
    assert onj["extension"] == [
        {"url": "http://bonepath.org/fhir/StructureDefinition/mronj-stage", "valueInteger": 1}
    ]


def test_foreign_organizations_and_practitioners_are_still_skipped(tmp_path: Path) -> None:
    """A Patient without bonepath's identifier does not take its managingOrganization as the
    hospital; an Organization nobody uses is counted as skipped, one that is used is not."""
    record = parse_record(FULL, today=TODAY)
    bundle = patient_bundle(record)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")

    mapped = read_fhir([path], today=TODAY)

    assert not [key for key in mapped.skipped if key[0] in ("Organization", "Practitioner")]
    foreign = json.loads(json.dumps(bundle))
    del foreign["entry"][0]["resource"]["identifier"]
    path.write_text(json.dumps(foreign), encoding="utf-8")
    mapped = read_fhir([path], today=TODAY)
    data = mapped.records[0].data
    assert "hospital" not in data and "physician" in data  # the CareTeam is bonepath's own
    assert mapped.skipped[("Organization", SKIP_NO_PATIENT)] == 1
