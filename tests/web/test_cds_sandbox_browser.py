"""The official CDS Hooks sandbox (``cds-hooks/sandbox``, built from its source, the build
committed in ``tests/web/cds_hooks_sandbox/``: docs/cds-hooks.md "The CDS Hooks sandbox")
in real chromium against bonepath's ``/fhir`` and ``/cds-services``, with nothing in between
(issue 18).

The sandbox is served beside bonepath on bonepath's origin, as a deployment would put it
(``/cds-sandbox/``): opened without a SMART launch it reads the FHIR server without sending
credentials of its own, so its reads carry the clinician's bonepath session, and bonepath's
``/fhir`` keeps its login, tenancy and audit. bonepath trusts the sandbox's signing key by
the client file a deployment writes (``BONEPATH_CDS_CLIENTS``): the sandbox's public JWKS
(``.well-known/jwks.json`` of the build) for its ``iss``; the sandbox's ``jku`` is never
fetched. Every request to another host is blocked: the cards need none.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.support import AS_OF, PASSWORD, seed
from bonepath.api.app import create_app
from bonepath.api.cds_hooks import PATIENT_VIEW, PREFETCH, load_config
from bonepath.rules import load_catalogue
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store

from .test_browser import ARTIFACTS, CHROMIUM, _free_port, _need_chromium

SANDBOX = Path(__file__).with_name("cds_hooks_sandbox")
SANDBOX_ISS = "https://sandbox.cds-hooks.org"  # the iss of every JWT the sandbox signs
LOCAL = {"127.0.0.1", "localhost"}


def _site(app: Any) -> Any:
    """bonepath, and the sandbox's static files at ``/cds-sandbox/`` (what a reverse proxy's
    ``location /cds-sandbox/`` does): requests reach bonepath unchanged."""
    static = Starlette(
        routes=[Mount("/cds-sandbox", app=StaticFiles(directory=SANDBOX, html=True))]
    )

    async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/cds-sandbox/"):
            await static(scope, receive, send)
        else:
            await app(scope, receive, send)

    return site


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    """The hand-written patients and the users only (lean: no synthetic cohort)."""
    with open_store(sqlite_url) as opened:
        seed(opened)
        yield opened


@pytest.fixture
def base_url(store: Store, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    jwks = json.loads((SANDBOX / ".well-known" / "jwks.json").read_text(encoding="utf-8"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    clients = tmp_path / "cds-clients.json"
    clients.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "iss": SANDBOX_ISS,
                        "source": "his",
                        "fhir_servers": [f"{base}/fhir"],
                        "jwks": jwks,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    app = create_app(Settings(database_url=sqlite_url), today=lambda: AS_OF, store=store)
    app.state.cds_config = load_config(clients)
    server = uvicorn.Server(
        uvicorn.Config(
            _site(app), host="127.0.0.1", port=port, access_log=False, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _jose_header(authorization: str) -> dict[str, Any]:
    token = authorization.removeprefix("Bearer ")
    head = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return decoded


@pytest.mark.slow
def test_the_cds_hooks_sandbox_shows_bonepaths_cards(base_url: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    _need_chromium()
    blocked: list[str] = []
    service_calls: list[Any] = []
    fhir_reads: list[tuple[str, int]] = []

    def route(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    def answered(response: Any) -> None:
        path = urlsplit(response.url).path
        if path == f"/cds-services/{PATIENT_VIEW}":
            service_calls.append(response)
        elif path.startswith("/fhir/"):
            fhir_reads.append((f"{response.request.method} {path}", response.status))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1360, "height": 900}, locale="zh-CN"
        )
        context.route("**/*", route)
        page = context.new_page()
        page.on("response", answered)

        page.goto("/login")
        page.fill("input[name=username]", "doc_a")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url("**/worklist")

        # the sandbox's own pre-configuration (its README): FHIR server, patient, services
        query = "&".join(
            [
                "fhirServiceUrl=" + quote(f"{base_url}/fhir", safe=""),
                "patientId=his.A-DUE",
                "serviceDiscoveryURL=" + quote(f"{base_url}/cds-services", safe=""),
            ]
        )
        page.goto(f"/cds-sandbox/?{query}")
        summary = "[ADH-01] " + load_catalogue()["ADH-01"].title.zh
        card = page.locator("[class*='card-list__decision-card']").filter(
            has=page.get_by_text(summary, exact=True)
        )
        try:
            card.wait_for(timeout=60_000)
        except PlaywrightTimeout:
            answers = [(r.status, r.text()[:400]) for r in service_calls]
            pytest.fail(f"no ADH-01 card: service {answers}; /fhir {fhir_reads}; {blocked=}")
        card_text = card.inner_text()
        banner = page.inner_text("body").split(summary)[0]
        shown = page.locator("[class*='card-list__decision-card']").count()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "cds-sandbox.zh.png"))
        assert len(service_calls) == 1
        call = service_calls[0]
        request = call.request.post_data_json
        jose = _jose_header(call.request.headers["authorization"])
        cards = call.json()["cards"]
        context.close()
        browser.close()

    # the card as the sandbox draws it: summary, source label, detail and bonepath's link
    assert "Source: bonepath — 中国肺癌骨转移诊疗现状白皮书 规范用药" in card_text
    assert "到期：2026-11-05" in card_text
    assert "在 bonepath 中查看患者" in card_text
    assert "ID: his.A-DUE" in banner  # the patient the sandbox read from /fhir
    assert shown == len(cards) >= 2  # every card bonepath answered is drawn
    # the sandbox's own call: its JWT (ES384, with jku) accepted by the kid of the local JWKS,
    # the prefetch it read itself from /fhir, every key bonepath asks for
    assert call.status == 200
    assert jose["alg"] == "ES384" and jose["jku"].startswith(SANDBOX_ISS)
    assert request["hook"] == "patient-view"
    assert request["fhirServer"] == f"{base_url}/fhir"
    assert request["context"]["patientId"] == "his.A-DUE"
    assert set(request["prefetch"]) == set(PREFETCH)
    assert request["prefetch"]["patient"]["id"] == "his.A-DUE"
    assert ("GET /fhir/Patient/his.A-DUE", 200) in fhir_reads
    # nothing from the internet: the sandbox's built-in example service is the one request
    # it tried elsewhere, blocked, and the cards did not need it
    assert {urlsplit(url).hostname for url in blocked} <= {"sandbox-services.cds-hooks.org"}
