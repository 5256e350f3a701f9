"""FHIR export: the patient Bundle round-trips through import, findings carry their rule and
sources, the catalogue becomes PlanDefinitions; every resource is valid R4B."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bonepath.engine.evaluate import evaluate
from bonepath.interop.fhir.from_record import (
    catalogue_resources,
    findings_resources,
    patient_bundle,
)
from bonepath.interop.fhir.importing import read_fhir
from bonepath.record.parse import parse_record
from bonepath.rules import load_catalogue

TODAY = dt.date(2026, 11, 23)

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
