"""What the FHIR import skips, and why (issue 18 item 3): a resource of a type bonepath does
not read is skipped whatever it holds, never refused (valid R4 that the R4B models refuse, such
as a CodeSystem with ``_valueString`` in an extension), and a skip reason names its cause."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bonepath.interop.fhir.importing import read_fhir
from bonepath.interop.fhir.read import USED_TYPES
from bonepath.interop.fhir.to_record import _HANDLERS, _REFERENCED, SKIP_UNUSED_TYPE
from interop.fhir.support import bundle, lung_cancer, patient

TODAY = dt.date(2026, 11, 23)


def _code_system(n: int) -> dict[str, Any]:
    """As in the HL7 R4 example package: a translation of an extension's string value."""
    return {
        "resourceType": "CodeSystem",
        "id": f"cs{n}",
        "url": f"http://example.org/CodeSystem/cs{n}",
        "status": "active",
        "content": "complete",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-wg",
                "valueString": "Vocab",
                "_valueString": {
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/translation",
                            "extension": [
                                {"url": "lang", "valueCode": "de"},
                                {"url": "content", "valueString": "Vokabular"},
                            ],
                        }
                    ]
                },
            }
        ],
    }


def _read(tmp_path: Path, resources: list[dict[str, Any]]) -> Any:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(resources)), encoding="utf-8")
    return read_fhir([path], today=TODAY)


def test_code_systems_with_value_string_extensions_are_skipped_not_refused(
    tmp_path: Path,
) -> None:
    encounter = {  # a type bonepath does not read, about the patient, with what R4B refuses
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "_status": {"extension": [{"url": "http://example.org/x", "_valueString": {}}]},
    }
    mapped = _read(
        tmp_path,
        [patient("p1"), lung_cancer("p1"), encounter, *(_code_system(n) for n in range(48))],
    )

    assert mapped.refused_items == []
    assert [r.problems for r in mapped.records] == [()]
    assert mapped.skipped[("CodeSystem", SKIP_UNUSED_TYPE)] == 48
    assert mapped.skipped[("Encounter", SKIP_UNUSED_TYPE)] == 1


def test_a_malformed_resource_of_a_type_bonepath_reads_is_still_refused(tmp_path: Path) -> None:
    cancer = lung_cancer("p1")
    cancer["onsetDateTime"] = {"not": "a date"}

    mapped = _read(tmp_path, [patient("p1"), cancer])

    assert [p.code for r in mapped.records for p in r.problems] == ["FHIR_MALFORMED"]


def test_an_nsclc_condition_without_onset_says_no_onset_date(tmp_path: Path) -> None:
    cancer = lung_cancer("p1", code="254637007")  # non-small cell lung cancer
    del cancer["onsetDateTime"]

    mapped = _read(tmp_path, [patient("p1"), cancer])

    assert mapped.records == []
    [(kind, reason)] = [k for k in mapped.skipped if k[0] == "Condition"]
    assert "no onset date" in reason and "no lung-cancer Condition" not in reason


def test_every_type_the_mapping_reads_is_validated() -> None:
    assert {*_HANDLERS, *_REFERENCED, "Patient"} <= USED_TYPES
