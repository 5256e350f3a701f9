"""``/fhir`` searches as FHIR R4 defines them, driven by two independent clients (fhirpy and
fhirclient) and by plain HTTP against a real uvicorn server (issue 18 item 2): every
parameter of the CapabilityStatement applied (never silently ignored), the others refused
under ``Prefer: handling=strict`` and left out of the self link, ``_count`` 0,
``_summary=count``, ``_sort``, ``_elements``, paging, ``POST _search``, date prefixes, 406 for
XML and an OperationOutcome for every error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhirclient import client as smart
from fhirclient.models.observation import Observation as SmartObservation
from fhirpy import SyncFHIRClient

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store

from .serving import serve
from .support import AS_OF

LOINC = "http://loinc.org"


@pytest.fixture
def server(store: Store, db_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with serve(app) as base:
        yield base + "/fhir"


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, 'doc_a', 't')}"}


def _fhirpy(server: str, headers: dict[str, str]) -> SyncFHIRClient:
    return SyncFHIRClient(server, authorization=headers["Authorization"])


def _observations(server: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{server}/Observation", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_fhirpy_searches_observations_by_code_and_date_and_counts(
    server: str, headers: dict[str, str]
) -> None:
    fhir = _fhirpy(server, headers)
    everything = fhir.resources("Observation").search(patient="Patient/his.A-RENAL")
    creatinine = everything.search(code=f"{LOINC}|2160-0")

    found = creatinine.fetch_all()
    total = everything.count()  # fhirpy sends _count=0
    recent = creatinine.search(date="ge2026-10-01").fetch_all()
    newest_first = creatinine.sort("-date").limit(2).fetch()

    assert len(found) == 5 and creatinine.count() == 5 < total
    assert {c["code"] for o in found for c in o["code"]["coding"]} >= {"2160-0"}
    assert [o["effectiveDateTime"][:10] for o in recent] == ["2026-10-06", "2026-10-30"]
    assert [o["effectiveDateTime"][:10] for o in newest_first] == ["2026-10-30", "2026-10-06"]


def test_fhirclient_pages_through_a_code_search(server: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "t")
    client = smart.FHIRClient(settings={"app_id": "bonepath-tests", "api_base": server + "/"})
    client.server.session.headers["Authorization"] = f"Bearer {token}"
    client.prepare()
    search = SmartObservation.where(
        struct={"patient": "Patient/his.A-RENAL", "code": f"{LOINC}|2160-0", "_count": "2"}
    )

    found = list(search.perform_resources_iter(client.server))  # follows the next links

    assert len(found) == 5
    assert {float(o.valueQuantity.value) for o in found} == {1.7}


def test_summary_count_elements_and_the_self_link(server: str, headers: dict[str, str]) -> None:
    counted = _observations(server, headers, patient="his.A-RENAL", _summary="count")
    zero = _observations(server, headers, patient="his.A-RENAL", _count="0")
    slim = _observations(server, headers, patient="his.A-RENAL", _elements="code", _count="1")
    ignored = _observations(server, headers, patient="his.A-RENAL", _include="Observation:x")

    assert counted["total"] == zero["total"] > 5 and "entry" not in counted and "entry" not in zero
    [entry] = slim["entry"]
    assert set(entry["resource"]) == {"resourceType", "id", "meta", "code"}
    self_link = next(link["url"] for link in ignored["link"] if link["relation"] == "self")
    assert "_include" not in self_link and "patient=his.A-RENAL" in self_link


def test_strict_handling_refuses_an_unsupported_parameter(
    server: str, headers: dict[str, str]
) -> None:
    response = httpx.get(
        f"{server}/Observation",
        params={"patient": "his.A-RENAL", "value-quantity": "gt1"},
        headers={**headers, "Prefer": "handling=strict"},
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "value-quantity" in response.json()["issue"][0]["diagnostics"]


def test_post_search_is_the_same_search(server: str, headers: dict[str, str]) -> None:
    posted = httpx.post(
        f"{server}/Observation/_search",
        data={"patient": "Patient/his.A-RENAL", "code": "2160-0"},
        headers=headers,
    )
    assert posted.status_code == 200
    assert posted.json()["total"] == 5


def test_birthdate_prefixes(server: str, store: Store) -> None:
    admin = accounts.create_api_token(store.engine, "admin", "t")
    headers = {"Authorization": f"Bearer {admin}"}

    def total(value: str) -> int:
        response = httpx.get(f"{server}/Patient", params={"birthdate": value}, headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    assert total("ge1950-01-01") == total("1960") == total("1960-03") == 3
    assert total("lt1960-03-15") == total("gt1960-03-15") == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/Observation?patient=his.A-RENAL&_count=-1", 400),
        ("/Observation?patient=his.A-RENAL&_count=abc", 400),
        ("/Observation?patient=his.A-RENAL&date=yesterday", 400),
        ("/Bogus", 404),
        ("/Observation/his.A-RENAL-obs-999", 404),
        ("/Patient?identifier=%00", 422),  # the edge's refusal (issue 13), as FHIR's body
        ("/Patient?_offset=99999999999999999999", 400),
    ],
)
def test_every_error_is_an_operation_outcome(
    server: str, headers: dict[str, str], path: str, status: int
) -> None:
    response = httpx.get(server + path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_no_token_is_a_401_operation_outcome(server: str) -> None:
    response = httpx.get(f"{server}/Patient/his.A-DUE")
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"


@pytest.mark.parametrize(
    ("params", "accept"),
    [({"_format": "xml"}, None), ({}, "application/fhir+xml"), ({}, "text/xml")],
)
def test_xml_is_406(
    server: str, headers: dict[str, str], params: dict[str, str], accept: str | None
) -> None:
    extra = {"Accept": accept} if accept else {}
    response = httpx.get(f"{server}/Patient/his.A-DUE", params=params, headers=headers | extra)
    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_capability_statement_lists_what_is_served(server: str) -> None:
    rest = httpx.get(f"{server}/metadata").json()["rest"][0]
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    assert {p["name"] for p in observation["searchParam"]} >= {"patient", "code", "date"}
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}


def test_fhirpy_includes_the_patient_of_medication_requests(
    server: str, headers: dict[str, str]
) -> None:
    fhir = _fhirpy(server, headers)
    search = fhir.resources("MedicationRequest").search(patient="Patient/his.A-RENAL")

    bundle = search.include("MedicationRequest", "patient").fetch_raw()

    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]]
    assert ("Patient", "include") in modes and ("MedicationRequest", "match") in modes
    assert bundle["total"] == sum(1 for _, mode in modes if mode == "match")
    assert "_include=MedicationRequest%3Apatient" in bundle["link"][0]["url"]


def test_fhirclient_includes_the_patient_of_observations(server: str, store: Store) -> None:
    from fhirclient.models.bundle import Bundle as SmartBundle

    token = accounts.create_api_token(store.engine, "doc_a", "t")
    client = smart.FHIRClient(settings={"app_id": "bonepath-tests", "api_base": server + "/"})
    client.server.session.headers["Authorization"] = f"Bearer {token}"
    search = SmartObservation.where(
        struct={
            "patient": "Patient/his.A-RENAL",
            "code": f"{LOINC}|2160-0",
            "_include": "Observation:patient",
        }
    )

    [bundle] = list(search.perform_iter(client.server))  # one page: 5 matches

    assert isinstance(bundle, SmartBundle)
    included = [e.resource for e in bundle.entry if e.search.mode == "include"]
    assert [(r.resource_type, r.id) for r in included] == [("Patient", "his.A-RENAL")]
    assert bundle.total == 5


def test_every_search_parameter_and_include_of_the_capability_statement_runs(
    server: str, headers: dict[str, str]
) -> None:
    """The CapabilityStatement is accurate: under strict handling (which refuses what is not
    implemented), each declared parameter and _include of each type is accepted, and each
    declared operation exists."""
    statement = httpx.get(f"{server}/metadata").json()
    values = {
        "patient": "Patient/his.A-RENAL",
        "subject": "Patient/his.A-RENAL",
        "_id": "x",
        "code": "2160-0",
        "date": "ge2026-01-01",
        "identifier": "x",
        "gender": "male",
        "birthdate": "ge1950",
    }
    strict = {**headers, "Prefer": "handling=strict"}
    for resource in statement["rest"][0]["resource"]:
        kind = resource["type"]
        if "search-type" not in {i["code"] for i in resource["interaction"]}:
            continue
        base = {"patient": values["patient"]} if kind not in ("Patient", "PlanDefinition") else {}
        for param in resource.get("searchParam", []):
            name = param["name"]
            answer = httpx.get(
                f"{server}/{kind}", params={**base, name: values[name]}, headers=strict
            )
            assert answer.status_code == 200, (kind, name, answer.text)
        for include in resource.get("searchInclude", []):
            answer = httpx.get(
                f"{server}/{kind}", params={**base, "_include": include}, headers=strict
            )
            assert answer.status_code == 200, (kind, include, answer.text)
    wrong = httpx.get(
        f"{server}/Observation",
        params={"patient": "his.A-RENAL", "_include": "Observation:performer"},
        headers=strict,
    )
    assert wrong.status_code == 400
    kinds = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {o["name"] for o in statement["rest"][0]["operation"]} == {"export"}
    assert {o["name"] for o in kinds["Group"]["operation"]} == {"export"}
    for url in (f"{server}/$export", f"{server}/Patient/$export", f"{server}/Group/HA/$export"):
        assert httpx.get(url, headers=headers).status_code == 400  # exists: asks respond-async


def test_patient_name_is_refused_under_strict_handling_and_left_out_of_the_self_link(
    server: str, headers: dict[str, str]
) -> None:
    """Issue 18: ``Patient?name=`` was silently ignored (the self link repeated it)."""
    strict = httpx.get(
        f"{server}/Patient",
        params={"name": "Zhang"},
        headers={**headers, "Prefer": "handling=strict"},
    )
    lenient = httpx.get(
        f"{server}/Patient", params={"name": "Zhang", "gender": "male"}, headers=headers
    )

    assert strict.status_code == 400 and "name" in strict.json()["issue"][0]["diagnostics"]
    self_link = next(x["url"] for x in lenient.json()["link"] if x["relation"] == "self")
    assert "name=" not in self_link and "gender=male" in self_link
