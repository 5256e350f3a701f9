"""CDS Hooks 2.0 as its specification writes requests, over real HTTP: a JWT with ``jku``
(the specification's example and the sandbox always send one), ``null`` prefetch values,
``hook``/``hookInstance``/patient checks, CORS for a browser client, lab units without a UCUM
system, bone-targeted agents named at product or brand level, by text or by a Medication,
and an info card wherever bonepath could not check something (issue 18)."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from bonepath.api.app import create_app
from bonepath.api.cds_hooks import ORDER_SIGN, PATIENT_VIEW, PREFETCH, CdsClient, CdsConfig
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store

from .serving import serve
from .support import AS_OF
from .test_cds_hooks import EHR_KEY, ISS, NO_DATA, OTHER_KEY, RXNORM, _draft, _jwks

JKU = "https://ehr.example.org/.well-known/jwks.json"


def _token(aud: str, *, key: Any = EHR_KEY, kid: str = "ehr-1", jku: str | None = JKU) -> str:
    """As the specification's example: ``{"alg", "typ": "JWT", "kid", "jku"}``."""
    now = int(time.time())
    claims = {
        "iss": ISS,
        "sub": "client_id",
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    headers: dict[str, Any] = {"kid": kid, "typ": "JWT"}
    if jku is not None:
        headers["jku"] = jku
    return jwt.encode(claims, key, algorithm="RS384", headers=headers)


def _app(store: Store, db_url: str, client: CdsClient | None = None) -> FastAPI:
    app = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    app.state.cds_config = CdsConfig(
        {ISS: client or CdsClient(ISS, _jwks(EHR_KEY), source="his")}, fetch_timeout_s=5
    )
    return app


@pytest.fixture
def base(store: Store, db_url: str) -> Iterator[str]:
    with serve(_app(store, db_url)) as url:
        yield url


def _post(base: str, service: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    url = f"{base}/cds-services/{service}"
    headers = {"Authorization": f"Bearer {_token(url, **kw)}", "Accept-Language": "en"}
    return httpx.post(url, json=body, headers=headers, timeout=30)


def _request(hook: str, patient: str, prefetch: dict[str, Any], **context: Any) -> dict[str, Any]:
    """A call as the specification's examples write it."""
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "context": {"userId": "Practitioner/example", "patientId": patient, **context},
        "prefetch": prefetch,
    }


def _prefetch(base: str, store: Store, patient: str) -> dict[str, Any]:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    headers = {"Authorization": f"Bearer {token}"}
    return {
        key: httpx.get(
            f"{base}/fhir/" + template.replace("{{context.patientId}}", patient), headers=headers
        ).json()
        for key, template in PREFETCH.items()
    }


def _codes(cards: list[dict[str, Any]]) -> set[str]:
    return {c["source"].get("topic", {}).get("code", "") for c in cards}


def _sign(base: str, store: Store, draft: dict[str, Any], **prefetch_edits: Any) -> list[Any]:
    prefetch = _prefetch(base, store, "his.A-RENAL")
    prefetch.update(prefetch_edits)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
    body = _request("order-sign", "his.A-RENAL", prefetch, draftOrders=bundle)
    response = _post(base, ORDER_SIGN, body)
    assert response.status_code == 200, response.text
    cards: list[Any] = response.json()["cards"]
    return cards


# ---- authentication --------------------------------------------------------------------------


def test_a_jwt_with_jku_is_accepted_by_the_kid_of_the_local_jwks(base: str) -> None:
    response = _post(base, PATIENT_VIEW, _request("patient-view", "his.A-DUE", NO_DATA))
    assert response.status_code == 200


def test_keys_come_from_jku_only_when_it_is_on_the_allow_list(store: Store, db_url: str) -> None:
    calls: list[str] = []
    keys = FastAPI()

    @keys.get("/jwks.json")
    def jwks() -> dict[str, Any]:
        calls.append("jwks")
        return _jwks(OTHER_KEY, kid="rotated")

    with serve(keys) as keys_url:
        allowed = f"{keys_url}/jwks.json"
        client = CdsClient(ISS, _jwks(EHR_KEY), source="his", jku_allow=(allowed,))
        with serve(_app(store, db_url, client)) as url:
            body = _request("patient-view", "his.A-DUE", NO_DATA)
            fetched = _post(url, PATIENT_VIEW, body, key=OTHER_KEY, kid="rotated", jku=allowed)
            assert calls == ["jwks"]
            elsewhere = _post(
                url,
                PATIENT_VIEW,
                body,
                key=OTHER_KEY,
                kid="rotated",
                jku=f"{keys_url}/other.json",
            )
    assert fetched.status_code == 200
    assert elsewhere.status_code == 401
    assert "jku_allow" in elsewhere.json()["detail"]
    assert calls == ["jwks"]  # nothing fetched for a jku off the list


# ---- the request -----------------------------------------------------------------------------


def test_null_prefetch_values_are_no_data_not_a_reason_to_drop_the_cards(
    base: str, store: Store
) -> None:
    prefetch = _prefetch(base, store, "his.A-DUE")
    prefetch.update(procedures=None, reports=None)  # the EHR has none: null (spec)

    response = _post(base, PATIENT_VIEW, _request("patient-view", "his.A-DUE", prefetch))

    assert response.status_code == 200
    assert "ADH-01" in _codes(response.json()["cards"])


def test_a_prefetch_key_left_out_without_a_fhir_server_is_412(base: str, store: Store) -> None:
    prefetch = _prefetch(base, store, "his.A-DUE")
    del prefetch["observations"]

    response = _post(base, PATIENT_VIEW, _request("patient-view", "his.A-DUE", prefetch))

    assert response.status_code == 412
    assert "observations" in response.json()["detail"]


@pytest.mark.parametrize("case", ["no hookInstance", "other hook", "other patient"])
def test_a_request_the_specification_would_not_send_is_refused(
    base: str, store: Store, case: str
) -> None:
    body = _request("patient-view", "his.A-DUE", NO_DATA)
    if case == "no hookInstance":
        del body["hookInstance"]
    elif case == "other hook":
        body["hook"] = "order-sign"
    else:
        body["prefetch"] = _prefetch(base, store, "his.A-RENAL")

    response = _post(base, PATIENT_VIEW, body)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert {"no hookInstance": "hookInstance", "other hook": "hook", "other patient": "Patient"}[
        case
    ] in detail


def test_cors_preflight_and_calls_from_a_configured_origin(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BONEPATH_CDS_CORS_ORIGINS", "https://sandbox.example.org")
    with serve(_app(store, db_url)) as url:
        service = f"{url}/cds-services/{PATIENT_VIEW}"
        preflight = httpx.options(
            service,
            headers={
                "Origin": "https://sandbox.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        discovery = httpx.get(
            f"{url}/cds-services", headers={"Origin": "https://sandbox.example.org"}
        )
        fhir = httpx.options(
            f"{url}/fhir/Patient",
            headers={
                "Origin": "https://sandbox.example.org",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        stranger = httpx.get(f"{url}/cds-services", headers={"Origin": "https://evil.example"})
        api = httpx.get(f"{url}/api/me", headers={"Origin": "https://sandbox.example.org"})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://sandbox.example.org"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert discovery.headers["access-control-allow-origin"] == "https://sandbox.example.org"
    assert fhir.status_code == 200
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in api.headers


# ---- the data as EHRs write it ---------------------------------------------------------------


def _without_ucum(prefetch: dict[str, Any], unit: str, factor: float) -> dict[str, Any]:
    """The creatinine results as {"value", "unit"} only, in ``unit``."""
    observations = copy.deepcopy(prefetch["observations"])
    for entry in observations["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity and quantity.get("code") == "mg/dL":
            entry["resource"]["valueQuantity"] = {
                "value": round(quantity["value"] * factor, 1),
                "unit": unit,
            }
    return observations


@pytest.mark.parametrize(("unit", "factor"), [("µmol/L", 88.4), ("umol/l", 88.4), ("MG/DL", 1)])
def test_lab_units_without_a_ucum_system_are_read(
    base: str, store: Store, unit: str, factor: float
) -> None:
    observations = _without_ucum(_prefetch(base, store, "his.A-RENAL"), unit, factor)

    cards = _sign(base, store, _draft("d", "his.A-RENAL", "77655", 4.0), observations=observations)

    assert "BTA-09" in _codes(cards)


def test_an_unknown_unit_gives_an_info_card_not_an_empty_answer(base: str, store: Store) -> None:
    observations = _without_ucum(_prefetch(base, store, "his.A-RENAL"), "mg/furlong", 1)

    cards = _sign(base, store, _draft("d", "his.A-RENAL", "77655", 4.0), observations=observations)

    [card] = cards
    assert card["indicator"] == "info"
    assert "mg/furlong" in card["detail"]


def _named(rid: str, medication: dict[str, Any]) -> dict[str, Any]:
    draft = _draft(rid, "his.A-RENAL", "77655", 4.0)
    del draft["medicationCodeableConcept"]
    draft.update(medication)
    return draft


@pytest.mark.parametrize(
    "medication",
    [
        {  # a product-level RxNorm code with its display
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": RXNORM,
                        "code": "9999001",
                        "display": "zoledronic acid 4 MG in 5 ML Injection",
                    }
                ]
            }
        },
        {  # a brand-level code
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": "9999002", "display": "Zometa"}]
            }
        },
        {"medicationCodeableConcept": {"text": "唑来膦酸注射液 4mg:5ml"}},  # text only, Chinese
        {
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "med",
                    "code": {"text": "Zoledronic acid 4 mg/5 mL"},
                }
            ],
            "medicationReference": {"reference": "#med"},
        },
    ],
    ids=["product", "brand", "chinese-text", "contained"],
)
def test_zoledronic_acid_is_recognised_however_the_order_names_it(
    base: str, store: Store, medication: dict[str, Any]
) -> None:
    cards = _sign(base, store, _named("d", medication))

    bta09 = next(c for c in cards if c["source"].get("topic", {}).get("code") == "BTA-09")
    action = bta09["suggestions"][0]["actions"][0]
    assert action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"][
        "value"
    ] == pytest.approx(3.3)


