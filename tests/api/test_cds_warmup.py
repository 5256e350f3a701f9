"""The CDS service is warm before its first call (issue 18: the first call after start took
698 ms): with CDS clients configured, the app sends real patient-view and order-sign calls
through its own ASGI stack at startup, before uvicorn takes connections; without clients it
does not (no cost to an installation without CDS Hooks). Speed itself is measured in bench/
(fhir_bench.py cds-first, cds-open); here the work of the first call is counted."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.api.cds_hooks import (
    PATIENT_VIEW,
    PREFETCH,
    CdsClient,
    CdsConfig,
    key_algorithms,
)
from bonepath.engine.evaluate import evaluate, point_of_care_runner
from bonepath.interop.fhir import memo
from bonepath.interop.fhir.from_record import patient_id, patient_resources
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store.repository import Store
from bonepath.synth import generate_record

from .support import AS_OF


def test_startup_warms_the_cds_service_only_when_clients_are_configured(
    store: Store, db_url: str
) -> None:
    with_clients = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with_clients.state.cds_config = CdsConfig(
        {"https://ehr": CdsClient("https://ehr", {"keys": []})}
    )
    without = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    without.state.cds_config = CdsConfig()

    with TestClient(with_clients), TestClient(without):
        assert with_clients.state.cds_warmed_up is True
        assert without.state.cds_warmed_up is False


def test_the_point_of_care_runner_reused_gives_each_record_its_own_findings() -> None:
    """The runner keeps its stage tables between evaluations (emptied and refilled, so SQLite
    keeps its statements prepared): a record evaluated after others gets the findings it gets
    first in a fresh runner, nothing left from the one before."""
    today = dt.date(2026, 11, 23)
    records = [parse_record(generate_record(i, 5), today=today) for i in range(4)]
    point_of_care_runner()
    first = [evaluate(r, today).findings for r in records]
    again = [evaluate(r, today).findings for r in reversed(records)]

    assert again == list(reversed(first))
    assert sum(len(fs) for fs in first) > 0


# ---- the warm-up covers the HTTP route, not only the functions it calls -------------------------


@asynccontextmanager
async def _started(app: FastAPI) -> AsyncIterator[None]:
    """The app's startup and shutdown through the ASGI lifespan protocol, as uvicorn drives
    them (the middleware stack is built then, the CDS warm-up runs then)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: MutableMapping[str, Any]) -> None:
        await answers.put(dict(message))

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await answers.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await answers.get()
        await task


class _Calls:
    """Python function calls counted in every thread while ``on`` (``sys.setprofile``;
    installed before the app starts, so the threads it makes count too)."""

    def __init__(self) -> None:
        self.on = False
        self.count = 0

    def __call__(self, _frame: Any, event: str, _arg: Any) -> None:
        if self.on and event == "call":
            self.count += 1


def test_the_first_cds_call_after_startup_does_the_work_of_a_later_one(tmp_path: Path) -> None:
    """Issue 18: after the warm-up the first real call still cost 180–300 ms of CPU (a
    steady call: 14 ms) — FastAPI builds every route's dependency models on the first
    request that reaches it, which the warm-up (then the functions called directly) never
    made. Now the warm-up sends real calls through the app's own ASGI stack, with a key of
    each type the clients use: an EHR's first call (RS384, then an ES384 client's first) runs
    no more Python than the same call repeated with the same caches (before: ≈ 10× more)."""
    today = dt.date(2026, 11, 23)
    ehr, sandbox = _rsa_client("https://ehr.example.org"), _ec_client("https://sandbox.example")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/s.sqlite3"), today=lambda: today)
    app.state.cds_config = CdsConfig({c.iss: c for c, _key, _alg in (ehr, sandbox)})
    record = parse_record(generate_record(11, 5), today=today)
    resources = patient_resources(record)
    pid = patient_id(record)
    prefetch: dict[str, Any] = {"patient": resources[0]}
    for key, template in PREFETCH.items():
        if key != "patient":
            kind = template.split("?", 1)[0]
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
            }
    calls = _Calls()

    async def call(http: httpx.AsyncClient, client: tuple[CdsClient, Any, str]) -> int:
        cds, key, alg = client
        url = f"http://localhost/cds-services/{PATIENT_VIEW}"
        now = int(time.time())
        claims = {"iss": cds.iss, "aud": url, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": pid},
            "prefetch": prefetch,
        }
        headers = {"Authorization": f"Bearer {jwt.encode(claims, key, alg, {'kid': 'k'})}"}
        before = calls.count
        calls.on = True
        response = await http.post(url, content=orjson.dumps(body), headers=headers)
        calls.on = False
        assert response.status_code == 200, response.text
        return calls.count - before

    async def scenario() -> tuple[list[int], list[int]]:
        async with _started(app):
            assert app.state.cds_warmed_up is True
            assert app.state.cds_config.clients.keys() == {ehr[0].iss, sandbox[0].iss}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
                # the elements the warm-up validated, as the first call found them
                validated = dict(memo._CACHE)
                first = [await call(http, ehr), await call(http, sandbox)]
                again = []
                for client in (ehr, sandbox):
                    memo._CACHE.clear()
                    memo._CACHE.update(validated)
                    again.append(await call(http, client))
        return first, again

    sys.setprofile(calls)
    threading.setprofile(calls)
    try:
        first, again = asyncio.run(scenario())
    finally:
        sys.setprofile(None)
        threading.setprofile(None)

    for cold, warm in zip(first, again, strict=True):
        assert warm > 1000  # counted: the mapping and the evaluation ran in the thread pool too
        assert cold <= warm * 1.1, (first, again)


def _rsa_client(iss: str) -> tuple[CdsClient, Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return CdsClient(iss, {"keys": [{**jwk, "kid": "k", "alg": "RS384"}]}), key, "RS384"


def _ec_client(iss: str) -> tuple[CdsClient, Any, str]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return CdsClient(iss, {"keys": [{**jwk, "kid": "k"}]}), key, "ES384"


def test_the_warm_up_signs_with_each_key_type_the_clients_use() -> None:
    """One warm-up call per algorithm of the configured keys (the JWK's ``alg``, else RS384
    for RSA and the curve's ES algorithm), so the EHR's key type is not verified first by a
    real call; the warm-up's own client is gone once the app has started."""
    config = CdsConfig(
        {
            "a": _rsa_client("a")[0],
            "b": _ec_client("b")[0],
            "c": CdsClient("c", {"keys": [{"kty": "RSA", "alg": "RS512", "n": "x", "e": "AQAB"}]}),
            "d": CdsClient("d", {"keys": []}),
        }
    )
    assert key_algorithms(config) == ["RS384", "ES384", "RS512"]
    assert key_algorithms(CdsConfig({"d": CdsClient("d", {"keys": []})})) == ["ES256"]
