"""The FHIR import in constant memory (issue 18 item 3): a patient's resources brought together
through an on-disk spill, never the whole input in memory; a Bundle too large to decode at
once read entry by entry with the same result."""

from __future__ import annotations

import datetime as dt
import gc
import json
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonepath.interop import importer
from bonepath.interop.fhir import memo, stream
from bonepath.interop.fhir.from_record import patient_resources
from bonepath.interop.fhir.importing import read_fhir
from bonepath.interop.fhir.to_record import SKIP_UNUSED_TYPE
from bonepath.interop.importer import import_paths
from bonepath.record.parse import parse_record
from bonepath.store.repository import open_store
from bonepath.synth import generate_record
from interop.fhir.support import bundle, lung_cancer, patient

TODAY = dt.date(2026, 11, 23)
TEMPLATES = 3


def _template() -> list[list[dict[str, Any]]]:
    """Three synthetic patients as bonepath exports them (Patient first)."""
    return [
        patient_resources(parse_record(generate_record(i, 0), today=TODAY))
        for i in range(TEMPLATES)
    ]


def _bulk(folder: Path, patients: int, template: list[list[dict[str, Any]]]) -> int:
    """A bulk export of ``patients`` (copies of the templates under new ids), one NDJSON file
    per resource type as a FHIR server's $export writes it."""
    folder.mkdir()
    files: dict[str, list[bytes]] = {}
    for n in range(patients):
        source = template[n % TEMPLATES]
        old = source[0]["identifier"][0]["value"]  # S0000001
        for resource in source:
            line = orjson.dumps(resource).replace(old.encode(), f"C{n:07d}".encode())
            files.setdefault(resource["resourceType"], []).append(line)
    for kind, lines in files.items():
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return sum(len(lines) for lines in files.values())


