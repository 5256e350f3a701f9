"""Uploads: records validated like ``bonepath import``, refused with reasons by JSON path,
and refused when their hospital is not the uploader's."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from bonepath.store.repository import Store

from .support import due_patient, login


def ndjson(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def test_upload_accepts_good_records_and_refuses_the_rest_with_reasons(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    good = due_patient("A-NEW", "HA")
    bad = due_patient("A-BAD", "HA")
    bad["events"]["labs"][0]["unit"] = "mg/L"
    foreign = due_patient("B-NEW", "HB")
    response = client.post(
        "/api/imports",
        files={"file": ("batch.ndjson", ndjson(good, bad, foreign), "application/x-ndjson")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200
    report = response.json()
    assert (report["imported"], report["refused"]) == (1, 2)
    assert report["accepted"] == [
        {"source": "his", "id": "A-NEW", "hospital": "HA", "status": "imported"}
    ]
    refusals = {r["id"]: r["errors"][0] for r in report["refusals"]}
    assert refusals["A-BAD"]["path"] == "/events/labs/0/unit"
    assert refusals["B-NEW"]["code"] == "HOSPITAL_NOT_GRANTED"
    assert store.get_record("his", "A-NEW") is not None
    assert store.get_record("his", "B-NEW") is None


def test_upload_cannot_overwrite_a_patient_of_another_hospital(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    moved = due_patient("B-ONE", "HA")  # B's patient, claimed for hospital A
    response = client.post(
        "/api/imports",
        files={"file": ("one.json", orjson.dumps(moved), "application/json")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.json()["refusals"][0]["errors"][0]["code"] == "HOSPITAL_NOT_GRANTED"
    record = store.get_record("his", "B-ONE")
    assert record is not None and record.hospital is not None and record.hospital.id == "HB"


def test_upload_of_an_unknown_file_kind_is_refused(client: TestClient) -> None:
    csrf = login(client, "doc_a")
    response = client.post(
        "/api/imports",
        files={"file": ("notes.txt", b"hello", "text/plain")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert "not an importable file" in response.json()["errors"][0]["problem"]


def test_nurses_may_not_import(client: TestClient) -> None:
    csrf = login(client, "nurse_a")
    response = client.post(
        "/api/imports",
        files={"file": ("a.json", orjson.dumps(due_patient("A-X")), "application/json")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403


def test_upload_refuses_nul_control_characters_and_deep_json_and_keeps_the_rest(
    client: TestClient, store: Store
) -> None:
    """Issue 13 items 4, 5, 12: a NUL id used to fail the upload on PostgreSQL (500), a deep
    record to raise RecursionError (500); each is now one refusal, the good record stored."""
    csrf = login(client, "doc_a")
    good = due_patient("A-NEW", "HA")
    nul = due_patient("A-\x00", "HA")
    newline = due_patient("A-2\n", "HA")
    deep = due_patient("A-DEEP", "HA")
    deep["hospital"]["name"] = "NAME"
    deep_line = orjson.dumps(deep).replace(b'"NAME"', b"[" * 1000 + b"]" * 1000) + b"\n"
    response = client.post(
        "/api/imports",
        files={
            "file": ("b.ndjson", ndjson(good, nul, newline) + deep_line, "application/x-ndjson")
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["refused"]) == (1, 3)
    codes = [(r["errors"][0]["path"], r["errors"][0]["code"]) for r in report["refusals"]]
    assert codes == [
        ("/id", "CONTROL_CHARACTER"),
        ("/id", "CONTROL_CHARACTER"),
        ("/hospital/name" + "/0" * 30, "TOO_DEEP"),
    ]
    assert store.get_record("his", "A-NEW") is not None
