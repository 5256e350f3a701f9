"""``/fhir`` through the SMART on FHIR client library (fhirclient) against a real uvicorn
server on a free port: CapabilityStatement, Patient read/search, the resources of a patient,
its findings as FHIR, tenancy and authentication."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhirclient import client as smart
from fhirclient.models.careteam import CareTeam
from fhirclient.models.communicationrequest import CommunicationRequest
from fhirclient.models.condition import Condition
from fhirclient.models.medicationadministration import MedicationAdministration
from fhirclient.models.organization import Organization
from fhirclient.models.patient import Patient
from fhirclient.models.plandefinition import PlanDefinition
from fhirclient.server import FHIRNotFoundException

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store
from interop.fhir.support import bundle, lab, lung_cancer, patient

from .serving import serve
from .support import AS_OF


@pytest.fixture
def server(store: Store, db_url: str) -> Iterator[str]:
    """The app served by uvicorn; yields the FHIR base URL."""
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with serve(app) as base:
        yield base + "/fhir/"


def _client(base: str, engine: Any, user: str = "doc_a") -> smart.FHIRClient:
    token = accounts.create_api_token(engine, user, "fhir-test")
    client = smart.FHIRClient(settings={"app_id": "bonepath-tests", "api_base": base})
    client.server.session.headers["Authorization"] = f"Bearer {token}"
    client.prepare()
    return client


def test_fhirclient_reads_patients_their_resources_and_findings(server: str, store: Store) -> None:
    client = _client(server, store.engine)
    fhir = client.server

    rest = fhir.capabilityStatement.rest[0]
    assert {r.type for r in rest.resource} >= {
        "Patient",
        "Condition",
        "DetectedIssue",
        "PlanDefinition",
    }

    patient = Patient.read("his.A-DUE", fhir)
    assert (patient.gender, patient.birthDate.isostring) == ("male", "1960-03-15")
    assert [(i.system, i.value) for i in patient.identifier] == [
        ("http://bonepath.org/fhir/patient/his", "A-DUE")
    ]

    # doc_a is granted hospital HA only: B-ONE (hospital HB) is not found
    males = list(Patient.where(struct={"gender": "male"}).perform_resources_iter(fhir))
    assert sorted(p.id for p in males) == ["his.A-DUE", "his.A-RENAL"]
    with pytest.raises(FHIRNotFoundException):
        Patient.read("his.B-ONE", fhir)

    doses = list(
        MedicationAdministration.where(
            struct={"patient": "Patient/his.A-DUE"}
        ).perform_resources_iter(fhir)
    )
    assert [
        (d.effectiveDateTime.as_json(), float(d.dosage.dose.value), d.dosage.dose.code)
        for d in doses
    ] == [
        ("2026-07-16", 4.0, "mg"),
        ("2026-08-13", 4.0, "mg"),
        ("2026-09-10", 4.0, "mg"),
        ("2026-10-08", 4.0, "mg"),
    ]
    assert {c.system for d in doses for c in d.medicationCodeableConcept.coding} == {
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://bonepath.org/fhir/CodeSystem/drug",
    }
    conditions = list(Condition.where(struct={"patient": "his.A-DUE"}).perform_resources_iter(fhir))
    assert sorted(c.code.coding[0].code for c in conditions) == ["254626006", "94222008"]
    again = Condition.read(conditions[0].id, fhir)
    assert again.id == conditions[0].id

    # the next zoledronic acid dose (due 2026-11-05, ADH-01) as a CommunicationRequest
    reminders = list(
        CommunicationRequest.where(struct={"patient": "his.A-DUE"}).perform_resources_iter(fhir)
    )
    adh = [r for r in reminders if r.reasonCode[0].coding[0].code == "ADH-01"]
    assert [r.occurrenceDateTime.as_json() for r in adh] == ["2026-11-05"]
    assert any(x.url.endswith("/source") for x in adh[0].extension)

    plans = list(PlanDefinition.where(struct={}).perform_resources_iter(fhir))
    assert "rule.BTA-09" in {p.id for p in plans}


def test_fhirclient_follows_the_patient_to_its_hospital_and_care_team(
    server: str, store: Store
) -> None:
    fhir = _client(server, store.engine).server

    patient = Patient.read("his.A-DUE", fhir)
    hospital = Organization.read(patient.managingOrganization.reference.split("/")[1], fhir)
    [team] = CareTeam.where(struct={"patient": "Patient/his.A-DUE"}).perform_resources_iter(fhir)
    department = Organization.read(team.participant[0].member.reference.split("/")[1], fhir)

    assert [(i.system, i.value) for i in hospital.identifier] == [
        ("http://bonepath.org/fhir/hospital", "HA")
    ]
    assert hospital.name == "Hospital HA"
    assert [(x.url.rsplit("/", 1)[1], x.valueCode) for x in hospital.extension] == [
        ("city-tier", "tier1-2")
    ]
    assert [c.code for c in department.type[0].coding] == ["dept", "oncology"]
    assert department.partOf.reference == f"Organization/{hospital.id}"
    rest = fhir.capabilityStatement.rest[0]
    served = {r.type: {i.code for i in r.interaction} for r in rest.resource}
    assert served["Organization"] == {"read"} and "search-type" in served["CareTeam"]
    # the hospital of a patient of another hospital is not found, as the patient is not
    with pytest.raises(FHIRNotFoundException):
        Organization.read(hospital.id.replace("A-DUE", "B-ONE"), fhir)


def test_fhir_needs_a_token_but_metadata_is_public(server: str) -> None:
    assert httpx.get(server + "metadata").json()["resourceType"] == "CapabilityStatement"
    refused = httpx.get(server + "Patient/his.A-DUE")
    assert refused.status_code == 401


def test_unknown_resource_is_an_operation_outcome(server: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "fhir-test")
    response = httpx.get(
        server + "Observation/his.A-DUE-obs-999", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_post_of_a_batch_answers_a_batch_response_with_the_refused_entry_outcome(
    server: str, store: Store
) -> None:
    bad = lab("bad", "2160-0", 1.1, "mmol")
    resources = [
        patient("good"),
        lung_cancer("good"),
        lab("good", "2160-0", 1.1, "mg/dL"),
        patient("bad", gender="female"),
        lung_cancer("bad"),
        bad,
    ]
    batch = bundle(resources, "batch")
    for entry in batch["entry"]:  # FHIR R4: every batch entry has a request
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    admin = accounts.create_api_token(store.engine, "admin", "fhir-import")

    response = httpx.post(
        server.rstrip("/"),
        json=batch,
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/fhir+json"},
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["resourceType"], answer["type"]) == ("Bundle", "batch-response")
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["201 Created"] * 3 + ["422 Unprocessable Entity"] * 3
    assert answer["entry"][0]["response"]["location"] == "Patient/good"
    refused = answer["entry"][5]["response"]["outcome"]
    assert refused["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in refused["issue"]] == [
        ["Bundle.entry[5].resource.valueQuantity.code"]
    ]
    assert refused["issue"][0]["diagnostics"].startswith("Patient/bad: FHIR_UNMAPPED")
    assert "None" not in response.text and "bonepath-fhir-" not in response.text
    stored = store.get_record("fhir", "good")
    assert stored is not None and [x.value for x in stored.events.labs] == [1.1]
    assert store.get_record("fhir", "bad") is None


def test_post_of_a_batch_keeps_tenancy(server: str, store: Store) -> None:
    # a FHIR patient carries no hospital: a user granted only hospital HA may not import it
    doc_a = accounts.create_api_token(store.engine, "doc_a", "fhir-import")

    response = httpx.post(
        server.rstrip("/"),
        json=bundle([patient("x"), lung_cancer("x")], "batch"),
        headers={"Authorization": f"Bearer {doc_a}"},
    )

    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["422 Unprocessable Entity"] * 2
    assert "HOSPITAL_NOT_GRANTED" in entries[0]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert store.get_record("fhir", "x") is None


def test_patient_search_by_identifier_and_birthdate_with_paging(server: str, store: Store) -> None:
    admin = accounts.create_api_token(store.engine, "admin", "fhir-search")
    headers = {"Authorization": f"Bearer {admin}"}

    by_identifier = httpx.get(
        server + "Patient",
        params={"identifier": "http://bonepath.org/fhir/patient/his|A-RENAL"},
        headers=headers,
    ).json()
    first = httpx.get(
        server + "Patient", params={"birthdate": "1960-03-15", "_count": "2"}, headers=headers
    ).json()
    [next_link] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = httpx.get(next_link, headers=headers).json()

    assert [e["resource"]["id"] for e in by_identifier["entry"]] == ["his.A-RENAL"]
    assert first["total"] == second["total"] == 3
    assert [e["resource"]["id"] for e in first["entry"] + second["entry"]] == [
        "his.A-DUE",
        "his.A-RENAL",
        "his.B-ONE",
    ]
    assert not [link for link in second["link"] if link["relation"] == "next"]
