"""``/cds-services`` over real HTTP (uvicorn on a free port): discovery, patient-view cards
from prefetch or fetched from the EHR's FHIR server (bonepath's own /fhir), order checks with
a corrected order, a slow or failing EHR, the EHR's JWT and feedback."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bonepath.api.app import create_app
from bonepath.api.cds_hooks import (
    ORDER_SELECT,
    ORDER_SIGN,
    PATIENT_VIEW,
    PREFETCH,
    CdsClient,
    CdsConfig,
    load_config,
)
from bonepath.rules import load_catalogue
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store

from .serving import serve
from .support import AS_OF

ISS = "https://ehr.example.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


EHR_KEY = _key()
OTHER_KEY = _key()


def _jwks(key: rsa.RSAPrivateKey, kid: str = "ehr-1") -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": kid, "alg": "RS384", "use": "sig"}]}


def _token(
    aud: str,
    *,
    key: rsa.RSAPrivateKey = EHR_KEY,
    iss: str = ISS,
    lifetime: int = 240,
    jti: str | None = None,
    iat: float | None = None,
) -> str:
    now = time.time() if iat is None else iat
    claims = {
        "iss": iss,
        "sub": "ehr-client",
        "aud": aud,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "ehr-1", "typ": "JWT"})


def _app(store: Store, db_url: str, today: dt.date = AS_OF, timeout: float = 5.0) -> FastAPI:
    app = create_app(Settings(database_url=db_url), today=lambda: today, store=store)
    app.state.cds_config = CdsConfig(
        {ISS: CdsClient(ISS, _jwks(EHR_KEY), source="his")}, fetch_timeout_s=timeout
    )
    return app


@pytest.fixture
def base(store: Store, db_url: str) -> Iterator[str]:
    with serve(_app(store, db_url)) as url:
        yield url


def _call(
    base: str,
    service: str,
    body: dict[str, Any],
    *,
    token: str | None = None,
    lang: str | None = None,
) -> httpx.Response:
    url = f"{base}/cds-services/{service}"
    headers = {"Authorization": f"Bearer {token or _token(url)}"}
    if lang:
        headers["Accept-Language"] = lang
    return httpx.post(url, json=body, headers=headers, timeout=30)


def _hook(
    hook: str, patient: str, fhir: str | None, access_token: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient, **extra},
    }
    if fhir:
        body["fhirServer"] = fhir
        body["fhirAuthorization"] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "bonepath",
        }
    return body


def _draft(rid: str, patient: str, rxnorm: str, mg: float) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm}]},
        "subject": {"reference": f"Patient/{patient}"},
        "dosageInstruction": [
            {
                "doseAndRate": [
                    {"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
                ]
            }
        ],
    }


def test_discovery_lists_the_three_services_with_prefetch(base: str) -> None:
    services = httpx.get(f"{base}/cds-services").json()["services"]
    assert [(s["hook"], s["id"]) for s in services] == [
        ("patient-view", PATIENT_VIEW),
        ("order-select", ORDER_SELECT),
        ("order-sign", ORDER_SIGN),
    ]
    assert all(s["prefetch"]["patient"] == "Patient/{{context.patientId}}" for s in services)


def test_patient_view_fetches_from_the_ehr_fhir_server_and_gives_cards(
    base: str, store: Store
) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    body = _hook("patient-view", "his.A-DUE", f"{base}/fhir", token)

    zh = _call(base, PATIENT_VIEW, body).json()["cards"]
    en = _call(base, PATIENT_VIEW, body, lang="en").json()["cards"]

    adh = [c for c in zh if c["source"]["topic"]["code"] == "ADH-01"]
    assert len(adh) == 1
    card = adh[0]
    assert card["summary"] == "[ADH-01] " + load_catalogue()["ADH-01"].title.zh
    assert card["indicator"] == "info"  # ADH-01 is of medium severity
    assert "2026-11-05" in card["detail"]
    assert card["source"]["label"].startswith("bonepath — ")
    assert ".txt" not in card["source"]["label"]
    assert card["links"][0]["url"].endswith("/patients/his/A-DUE")
    en_adh = next(c for c in en if c["source"]["topic"]["code"] == "ADH-01")
    assert en_adh["summary"] == "[ADH-01] Bone-targeted agent due (3-day reminder)"
    assert en_adh["uuid"] == card["uuid"]
    assert [c["source"]["topic"]["code"] for c in zh] == [c["source"]["topic"]["code"] for c in en]


def test_patient_view_from_prefetch_alone_gives_the_same_cards(base: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    fetched = _call(
        base, PATIENT_VIEW, _hook("patient-view", "his.A-DUE", f"{base}/fhir", token)
    ).json()
    headers = {"Authorization": f"Bearer {token}"}
    prefetch = {
        key: httpx.get(
            f"{base}/fhir/" + template.replace("{{context.patientId}}", "his.A-DUE"),
            headers=headers,
        ).json()
        for key, template in PREFETCH.items()
    }
    body = _hook("patient-view", "his.A-DUE", None, None)
    body["prefetch"] = prefetch

    assert _call(base, PATIENT_VIEW, body).json() == fetched


def test_order_sign_corrects_the_renal_dose(base: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    draft = _draft("draft-1", "his.A-RENAL", "77655", 4.0)  # zoledronic acid 4 mg at CrCl ~45
    body = _hook(
        "order-sign",
        "his.A-RENAL",
        f"{base}/fhir",
        token,
        draftOrders={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        },
    )

    cards = _call(base, ORDER_SIGN, body, lang="en").json()["cards"]

    bta09 = next(c for c in cards if c["source"]["topic"]["code"] == "BTA-09")
    assert bta09["indicator"] == "warning"
    [suggestion] = bta09["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    corrected = action["resource"]
    assert corrected["id"] == "draft-1"
    assert corrected["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 3.3
    assert not any("interval" in c["summary"].lower() for c in cards)  # 25 days after the last dose


def _prefetch(base: str, token: str, patient: str) -> dict[str, Any]:
    """What an EHR would prefetch, read here from bonepath's own /fhir."""
    headers = {"Authorization": f"Bearer {token}"}
    return {
        key: httpx.get(
            f"{base}/fhir/" + template.replace("{{context.patientId}}", patient), headers=headers
        ).json()
        for key, template in PREFETCH.items()
    }


