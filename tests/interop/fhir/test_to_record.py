"""FHIR import: the real outside data (Synthea bulk NDJSON, HL7 mCODE examples) and hand-made
Bundles, mapped to record v1 and stored through the one batch importer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bonepath.interop.fhir.importing import read_fhir
from bonepath.interop.importer import import_paths
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store, open_store
from interop.fhir.support import (
    bone_metastasis,
    bundle,
    lab,
    lung_cancer,
    patient,
    zoledronic_given,
)

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
SYNTHEA = DATA / "synthea-10-patients"
MCODE = DATA / "mcode-examples-v1"
TODAY = dt.date(2026, 11, 23)
LUNG_PATIENT = "129c6ac7-8d06-89de-ad63-0204a93e76c3"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".json", ".ndjson"))


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_synthea_bulk_export_keeps_the_one_lung_cancer_patient(store: Store) -> None:
    report = import_paths(store, [SYNTHEA], today=TODAY)

    assert (report.imported, report.refused) == (1, 0)
    record = store.get_record("fhir", LUNG_PATIENT)
    assert record is not None
    assert (record.sex.value, str(record.birth_date), str(record.death_date)) == (
        "female",
        "1927-05-21",
        "1989-05-09",
    )
    # 254637007 NSCLC (1984-10-31) and 424132000 "NSCLC, TNM stage 1" (1984-11-01):
    # the earliest is the diagnosis, the stage comes from the staged code
    assert str(record.cancer.diagnosis_date) == "1984-10-31"
    assert (record.cancer.histology.value, record.cancer.stage.value) == ("nsclc_nos", "I")
    assert record.bone_metastasis is None
    # 221 paclitaxel + 221 cisplatin orders on the same 221 days: one chemotherapy per day;
    # all orders are "stopped", so no cisplatin is active
    treatments = record.events.treatments
    assert len(treatments) == 221 and {t.kind.value for t in treatments} == {"chemotherapy"}
    assert record.events.medications == ()
    imaging = record.events.imaging
    assert len(imaging) == 42
    assert sum(1 for i in imaging if (i.modality.value, i.region.value) == ("ct", "chest")) == 39
    assert all(
        i.result is None for i in imaging
    )  # a Procedure says a scan was done, not its result


def test_synthea_every_resource_is_mapped_or_skipped_with_its_reason() -> None:
    mapped = read_fhir(_files(SYNTHEA), today=TODAY)

    assert dict(mapped.skipped) == {
        ("Patient", "patient out of scope: no lung-cancer Condition"): 12,
        ("Condition", "patient out of scope: no lung-cancer Condition"): 506,
        ("Encounter", "patient out of scope: no lung-cancer Condition"): 1125,
        ("MedicationRequest", "patient out of scope: no lung-cancer Condition"): 1298,
        ("Procedure", "patient out of scope: no lung-cancer Condition"): 1469,
        (
            "Condition",
            "a suspicion is not a diagnosis: bonepath needs the pathological diagnosis date",
        ): 1,
        ("Condition", "condition code not in the mapping table"): 46,
        ("Encounter", "resource type not used by bonepath"): 90,
        (
            "MedicationRequest",
            "medication not recognised (code not in the mapping table, text not a known name)",
        ): 5,
        ("Organization", "not about a patient (bonepath keeps patient records only)"): 43,
        ("Practitioner", "not about a patient (bonepath keeps patient records only)"): 43,
        ("Procedure", "procedure code not in the mapping table"): 324,
        (
            "Procedure",
            "radiotherapy without a bone target (bonepath follows radiotherapy to bone)",
        ): 221,
    }
    lines = sum(len(p.read_text().splitlines()) for p in _files(SYNTHEA))
    used = 1 + 2 + 442 + 42  # Patient, 2 lung-cancer Conditions, chemo orders, imaging procedures
    assert sum(mapped.skipped.values()) + used == lines == 5670
    assert mapped.refused_items == []


def test_mcode_examples_map_stage_histology_tnm_resection_and_performance() -> None:
    mapped = read_fhir(_files(MCODE), today=TODAY)

    assert [r.data["id"] for r in mapped.records] == ["mCODEPatientExample01"]
    record = parse_record(mapped.records[0].data, today=TODAY)
    cancer = record.cancer
    assert str(cancer.diagnosis_date) == "2019-04-01"
    # histology from the mCODE histology-morphology-behavior extension (35917007)
    assert cancer.histology is not None and cancer.histology.value == "adenocarcinoma"
    assert cancer.stage is not None and cancer.stage.value == "III"  # AJCC "3C" (IIIC)
    assert cancer.tnm == "T3N3M0"  # the clinical T, N and M category Observations
    # partial lobectomy (359615001) = the radical resection
    assert (cancer.setting, str(cancer.surgery_date)) == (cancer.setting.RESECTED, "2019-03-01")
    assert [c.value for c in record.comorbidities or ()] == ["diabetes"]
    # the ECOG and Karnofsky Observations of one day make one performance event
    assert [(str(p.date), p.ecog, p.kps) for p in record.events.performance] == [
        ("2019-04-01", 0, 90)
    ]
    assert record.bone_metastasis is None  # the secondary cancer of the example is in the brain
    skipped = dict(mapped.skipped)
    assert (
        skipped[
            ("Condition", "secondary cancer not in bone (bonepath follows bone metastasis only)")
        ]
        == 1
    )
    assert (
        skipped[
            (
                "Observation",
                "EGFR protein by immunohistochemistry is not an EGFR mutation result (cancer.drivers means a mutation)",
            )
        ]
        == 1
    )
    assert (
        skipped[
            (
                "Procedure",
                "radiotherapy without a bone target (bonepath follows radiotherapy to bone)",
            )
        ]
        == 1
    )
    assert skipped[("MedicationStatement", "resource type not used by bonepath")] == 2
    assert skipped[("Patient", "patient out of scope: no lung-cancer Condition")] == 1


def _two_patients(bad_lab: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        patient("good"),
        lung_cancer("good"),
        bone_metastasis("good"),
        lab("good", "2160-0", 1.1, "mg/dL"),
        zoledronic_given("good"),
        patient("bad", gender="female"),
        lung_cancer("bad"),
        bad_lab,
    ]


def test_a_batch_bundle_keeps_the_good_patient_and_names_the_fhir_path_of_the_bad_unit(
    store: Store, tmp_path: Path
) -> None:
    bad = lab("bad", "2160-0", 1.1, "mmol")  # not an accepted creatinine unit
    path = _write(tmp_path / "batch.json", bundle(_two_patients(bad), "batch"))

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (1, 1)
    good = store.get_record("fhir", "good")
    assert good is not None and good.bone_metastasis is not None
    assert (good.bone_metastasis.status.value, str(good.bone_metastasis.confirmed_date)) == (
        "confirmed",
        "2026-02-10",
    )
    assert [lesion.site.value for lesion in good.bone_metastasis.lesions] == ["lumbar_spine"]
    assert [
        (b.drug.value, b.dose_mg, b.route.value if b.route else None) for b in good.events.bta
    ] == [("zoledronic_acid", 4.0, "iv")]
    assert [(lab_.test.value, lab_.value, lab_.unit) for lab_ in good.events.labs] == [
        ("creatinine", 1.1, "mg/dL")
    ]
    refusal = report.refusals[0]
    assert refusal.id == "bad"
    assert [(e["path"], e["code"]) for e in refusal.errors] == [
        ("Bundle.entry[7].resource.valueQuantity.code", "FHIR_UNMAPPED")
    ]
    assert refusal.errors[0]["accepted"] == ["umol/L", "mg/dL"]


def test_a_record_problem_is_located_at_its_fhir_element(store: Store, tmp_path: Path) -> None:
    bad = lab("bad", "2160-0", 0.001, "mg/dL")  # implausible creatinine (VAL-02)
    path = _write(tmp_path / "batch.json", bundle(_two_patients(bad), "collection"))

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (1, 1)
    [error] = report.refusals[0].errors
    assert error["path"] == "/events/labs/0/value"
    assert error["fhir_path"] == "Bundle.entry[7].resource.valueQuantity.value"


def test_a_malformed_resource_refuses_its_patient_with_the_fhir_path(
    store: Store, tmp_path: Path
) -> None:
    bad = lab("bad", "2160-0", 1.1, "mg/dL")
    bad["valueQuantity"]["value"] = "1,1"  # a decimal written with a comma: not a FHIR decimal
    path = _write(tmp_path / "batch.json", bundle(_two_patients(bad), "collection"))

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (1, 1)
    assert [(e["path"], e["code"]) for e in report.refusals[0].errors] == [
        ("Bundle.entry[7].resource.valueQuantity.value", "FHIR_MALFORMED")
    ]


def test_a_transaction_bundle_is_all_or_nothing(store: Store, tmp_path: Path) -> None:
    bad = lab("bad", "2160-0", 1.1, "mmol")
    path = _write(tmp_path / "tx.json", bundle(_two_patients(bad), "transaction"))

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (0, 2)
    assert store.count_patients() == 0
    good = next(r for r in report.refusals if r.id == "good")
    assert [e["code"] for e in good.errors] == ["FHIR_TRANSACTION_REFUSED"]


def test_a_clean_transaction_bundle_is_imported_whole(store: Store, tmp_path: Path) -> None:
    good_lab = lab("bad", "14682-9", 88.0, "umol/L")
    path = _write(tmp_path / "tx.json", bundle(_two_patients(good_lab), "transaction"))

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (2, 0)
    other = store.get_record("fhir", "bad")
    assert other is not None and [(x.value, x.unit) for x in other.events.labs] == [
        (88.0, "umol/L")
    ]


def test_a_provisional_lung_cancer_is_not_a_diagnosis(tmp_path: Path) -> None:
    cancer = lung_cancer("p1")
    cancer["verificationStatus"]["coding"][0]["code"] = "provisional"
    unit = bundle([patient("p1"), cancer])

    mapped = read_fhir([_write(tmp_path / "bundle.json", unit)], today=TODAY)

    assert mapped.records == []
    assert mapped.skipped[("Condition", "patient out of scope: no lung-cancer Condition")] == 1


def test_a_result_below_the_detection_limit_refuses_and_a_missing_one_is_skipped(
    tmp_path: Path,
) -> None:
    below = lab("p1", "41171-0", 0.1, "ng/mL")
    below["valueQuantity"]["comparator"] = "<"
    absent = lab("p1", "2160-0", 1.0, "mg/dL", day="2026-02-13")
    del absent["valueQuantity"]
    absent["dataAbsentReason"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "not-performed",
            }
        ]
    }
    unit = bundle([patient("p1"), lung_cancer("p1"), absent, below])

    mapped = read_fhir([_write(tmp_path / "bundle.json", unit)], today=TODAY)

    [record] = mapped.records
    assert [(p.path, p.code) for p in record.problems] == [
        ("Bundle.entry[3].resource.valueQuantity.comparator", "FHIR_UNMAPPED")
    ]
    assert mapped.skipped[("Observation", "no result (dataAbsentReason)")] == 1