def test_an_unknown_drug_or_an_osteoporosis_product_gives_a_card(base: str, store: Store) -> None:
    unknown = _named("x", {"medicationCodeableConcept": {"text": "Bonefixamab 10 mg"}})
    prolia = _named(
        "p",
        {
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": "9999003", "display": "Prolia 60 MG"}]
            }
        },
    )

    [unknown_card] = _sign(base, store, unknown)
    [prolia_card] = _sign(base, store, prolia)

    assert unknown_card["indicator"] == "info"
    assert "Bonefixamab 10 mg" in unknown_card["summary"]
    assert "osteoporosis" in prolia_card["detail"]


def test_the_suggested_order_says_the_corrected_dose(base: str, store: Store) -> None:
    draft = _draft("d", "his.A-RENAL", "77655", 4.0)
    draft["dosageInstruction"][0]["text"] = "Zoledronic acid 4 mg IV over 15 min"
    draft["text"] = {"status": "generated", "div": "<div>Zoledronic acid 4 mg IV</div>"}

    cards = _sign(base, store, draft)

    bta09 = next(c for c in cards if c["source"].get("topic", {}).get("code") == "BTA-09")
    corrected = bta09["suggestions"][0]["actions"][0]["resource"]
    assert corrected["dosageInstruction"][0]["text"] == "Zoledronic acid 3.3 mg IV over 15 min"
    assert "text" not in corrected  # the stale narrative is not suggested


def test_card_sources_are_readable_and_their_page_is_public(base: str, store: Store) -> None:
    cards = _sign(base, store, _draft("d", "his.A-RENAL", "77655", 4.0))

    bta09 = next(c for c in cards if c["source"].get("topic", {}).get("code") == "BTA-09")
    page = httpx.get(bta09["source"]["url"])  # no login

    assert ".txt" not in bta09["source"]["label"] and "[" not in bta09["source"]["label"]
    assert page.status_code == 200
    assert "BTA-09" in page.text and "<script" not in page.text