def test_order_select_flags_a_second_agent_and_a_dose_too_soon(base: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    prefetch = _prefetch(base, token, "his.A-DUE")
    # the EHR also knows of a zoledronic acid dose 8 days before today (2026-11-02)
    given = {
        "resourceType": "MedicationAdministration",
        "id": "ehr-dose",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "77655"}]},
        "subject": {"reference": "Patient/his.A-DUE"},
        "effectiveDateTime": "2026-10-25",
        "dosage": {"dose": {"value": 4, "unit": "mg", "system": UCUM, "code": "mg"}},
    }
    prefetch["administrations"]["entry"].append({"resource": given})
    zol = _draft("zol", "his.A-DUE", "77655", 4.0)
    deno = _draft("deno", "his.A-DUE", "993449", 120.0)
    body = _hook(
        "order-select",
        "his.A-DUE",
        None,
        None,
        selections=["MedicationRequest/zol", "MedicationRequest/deno"],
        draftOrders={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": zol}, {"resource": deno}],
        },
    )
    body["prefetch"] = prefetch

    cards = _call(base, ORDER_SELECT, body, lang="en").json()["cards"]

    summaries = [c["summary"] for c in cards]
    assert "More than one bone-targeted agent ordered: zoledronic_acid, denosumab" in summaries
    assert (
        summaries.count(
            "Only 8 days since the last bone-targeted agent dose (shortest interval 21 days)"
        )
        == 2
    )
    duplicate = next(c for c in cards if c["summary"].startswith("More than one"))
    assert duplicate["indicator"] == "critical"
    # denosumab ordered 8 days after zoledronic acid: BTA-08 on the would-be record
    assert "BTA-08" in {c["source"].get("topic", {}).get("code") for c in cards}


NO_DATA = dict.fromkeys(PREFETCH)
"""A prefetch the EHR satisfied with ``null`` for every key: CDS Hooks 2.0's "no data"."""


