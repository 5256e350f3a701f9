"""`bonepath import` of FHIR as a user runs it: a bulk-export directory and a Bundle."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bonepath.cli.main import app
from interop.fhir.support import bundle, lab, lung_cancer, patient

SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea-10-patients"


def _run(tmp_path: Path, *args: str) -> object:
    env = {"BONEPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    return CliRunner().invoke(app, list(args), env=env)


def test_a_bulk_export_directory_prints_what_was_skipped_and_why(tmp_path: Path) -> None:
    result = _run(tmp_path, "import", str(SYNTHEA))

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    lines = result.stdout.strip().splitlines()  # type: ignore[attr-defined]
    assert lines[-1] == "imported 1, updated 0, unchanged 0, refused 0"
    assert (
        "skipped 43 FHIR Organization: not about a patient (bonepath keeps patient records only)"
        in lines
    )
    assert "skipped 12 FHIR Patient: patient out of scope: no lung-cancer Condition" in lines


def test_a_refused_fhir_patient_exits_2_with_the_fhir_path(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    bad = lab("p1", "17861-6", 9.2, "mg")  # calcium in mg: not a concentration
    path.write_text(json.dumps(bundle([patient("p1"), lung_cancer("p1"), bad])), encoding="utf-8")

    result = _run(tmp_path, "import", str(path), "--format", "json")

    assert result.exit_code == 2  # type: ignore[attr-defined]
    out = json.loads(result.stdout)  # type: ignore[attr-defined]
    [refusal] = out["refusals"]
    assert refusal["id"] == "p1"
    # "mg" is a UCUM unit, so the mapping passes it on and the record's unit check refuses it,
    # located both in the record and in the FHIR resource
    [error] = refusal["errors"]
    assert (error["path"], error["code"], error["accepted"]) == (
        "/events/labs/0/unit",
        "UNKNOWN_UNIT",
        ["mmol/L", "mg/dL"],
    )
    assert error["fhir_path"] == "Bundle.entry[2].resource.valueQuantity.code"
    assert (tmp_path / "bundle.rejects.ndjson").exists()
