"""Bulk Data ``$export`` as the HL7 Bulk Data Access IG describes it (issue 18 item 2): the
asynchronous kick-off (``Prefer: respond-async`` -> 202 + Content-Location), status polling
(202, then 200 with the manifest), NDJSON files, DELETE to cancel; tenancy (a user exports only
their hospitals' patients, a Group outside them does not exist); one audit row; and the files
read back by bonepath's own import give the same records (the regional registry's use)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from bonepath.api.app import create_app
from bonepath.interop.importer import import_paths
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.accounts import audit_log
from bonepath.store.repository import Store, open_store

from .serving import serve
from .support import AS_OF

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def server(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("BONEPATH_BULK_DIR", str(tmp_path / "bulk"))
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with serve(app) as base:
        yield base + "/fhir"


def _auth(store: Store, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 't')}"}


def _export(url: str, auth: dict[str, str], **params: str) -> tuple[str, dict[str, Any]]:
    """Kick off, poll until done; the status URL and the manifest."""
    kick = httpx.get(url, params=params, headers={**auth, **ASYNC})
    assert kick.status_code == 202, kick.text
    status = kick.headers["Content-Location"]
    for _ in range(200):
        polled = httpx.get(status, headers=auth)
        if polled.status_code == 200:
            return status, polled.json()
        assert polled.status_code == 202 and polled.headers["X-Progress"]
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def _lines(url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(url, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    return [orjson.loads(line) for line in response.content.splitlines() if line]


def test_a_system_export_holds_the_callers_hospitals_only(server: str, store: Store) -> None:
    doc_a = _auth(store, "doc_a")  # hospital HA: A-DUE and A-RENAL; B-ONE is HB's

    _, manifest = _export(f"{server}/$export", doc_a)

    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/$export") and manifest["error"] == []
    files = {o["type"]: o for o in manifest["output"]}
    assert {"Patient", "Condition", "Observation", "Organization"} <= set(files)
    patients = _lines(files["Patient"]["url"], doc_a)
    assert sorted(p["id"] for p in patients) == ["his.A-DUE", "his.A-RENAL"]
    assert files["Patient"]["count"] == 2
    observations = _lines(files["Observation"]["url"], doc_a)
    assert len(observations) == files["Observation"]["count"] > 0
    assert {o["subject"]["reference"] for o in observations} == {
        "Patient/his.A-DUE",
        "Patient/his.A-RENAL",
    }
    # the files need the token, and only their owner reads them
    assert httpx.get(files["Patient"]["url"]).status_code == 401
    assert httpx.get(files["Patient"]["url"], headers=_auth(store, "doc_b")).status_code == 404
    # one audit row naming the patients exported
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "fhir.export")
        ).all()
    assert len(rows) == 1 and "A-DUE" in rows[0][0] and "B-ONE" not in rows[0][0]


def test_group_and_patient_level_exports(server: str, store: Store) -> None:
    doc_a, doc_b = _auth(store, "doc_a"), _auth(store, "doc_b")

    refused = httpx.get(f"{server}/Group/HB/$export", headers={**doc_a, **ASYNC})
    _, group = _export(f"{server}/Group/HB/$export", doc_b)
    _, patient_level = _export(f"{server}/Patient/$export", doc_a, _type="Patient,Condition")

    assert refused.status_code == 404 and refused.json()["resourceType"] == "OperationOutcome"
    group_files = {o["type"]: o["url"] for o in group["output"]}
    assert [p["id"] for p in _lines(group_files["Patient"], doc_b)] == ["his.B-ONE"]
    assert "Organization" not in group_files  # the patient compartment
    assert sorted(o["type"] for o in patient_level["output"]) == ["Condition", "Patient"]
    assert httpx.get(f"{server}/Group/HB", headers=doc_b).json()["quantity"] == 1


def test_kick_off_refusals_and_cancel(server: str, store: Store) -> None:
    doc_a = _auth(store, "doc_a")

    no_prefer = httpx.get(f"{server}/$export", headers=doc_a)
    csv = httpx.get(
        f"{server}/$export", params={"_outputFormat": "text/csv"}, headers={**doc_a, **ASYNC}
    )
    bad_type = httpx.get(
        f"{server}/$export", params={"_type": "Encounter"}, headers={**doc_a, **ASYNC}
    )
    status, _ = _export(f"{server}/$export", doc_a)
    cancelled = httpx.delete(status, headers=doc_a)
    after = httpx.get(status, headers=doc_a)

    assert no_prefer.status_code == 400 and "respond-async" in no_prefer.text
    assert csv.status_code == 400 and bad_type.status_code == 400
    assert csv.json()["resourceType"] == bad_type.json()["resourceType"] == "OperationOutcome"
    assert cancelled.status_code == 202 and after.status_code == 404


def test_the_exported_files_import_into_a_registry_as_the_same_records(
    server: str, store: Store, tmp_path: Path
) -> None:
    admin = _auth(store, "doc_a")
    _, manifest = _export(f"{server}/$export", admin)
    folder = tmp_path / "download"
    folder.mkdir()
    for output in manifest["output"]:
        (folder / f"{output['type']}.ndjson").write_bytes(
            httpx.get(output["url"], headers=admin).content
        )

    with open_store(f"sqlite:///{tmp_path / 'registry.sqlite3'}") as registry:
        report = import_paths(registry, [folder], today=AS_OF, jobs=1)
        copied = {(r.source, r.id): r for r in registry.iter_records()}

    assert report.imported == 2 and report.refused == 0
    original = {(r.source, r.id): r for r in store.iter_records() if r.id.startswith("A-")}
    assert copied == original