def test_a_missing_prefetch_the_service_cannot_fetch_is_412(store: Store, db_url: str) -> None:
    """CDS Hooks 2.0: a service that cannot reach the FHIR server for prefetch data the
    client did not send answers 412 (before: 200 with no cards)."""
    ehr = FastAPI()

    @ehr.get("/slow/{path:path}")
    async def slow(path: str) -> JSONResponse:
        await asyncio.sleep(3)
        return JSONResponse({})

    @ehr.get("/broken/{path:path}")
    async def broken(path: str) -> JSONResponse:
        return JSONResponse({"resourceType": "OperationOutcome"}, status_code=500)

    with serve(ehr) as ehr_url, serve(_app(store, db_url, timeout=0.5)) as url:
        for server in (f"{ehr_url}/slow", f"{ehr_url}/broken", None):
            response = _call(url, PATIENT_VIEW, _hook("patient-view", "his.A-DUE", server, "t"))
            assert response.status_code == 412


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "wrong audience",
        "unknown issuer",
        "other key",
        "expired",
        "too long",
        "replayed",
    ],
)
def test_the_ehr_jwt_is_checked(base: str, case: str) -> None:
    url = f"{base}/cds-services/{PATIENT_VIEW}"
    body = _hook("patient-view", "his.A-DUE", None, None)
    body["prefetch"] = NO_DATA
    tokens = {
        "wrong audience": _token(f"{base}/cds-services/{ORDER_SIGN}"),
        "unknown issuer": _token(url, iss="https://intruder.example.org"),
        "other key": _token(url, key=OTHER_KEY),
        "expired": _token(url, iat=time.time() - 600, lifetime=240),
        "too long": _token(url, lifetime=3600),
        "replayed": _token(url, jti="once"),
    }
    headers = {} if case == "no token" else {"Authorization": f"Bearer {tokens[case]}"}
    if case == "replayed":
        assert httpx.post(url, json=body, headers=headers).status_code == 200
    response = httpx.post(url, json=body, headers=headers)
    assert response.status_code == 401


def test_a_jwt_replayed_to_another_server_process_is_refused(store: Store, db_url: str) -> None:
    """Two app instances on one store stand for two worker processes: the jti is kept in the
    store, so the second instance refuses the token the first accepted."""
    with serve(_app(store, db_url)) as first, serve(_app(store, db_url)) as second:
        body = _hook("patient-view", "his.A-DUE", None, None)
        body["prefetch"] = NO_DATA
        token = _token(f"{first}/cds-services/{PATIENT_VIEW}", jti="one-shot")
        headers = {"Authorization": f"Bearer {token}"}
        accepted = httpx.post(f"{first}/cds-services/{PATIENT_VIEW}", json=body, headers=headers)
        assert accepted.status_code == 200
        # the same service URL (aud) as the EHR sees it, through the other process
        replay = _token(f"{second}/cds-services/{PATIENT_VIEW}", jti="one-shot")
        refused = httpx.post(
            f"{second}/cds-services/{PATIENT_VIEW}",
            json=body,
            headers={"Authorization": f"Bearer {replay}"},
        )
    assert refused.status_code == 401
    assert "replayed" in refused.json()["detail"]


def test_feedback_is_audited(base: str, store: Store) -> None:
    url = f"{base}/cds-services/{PATIENT_VIEW}/feedback"
    card = str(uuid.uuid4())
    body = {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "patient-refused"}},
                "outcomeTimestamp": "2026-11-02T10:00:00Z",
            }
        ]
    }

    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {_token(url)}"})

    assert response.status_code == 200
    [entry] = accounts.read_audit(store.engine, action="cds.feedback")
    assert card in (entry.detail or "") and "overridden" in (entry.detail or "")


def test_the_client_file_limits_the_fhir_servers_bonepath_fetches_from(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    app = _app(store, db_url)
    with serve(app) as url:
        config_file = tmp_path / "cds-clients.json"
        config_file.write_text(
            json.dumps(
                {
                    "clients": [
                        {
                            "iss": ISS,
                            "jwks": _jwks(EHR_KEY),
                            "source": "his",
                            "fhir_servers": [f"{url}/fhir"],
                        }
                    ],
                    "fetch_timeout_s": 5,
                }
            ),
            encoding="utf-8",
        )
        app.state.cds_config = load_config(config_file)
        allowed = _call(url, PATIENT_VIEW, _hook("patient-view", "his.A-DUE", f"{url}/fhir", token))
        elsewhere = _call(
            url, PATIENT_VIEW, _hook("patient-view", "his.A-DUE", f"{url}/api", token)
        )

    assert "ADH-01" in {c["source"]["topic"]["code"] for c in allowed.json()["cards"]}
    assert elsewhere.status_code == 412
    assert "fhir_servers" in elsewhere.json()["detail"]


def test_an_order_whose_dose_cannot_be_read_says_so(base: str, store: Store) -> None:
    token = accounts.create_api_token(store.engine, "doc_a", "ehr")
    draft = _draft("grams", "his.A-RENAL", "77655", 0.004)
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].update(
        {"unit": "g", "code": "g"}
    )
    body = _hook(
        "order-sign",
        "his.A-RENAL",
        f"{base}/fhir",
        token,
        draftOrders={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        },
    )

    cards = _call(base, ORDER_SIGN, body, lang="en").json()["cards"]

    assert "The dose could not be read (UCUM mg expected): renal dose and calcium not checked" in [
        c["summary"] for c in cards
    ]