def _peak_import(tmp_path: Path, folder: Path) -> tuple[int, int]:
    store = open_store(f"sqlite:///{tmp_path / (folder.name + '.sqlite3')}")
    gc.collect()
    tracemalloc.start()
    try:
        report = import_paths(store, [folder], today=TODAY, jobs=1, chunk_size=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        store.close()
    return report.imported, peak


@pytest.mark.slow
def test_import_memory_does_not_grow_with_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the bounded caches and batches (chunk_size, below, too) set small, so that a small input reaches their bounds:
    # what is left to grow with the input is what the import holds per resource or patient
    monkeypatch.setattr(memo, "MAX_ENTRIES", 200)
    monkeypatch.setattr(stream, "REF_CACHE", 8)
    monkeypatch.setattr(stream, "SPILL_BATCH", 100)
    monkeypatch.setattr(stream, "GROUP_BATCH", 5)
    monkeypatch.setattr(importer, "PARSE_BATCH", 10)  # records validated together
    template = _template()
    small, large = tmp_path / "small", tmp_path / "large"
    resources_small = _bulk(small, 42, template)
    resources_large = _bulk(large, 126, template)
    assert resources_large == 3 * resources_small

    imported_small, peak_small = _peak_import(tmp_path, small)
    imported_large, peak_large = _peak_import(tmp_path, large)

    assert (imported_small, imported_large) == (42, 126)
    input_growth = sum(p.stat().st_size for p in large.iterdir()) - sum(
        p.stat().st_size for p in small.iterdir()
    )
    # three times the input: the peak moves by less than a tenth of the added input (the
    # in-memory import held every resource, validated: several times the input's size)
    assert peak_large - peak_small < input_growth / 10, (peak_small, peak_large, input_growth)


def _same(a: Any, b: Any) -> None:
    assert [r.data for r in a.records] == [r.data for r in b.records]
    assert [[p.path for p in r.problems] for r in a.records] == [
        [p.path for p in r.problems] for r in b.records
    ]
    assert a.skipped == b.skipped
    assert [[p.path for p in r.problems] for r in a.refused_items] == [
        [p.path for p in r.problems] for r in b.refused_items
    ]


@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_a_bundle_too_large_to_decode_at_once_is_read_entry_by_entry_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    resources = [*_template()[0], *_template()[1]]
    code_system = {
        "resourceType": "CodeSystem",
        "id": "cs",
        "status": "active",
        "content": "complete",
    }
    data = bundle([*resources, code_system], kind)
    entries = data.pop("entry")
    path = tmp_path / "big.json"
    # the Bundle's type written after its entries: the first pass finds it anyway
    text = json.dumps({"resourceType": "Bundle", "entry": entries, **data})
    path.write_text(text, encoding="utf-8")

    whole = read_fhir([path], today=TODAY)
    monkeypatch.setattr(stream, "WHOLE_FILE_BYTES", 0)
    streamed = read_fhir([path], today=TODAY)

    _same(whole, streamed)
    assert len(streamed.records) == 2
    assert streamed.skipped[("CodeSystem", SKIP_UNUSED_TYPE)] == 1


def test_a_patients_resources_before_its_patient_and_across_files_are_one_record(
    tmp_path: Path,
) -> None:
    (tmp_path / "Condition.ndjson").write_bytes(orjson.dumps(lung_cancer("p1")) + b"\n")
    (tmp_path / "Patient.ndjson").write_bytes(
        orjson.dumps(patient("p2")) + b"\n" + orjson.dumps(patient("p1")) + b"\n"
    )
    (tmp_path / "z.ndjson").write_bytes(orjson.dumps(lung_cancer("p2")) + b"\n")

    mapped = read_fhir(sorted(tmp_path.glob("*.ndjson")), today=TODAY)

    # Patients in the order they came (p2 first), each with its cancer from another file
    assert [r.data["id"] for r in mapped.records] == ["p2", "p1"]
    assert all(r.data["cancer"]["diagnosis_date"] == "2026-01-05" for r in mapped.records)


def test_a_second_patient_with_the_same_id_is_skipped_with_that_reason(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps(bundle([patient("p1"), lung_cancer("p1"), patient("p1", born="1960-01-01")])),
        encoding="utf-8",
    )

    mapped = read_fhir([path], today=TODAY)

    assert [r.data["birth_date"] for r in mapped.records] == ["1958-03-02"]
    assert mapped.skipped[("Patient", stream.SKIP_DUPLICATE_PATIENT)] == 1


@pytest.mark.slow
def test_worker_processes_map_and_validate_as_the_importing_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the mapping workers validate each record where it was mapped (the importing process only
    # writes): same stored documents, same refusal with the parser's problem as with no workers
    monkeypatch.setattr(stream, "POOL_AFTER", 0)
    monkeypatch.setattr(stream, "GROUP_BATCH", 3)
    folder = tmp_path / "bulk"
    _bulk(folder, 9, _template())
    observations = folder / "Observation.ndjson"
    lines = observations.read_bytes().splitlines()
    first = next(  # a laboratory value of C0000000, moved after today
        n
        for n, line in enumerate(lines)
        if b"C0000000" in line and b'"laboratory"' in line and b"effectiveDateTime" in line
    )
    future = orjson.loads(lines[first])
    future["effectiveDateTime"] = "2027-01-05"
    lines[first] = orjson.dumps(future)
    observations.write_bytes(b"\n".join(lines) + b"\n")

    def run(jobs: int) -> tuple[Any, list[tuple[str, str]]]:
        store = open_store(f"sqlite:///{tmp_path / f'jobs{jobs}.sqlite3'}")
        try:
            report = import_paths(store, [folder], today=TODAY, jobs=jobs)
            stored = sorted(
                (r.id, orjson.dumps(r.to_json_dict(), option=orjson.OPT_SORT_KEYS).decode())
                for r in store.iter_records()
            )
        finally:
            store.close()
        return report, stored

    alone, stored_alone = run(1)
    pooled, stored_pooled = run(2)
    assert (alone.imported, alone.refused) == (pooled.imported, pooled.refused) == (8, 1)
    assert stored_pooled == stored_alone
    assert [r.id for r in pooled.refusals] == [r.id for r in alone.refusals] == ["C0000000"]
    codes = [e["code"] for e in pooled.refusals[0].errors]
    assert "FUTURE_DATE" in codes
    assert pooled.refusals[0].errors == alone.refusals[0].errors
