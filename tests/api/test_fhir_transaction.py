"""``POST /fhir`` of a ``transaction`` or ``batch`` Bundle as FHIR R4 specifies it (RESTful
API, "transaction"), driven by fhirpy and fhirclient against a real uvicorn server (issue 18):
a ``transaction-response`` Bundle with one entry per request entry, all or nothing, and ids as
the client sent them (``PUT Patient/f001`` is read back as ``Patient/f001``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhirclient import client as smart
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as FhirpyOutcome

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store
from interop.fhir.support import bundle, lab, lung_cancer, patient

from .serving import serve
from .support import AS_OF


@pytest.fixture
def server(store: Store, db_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with serve(app) as base:
        yield base + "/fhir"


@pytest.fixture
def admin(store: Store) -> str:
    return f"Bearer {accounts.create_api_token(store.engine, 'admin', 'fhir-tx')}"


def _transaction() -> dict[str, Any]:
    """The spec's shape: each entry a fullUrl, the resource and ``request`` (PUT type/id)."""
    return bundle(
        [patient("f001"), lung_cancer("f001"), lab("f001", "2160-0", 1.1, "mg/dL")],
        "transaction",
    )


def test_fhirpy_transaction_answers_a_transaction_response(
    server: str, admin: str, store: Store
) -> None:
    client = SyncFHIRClient(server, authorization=admin)

    answer = client.execute("", method="post", data=_transaction())

    assert (answer["resourceType"], answer["type"]) == ("Bundle", "transaction-response")
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created"] * 3
    assert answer["entry"][0]["response"]["location"] == "Patient/f001"
    assert store.get_record("fhir", "f001") is not None

    again = client.execute("", method="post", data=_transaction())
    assert [e["response"]["status"] for e in again["entry"]] == ["200 OK"] * 3

    # the id the client chose reads the patient back, through both clients
    assert client.reference("Patient", "f001").to_resource()["birthDate"] == "1958-03-02"
    smart_client = smart.FHIRClient(settings={"app_id": "bonepath-tests", "api_base": server + "/"})
    smart_client.server.session.headers["Authorization"] = admin
    read = SmartPatient.read("f001", smart_client.server)
    assert (read.id, read.gender) == ("f001", "male")
    found = client.resources("Patient").search(_id="f001").fetch()
    assert [p["id"] for p in found] == ["f001"]
    labs = client.resources("Observation").search(patient="Patient/f001").fetch()
    assert [o["valueQuantity"]["value"] for o in labs] == [1.1]
    # the id such a patient had before (source.id) still reads it
    legacy = httpx.get(f"{server}/Patient/fhir.f001", headers={"Authorization": admin})
    assert legacy.status_code == 200 and legacy.json()["id"] == "f001"


def test_a_transaction_that_cannot_be_applied_whole_stores_nothing(
    server: str, admin: str, store: Store
) -> None:
    tx = bundle(
        [
            patient("ok"),
            lung_cancer("ok"),
            patient("bad"),
            lung_cancer("bad"),
            lab("bad", "2160-0", 1.1, "mmol"),
        ],
        "transaction",
    )
    client = SyncFHIRClient(server, authorization=admin)

    with pytest.raises(FhirpyOutcome) as raised:
        client.execute("", method="post", data=tx)
    response = httpx.post(server, json=tx, headers={"Authorization": admin})

    assert response.status_code == 422
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert raised.value.resource["resourceType"] == "OperationOutcome"
    assert {i["severity"] for i in body["issue"]} == {"error"}
    assert ["Bundle.entry[4].resource.valueQuantity.code"] in [
        i.get("expression") for i in body["issue"]
    ]
    text = response.text
    assert "None/None" not in text and "bonepath-fhir-" not in text and "/tmp" not in text
    assert store.get_record("fhir", "ok") is None and store.get_record("fhir", "bad") is None


def test_a_transaction_with_a_delete_is_refused_before_anything_is_stored(
    server: str, admin: str, store: Store
) -> None:
    tx = _transaction()
    tx["entry"].append({"request": {"method": "DELETE", "url": "Patient/other"}})

    response = httpx.post(server, json=tx, headers={"Authorization": admin})

    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "not-supported"
    assert store.get_record("fhir", "f001") is None


def test_a_batch_answers_each_entry_on_its_own(server: str, admin: str, store: Store) -> None:
    batch = _transaction()
    batch["type"] = "batch"
    batch["entry"].append(
        {
            "resource": {"resourceType": "Organization", "id": "o1", "name": "Elsewhere"},
            "request": {"method": "PUT", "url": "Organization/o1"},
        }
    )
    batch["entry"].append({"request": {"method": "DELETE", "url": "Patient/other"}})

    response = httpx.post(server, json=batch, headers={"Authorization": admin})

    assert response.status_code == 200
    entries = response.json()["entry"]
    assert response.json()["type"] == "batch-response"
    assert [e["response"]["status"] for e in entries] == [
        "201 Created",
        "201 Created",
        "201 Created",
        "200 OK",
        "405 Method Not Allowed",
    ]
    assert "not stored" in entries[3]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert (
        "GET Condition?patient=Patient/f001"
        in (entries[1]["response"]["outcome"]["issue"][0]["diagnostics"])
    )
