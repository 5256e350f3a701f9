"""`bonepath export --format fhir|ndjson` (issue 18 item 4): a patient, a hospital or everything,
and what it writes reads back through `bonepath import` as the same records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.record.parse import parse_record
from bonepath.store.repository import open_store
from bonepath.synth import generate_record

TODAY = dt.date(2026, 11, 23)


def _run(db: Path, *args: str) -> Any:
    env = {"BONEPATH_DATABASE_URL": f"sqlite:///{db}"}
    return CliRunner().invoke(app, list(args), env=env)


def _store(tmp_path: Path) -> tuple[Path, list[Any]]:
    db = tmp_path / "store.sqlite3"
    records = [parse_record(generate_record(i, 3), today=TODAY) for i in range(6)]
    with open_store(f"sqlite:///{db}") as store:
        store.upsert_records(records, import_source="tests")
    return db, records


def test_a_hospital_as_ndjson_imports_back_as_the_same_records(tmp_path: Path) -> None:
    db, records = _store(tmp_path)
    hospital = records[0].hospital.id
    mine = {(r.source, r.id): r for r in records if r.hospital and r.hospital.id == hospital}

    exported = _run(
        db, "export", "--format", "ndjson", "--hospital", hospital, "--out", str(tmp_path / "out")
    )
    imported = _run(tmp_path / "copy.sqlite3", "import", str(tmp_path / "out"))

    assert exported.exit_code == 0, exported.output
    assert f"exported {len(mine)} patients" in exported.stdout
    assert imported.exit_code == 0, imported.output
    with open_store(f"sqlite:///{tmp_path / 'copy.sqlite3'}") as copy:
        assert {(r.source, r.id): r for r in copy.iter_records()} == mine
    patients = (tmp_path / "out" / "Patient.ndjson").read_text().splitlines()
    assert len(patients) == len(mine)


def test_one_patient_as_a_bundle_and_an_unknown_patient(tmp_path: Path) -> None:
    db, records = _store(tmp_path)
    first = records[0]

    written = _run(
        db,
        "export",
        "--format",
        "fhir",
        "--patient",
        f"{first.source}/{first.id}",
        "--out",
        str(tmp_path / "one.json"),
    )
    missing = _run(db, "export", "--patient", "synth/NOPE", "--out", str(tmp_path / "x"))

    assert written.exit_code == 0, written.output
    data = json.loads((tmp_path / "one.json").read_text())
    assert data["resourceType"] == "Bundle" and data["type"] == "collection"
    patients = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert [p["identifier"][0]["value"] for p in patients] == [first.id]
    assert missing.exit_code == 1 and "synth/NOPE" in missing.output
