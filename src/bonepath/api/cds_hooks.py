"""``/cds-services``: a CDS Hooks 2.0 service (docs/cds-hooks.md).

- ``GET /cds-services``: discovery (three services, with prefetch templates).
- ``POST /cds-services/bonepath-patient-view``: cards for the patient's current findings.
- ``POST /cds-services/bonepath-bta-order-select`` and ``…-order-sign``: checks of a draft
  bone-targeted-agent MedicationRequest (renal dose, calcium, dental status, interval since the
  last dose, duplicate antiresorptives), with a suggestion carrying the corrected order.
- ``POST /cds-services/{id}/feedback``: what the clinician did with a card (audited).

The patient's data comes from the prefetch; what is missing is fetched from the EHR's
``fhirServer`` with the ``fhirAuthorization`` token, within :attr:`CdsConfig.fetch_timeout_s`.
The FHIR resources go through the same mapping and validation as ``bonepath import``
(:mod:`bonepath.interop.fhir`) and are evaluated with the one rule engine as of the app's
today. A slow or failing EHR, or a record bonepath cannot evaluate, gives an answer without
cards, never an error.

The calling EHR authenticates as the specification says: ``Authorization: Bearer <JWT>``,
signed with a key of a JWKS configured locally for its ``iss`` (no key is fetched from the
network), ``aud`` = the URL of the service called, ``exp`` at most five minutes after ``iat``,
and a ``jti`` never seen before (replays are refused).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import html
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bonepath.api import deps
from bonepath.api.params import patient_path
from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation, Finding
from bonepath.errors import ConfigError, RecordRefused
from bonepath.interop.fhir import codes
from bonepath.interop.fhir.medication import bta_of, describe, medication_concept
from bonepath.interop.fhir.memo import memoized
from bonepath.interop.fhir.read import Unit, read_bundle, validate
from bonepath.interop.fhir.to_record import map_unit
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.rules.sources import GL24_FILE, WP_FILE
from bonepath.store import accounts
from bonepath.vocab import Drug, FindingKind, Severity

PATIENT_VIEW: Final = "bonepath-patient-view"
ORDER_SELECT: Final = "bonepath-bta-order-select"
ORDER_SIGN: Final = "bonepath-bta-order-sign"
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
MAX_LIFETIME_S: Final = 300
"""CDS Hooks 2.0: a JWT expires no more than five minutes after it was issued."""
MIN_INTERVAL_DAYS: Final = 21
"""The shortest dosing interval of record v1 (21/28/84 days): an order sooner than this after
the last dose is flagged (a system convention, docs/cds-hooks.md)."""

PREFETCH: Final = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "administrations": "MedicationAdministration?patient={{context.patientId}}",
    "requests": "MedicationRequest?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "reports": "DiagnosticReport?patient={{context.patientId}}",
}

_SERVICES: Final = [
    {
        "hook": "patient-view",
        "id": PATIENT_VIEW,
        "title": "bonepath 骨转移诊疗路径 / bonepath bone-metastasis pathway",
        "description": "肺癌骨转移：到期、逾期与安全提醒 / Lung cancer with bone metastasis: "
        "what is due, overdue or unsafe by the 2024 Chinese guideline",
        "prefetch": PREFETCH,
    },
    {
        "hook": "order-select",
        "id": ORDER_SELECT,
        "title": "bonepath 骨改良药物医嘱核查 / bonepath bone-targeted agent order check",
        "description": "肾功能剂量、血钙、口腔、给药间隔与重复用药 / Renal dose, calcium, dental "
        "status, interval since the last dose and duplicate antiresorptives",
        "prefetch": PREFETCH,
    },
    {
        "hook": "order-sign",
        "id": ORDER_SIGN,
        "title": "bonepath 骨改良药物医嘱签署核查 / bonepath bone-targeted agent order-sign check",
        "description": "签署前核查 / The same checks before the order is signed",
        "prefetch": PREFETCH,
    },
]

_INDICATOR: Final = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "warning",
    Severity.MEDIUM: "info",
    Severity.LOW: "info",
}
ORDER_RULES: Final = {
    "renal": ("BTA-09", "SAFE-02", "SAFE-03", "SAFE-04", "SAFE-07"),
    "calcium": ("SAFE-05", "SAFE-14", "SAFE-15"),
    "dental": ("SAFE-08", "SAFE-09", "SAFE-11"),
    "duplicate": ("BTA-08",),
}
HOLD_RULES: Final = frozenset({"SAFE-02", "SAFE-04", "SAFE-05", "SAFE-11"})
"""Findings after which the ordered dose should not be given: the suggestion removes it."""

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
log = logging.getLogger(__name__)


# ---- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CdsClient:
    """An EHR allowed to call: its ``iss``, its public keys (a JWKS) and the record source
    name under which its patients are evaluated."""

    iss: str
    jwks: Mapping[str, Any]
    source: str = "ehr"
    fhir_servers: tuple[str, ...] = ()
    """URL prefixes the client's ``fhirServer`` must start with (bonepath fetches nothing
    else on its behalf); empty: any server the authenticated client names."""
    jku_allow: tuple[str, ...] = ()
    """JWKS URLs (exact) a token's ``jku`` may name for keys not in ``jwks``: bonepath fetches
    keys from these and from nothing else; empty: keys come from ``jwks`` only."""


@dataclass(slots=True)
class CdsConfig:
    clients: dict[str, CdsClient] = field(default_factory=dict)
    fetch_timeout_s: float = 2.0
    public_base_url: str | None = None
    """The service's base URL as the EHR sees it (``aud`` check); default: the request's."""
    bonepath_url: str | None = None
    """Where the links of the cards point (default: the request's base URL)."""
    jku_keys: dict[str, tuple[float, Mapping[str, Any]]] = field(default_factory=dict)
    """JWKS fetched from an allowed ``jku``: URL -> (monotonic time fetched, JWKS)."""


class CdsSettings(BaseSettings):
    """``BONEPATH_CDS_CLIENTS``: a JSON file ``{"clients": [{"iss", "jwks", "source",
    "fhir_servers", "jku_allow"}], "fetch_timeout_s", "public_base_url", "bonepath_url"}``;
    ``BONEPATH_CDS_CORS_ORIGINS``: the browser origins (comma-separated, ``*`` for any) that
    may call ``/cds-services`` and ``/fhir`` from a web page (CORS)."""

    model_config = SettingsConfigDict(env_prefix="BONEPATH_CDS_", extra="ignore")
    clients: str = ""
    cors_origins: str = ""


def load_config(path: Path) -> CdsConfig:
    """The CDS configuration file (docs/cds-hooks.md)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clients = {
            c["iss"]: CdsClient(
                c["iss"],
                c["jwks"],
                c.get("source", "ehr"),
                tuple(c.get("fhir_servers", ())),
                tuple(c.get("jku_allow", ())),
            )
            for c in data["clients"]
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a CDS Hooks client file ({exc})") from exc
    return CdsConfig(
        clients,
        float(data.get("fetch_timeout_s", 2.0)),
        data.get("public_base_url"),
        data.get("bonepath_url"),
    )


def config_of(request: Request) -> CdsConfig:
    """The app's CDS configuration: ``app.state.cds_config``, else the file of
    ``BONEPATH_CDS_CLIENTS`` (loaded once), else none (every call is refused)."""
    return app_config(request.app)


def app_config(app: Any) -> CdsConfig:
    """:func:`config_of` for an app (the warm-up at startup)."""
    state = app.state
    config: CdsConfig | None = getattr(state, "cds_config", None)
    if config is None:
        path = CdsSettings().clients
        config = load_config(Path(path)) if path else CdsConfig()
        state.cds_config = config
    return config


# ---- authentication ----------------------------------------------------------------------------


class Unauthorized(Exception):
    pass


def _service_url(request: Request, config: CdsConfig) -> str:
    base = (config.public_base_url or str(request.base_url)).rstrip("/")
    return base + request.url.path


JKU_CACHE_S: Final = 300.0
"""How long a JWKS fetched from an allowed ``jku`` is kept before it is fetched again."""


async def _jku_keys(url: str, config: CdsConfig) -> Mapping[str, Any] | None:
    """The JWKS at an allowed ``jku`` (cached :data:`JKU_CACHE_S`); None when unreachable."""
    cached = config.jku_keys.get(url)
    now = time.monotonic()
    if cached is not None and now - cached[0] < JKU_CACHE_S:
        return cached[1]
    try:
        async with httpx.AsyncClient(timeout=config.fetch_timeout_s) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        return None
    config.jku_keys[url] = (now, jwks)
    return jwks


def _keys_with_kid(jwks: Mapping[str, Any], kid: Any) -> list[Any]:
    try:
        keys = jwt.PyJWKSet.from_dict(dict(jwks)).keys
    except jwt.PyJWTError:
        return []
    return [k for k in keys if kid is None or k.key_id == kid]


async def authenticate(request: Request, config: CdsConfig) -> CdsClient:
    """The calling EHR, from its signed JWT (CDS Hooks 2.0 "Trusting CDS Clients").

    The key is the one of the token's ``kid`` in the JWKS configured for its ``iss``, whether
    or not the token names a ``jku`` (the specification's example and the sandbox always do);
    only a ``kid`` not configured locally is looked up at the ``jku``, and only when that URL
    is on the client's ``jku_allow`` list."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a signed JWT is required (Authorization: Bearer <JWT>)")
    token = token.strip()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        head = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"not a JWT: {exc}") from None
    client = config.clients.get(str(unverified.get("iss")))
    if client is None:
        raise Unauthorized(f"issuer {unverified.get('iss')!r} is not allowed")
    kid, jku = head.get("kid"), head.get("jku")
    matching = _keys_with_kid(client.jwks, kid)
    if not matching and isinstance(jku, str) and jku in client.jku_allow:
        remote = await _jku_keys(jku, config)
        matching = _keys_with_kid(remote, kid) if remote is not None else []
    if not matching:
        where = (
            f"; its jku {jku!r} is not on the client's jku_allow list, so no key is fetched"
            if isinstance(jku, str) and jku not in client.jku_allow
            else ""
        )
        raise Unauthorized(f"no configured key with kid {kid!r} for {client.iss}{where}")
    try:
        claims = jwt.decode(
            token,
            matching[0].key,
            algorithms=list(ALGORITHMS),
            audience=_service_url(request, config),
            issuer=client.iss,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"JWT refused: {exc}") from None
    if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME_S:
        raise Unauthorized("JWT lifetime above five minutes")
    # kept in the store, not in this process: every worker of the server refuses a replay
    until = dt.datetime.fromtimestamp(float(claims["exp"]) + 30, dt.UTC)
    if not accounts.first_use_of_jwt(
        deps.app_context(request).store.engine, client.iss, str(claims["jti"]), until
    ):
        raise Unauthorized("JWT replayed (jti already used)")
    return client


def _unauthorized(reason: str) -> JSONResponse:
    return JSONResponse({"error": "unauthorized", "detail": reason}, status_code=401)


# ---- the patient's data ------------------------------------------------------------------------


def _unit_of(resources: Mapping[str, Any]) -> Unit:
    """A unit of the resources of the prefetch (resources and searchset Bundles); a key whose
    value is ``null`` is the specification's "no data" and adds nothing."""
    unit = Unit("prefetch")
    for key, value in resources.items():
        if not isinstance(value, Mapping):
            continue
        if value.get("resourceType") == "Bundle":
            bundle = read_bundle(value, f"prefetch.{key}")
            unit.items.extend(i for i in bundle.items if i.resource_type != "OperationOutcome")
        elif value.get("resourceType") != "OperationOutcome":
            unit.items.append(
                validate(value, str(value.get("resourceType", "?")), f"prefetch.{key}")
            )
    return unit


def _unsatisfied(prefetch: Mapping[str, Any]) -> list[str]:
    """The prefetch keys the client did not satisfy: left out, or answered with an
    OperationOutcome (an error while prefetching). ``null`` is satisfied: "no data"."""
    return [
        key
        for key in PREFETCH
        if key not in prefetch
        or (
            isinstance(prefetch[key], Mapping)
            and prefetch[key].get("resourceType") == "OperationOutcome"
        )
    ]


async def _fetch_missing(
    body: Mapping[str, Any],
    prefetch: dict[str, Any],
    patient_id: str,
    timeout: float,
    client_config: CdsClient,
) -> str | None:
    """Fill the unsatisfied prefetch keys from ``fhirServer``; None when done, else why it
    could not be (no server, a server the client may not name, an error, too late)."""
    missing = _unsatisfied(prefetch)
    server = body.get("fhirServer")
    if not missing:
        return None
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        return f"prefetch {', '.join(missing)} missing and no fhirServer to fetch it from"
    if client_config.fhir_servers and not server.startswith(client_config.fhir_servers):
        return f"fhirServer {server} is not one this client may name (fhir_servers)"
    auth = body.get("fhirAuthorization") or {}
    headers = {"Accept": "application/fhir+json"}
    if isinstance(auth, Mapping) and auth.get("access_token"):
        headers["Authorization"] = f"Bearer {auth['access_token']}"
    base = server.rstrip("/") + "/"

    async def get(client: httpx.AsyncClient, key: str) -> tuple[str, Any]:
        url = base + PREFETCH[key].replace("{{context.patientId}}", patient_id)
        response = await client.get(url, headers=headers)
        response.raise_for_status()
        return key, response.json()

    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            results = await asyncio.wait_for(
                asyncio.gather(*(get(client, k) for k in missing)), timeout
            )
    except (httpx.HTTPError, TimeoutError, ValueError) as exc:
        return f"fhirServer {server} could not be read ({type(exc).__name__})"
    prefetch.update(dict(results))
    return None


@dataclass(frozen=True, slots=True)
class Note:
    """Why bonepath could not check something, in both languages (an info card)."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def _record(
    prefetch: Mapping[str, Any], client: CdsClient, today: dt.date, patient_id: str
) -> tuple[Record | None, list[Note]]:
    """The patient's record from the FHIR data, or None when bonepath cannot evaluate it;
    the notes say why when the data is in scope but could not be read (a unit, a date), so
    the answer is never silently empty. A patient without lung cancer is out of scope: no
    card, a log line."""
    with memoized():  # the codings, units and references repeated in every call: validated once
        mapped = map_unit(_unit_of(prefetch), today=today)
    if not mapped.records:
        reasons = sorted({reason for (_kind, reason) in mapped.skipped})
        log.info("cds: Patient/%s not evaluated: %s", patient_id, "; ".join(reasons) or "no data")
        return None, []
    if len(mapped.records) > 1:
        log.info("cds: Patient/%s: the prefetch holds %d patients", patient_id, len(mapped.records))
        return None, [
            Note(
                "The prefetch holds more than one patient: bonepath did not evaluate it",
                "预取数据包含多名患者：bonepath 未作评估",
            )
        ]
    raw = mapped.records[0]
    problems = list(raw.problems)
    data = dict(raw.data) if raw.data is not None else {}
    record = None
    if not problems:
        if data.get("source") == "fhir":
            data["source"] = client.source
        try:
            record = parse_record(data, today=today)
        except RecordRefused as exc:
            problems = list(exc.problems)
    if record is not None:
        return record, []
    log.info("cds: Patient/%s refused: %s", patient_id, "; ".join(p.problem for p in problems))
    shown = "; ".join(f"{p.path}: {p.problem}" for p in problems[:5])
    return None, [
        Note(
            f"bonepath could not read this patient's data, so nothing was checked: {shown}",
            f"bonepath 无法读取该患者的数据（如单位或日期无法识别），未作任何核查：{shown}",
        )
    ]


# ---- cards -------------------------------------------------------------------------------------


def _lang(request: Request) -> str:
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "zh"


def _detail(finding: Finding, lang: str) -> str:
    lines = [finding.title(lang)]
    if finding.due:
        lines.append(("Due: " if lang == "en" else "到期：") + finding.due.isoformat())
    shown = [f"{k} = {v}" for k, v in finding.values.items() if v is not None]
    if shown:
        lines.append(("Values: " if lang == "en" else "依据数值：") + "; ".join(shown))
    lines.append(
        ("Sources: " if lang == "en" else "出处：")
        + "; ".join(readable_source(s, lang) for s in finding.sources)
    )
    return "\n\n".join(lines)


_SEED_TITLES: Final = {
    WP_FILE: Note(
        "White paper on lung-cancer bone metastasis care in China",
        "中国肺癌骨转移诊疗现状白皮书",
    ),
    GL24_FILE: Note(
        "Chinese guideline for bone metastasis of lung cancer (2024), interpretation",
        "《中国肺癌骨转移临床诊疗指南(2024版)》解读",
    ),
}


def readable_source(source: str, lang: str = "zh") -> str:
    """A rendered citation as a clinician reads it: the seed documents by title instead of
    their file names, without the verification mark (``[V]``) and rules.md."""
    text = re.sub(r"\s*\[[VKS]\]$", "", source)
    for name, title in _SEED_TITLES.items():
        text = text.replace(f"{name}, ", title.get(lang) + " ").replace(name, title.get(lang))
    return text.replace("bonepath convention (rules.md)", "bonepath convention")


def rule_url(base: str, rule: str) -> str:
    """The public page of a rule (no login): what it checks and its sources."""
    return f"{base}/cds-services/rules/{rule}"


def finding_card(finding: Finding, evaluation: Evaluation, lang: str, base: str) -> dict[str, Any]:
    """One finding as a card: summary in ``lang``, indicator by severity, the rule's source."""
    key = f"{evaluation.source}\x1f{evaluation.patient}\x1f{finding.rule}\x1f{finding.item}\x1f{evaluation.as_of}"
    patient_url = f"{base}/patients/{patient_path(evaluation.source, evaluation.patient)}"
    label = (
        "bonepath — " + readable_source(finding.sources[0], lang) if finding.sources else "bonepath"
    )
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "summary": f"[{finding.rule}] {finding.title(lang)}"[:140],
        "detail": _detail(finding, lang),
        "indicator": _INDICATOR[finding.severity],
        "source": {
            "label": label[:200],
            "url": rule_url(base, finding.rule),
            "topic": {
                "system": codes.local_system("rule"),
                "code": finding.rule,
                "display": finding.title_en,
            },
        },
        "links": [
            {
                "label": "在 bonepath 中查看患者"
                if lang == "zh"
                else "Open the patient in bonepath",
                "url": patient_url,
                "type": "absolute",
            }
        ],
    }


def note_card(key: str, note: Note, lang: str, indicator: str = "info") -> dict[str, Any]:
    """A card saying what bonepath could not check and why (never a silent empty answer)."""
    text = note.get(lang)
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"note\x1f{key}\x1f{note.en}")),
        "summary": text if len(text) <= 140 else text[:139] + "…",
        "detail": text,
        "indicator": indicator,
        "source": {"label": "bonepath"},
    }


def _base(request: Request, config: CdsConfig) -> str:
    return (config.bonepath_url or str(request.base_url)).rstrip("/")


def _invalid(detail: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid" if status == 400 else "precondition-failed", "detail": detail},
        status_code=status,
    )


@dataclass(slots=True)
class Prepared:
    config: CdsConfig
    client: CdsClient
    body: dict[str, Any]
    patient_id: str
    record: Record | None
    notes: list[Note]


async def _prepare(request: Request, hook: str) -> Prepared | JSONResponse:
    """Authenticate, check the request as CDS Hooks 2.0 defines it (``hook`` of this service,
    ``hookInstance``, ``context.patientId``, a prefetched Patient of that id), complete the
    prefetch from ``fhirServer`` (412 when it cannot be), and read the record."""
    config = config_of(request)
    try:
        client = await authenticate(request, config)
    except Unauthorized as exc:
        return _unauthorized(str(exc))
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _invalid("the body is not JSON")
    if not isinstance(body, dict):
        return _invalid("the body is not a JSON object")
    if body.get("hook") != hook:
        return _invalid(f"hook {body.get('hook')!r}: this service answers {hook!r}")
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance.strip():
        return _invalid("hookInstance is required (a UUID for this call)")
    context = body.get("context")
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str) or not patient_id:
        return _invalid("context.patientId is required")
    given = body.get("prefetch")
    if given is not None and not isinstance(given, dict):
        return _invalid("prefetch must be an object")
    prefetch = dict(given or {})
    patient = prefetch.get("patient")
    if (
        isinstance(patient, Mapping)
        and patient.get("resourceType") == "Patient"
        and patient.get("id") != patient_id
    ):
        return _invalid(
            f"prefetch.patient is Patient/{patient.get('id')}, context.patientId is {patient_id}"
        )
    failed = await _fetch_missing(body, prefetch, patient_id, config.fetch_timeout_s, client)
    if failed is not None:
        log.info("cds: 412 for Patient/%s: %s", patient_id, failed)
        return _invalid(failed, 412)
    today = deps.app_context(request).today()
    record, notes = await asyncio.to_thread(_record, prefetch, client, today, patient_id)
    return Prepared(config, client, body, patient_id, record, notes)


@router.get("")
def discovery() -> dict[str, Any]:
    return {"services": _SERVICES}


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(rule_id: str) -> HTMLResponse:
    """The public page of a rule (``source.url`` of a card): title, what it checks, sources,
    in Chinese and English; no login, no patient data."""
    from bonepath.rules import load_catalogue

    catalogue = load_catalogue()
    if rule_id not in catalogue:
        return HTMLResponse("<!doctype html><title>404</title><p>no such rule</p>", 404)
    rule = catalogue[rule_id]
    e = html.escape
    sources = "".join(
        f"<li>{e(readable_source(c, 'zh'))} / {e(readable_source(c, 'en'))}</li>"
        for c in rule.rendered_sources
    )
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        f"<title>{e(rule.id)} {e(rule.title.zh)}</title>"
        f'<h1>{e(rule.id)} {e(rule.title.zh)}</h1><p lang="en"><b>{e(rule.title.en)}</b></p>'
        f'<p>{e(rule.logic_text.zh)}</p><p lang="en">{e(rule.logic_text.en)}</p>'
        f"<h2>出处 / Sources</h2><ul>{sources}</ul>"
        f"<p>bonepath {e(catalogue.version)}</p></html>"
    )
    return HTMLResponse(page)


@router.post(f"/{PATIENT_VIEW}")
async def patient_view(request: Request) -> JSONResponse:
    prepared = await _prepare(request, "patient-view")
    if isinstance(prepared, JSONResponse):
        return prepared
    lang = _lang(request)
    record = prepared.record
    if record is None:
        return JSONResponse(
            {"cards": [note_card(prepared.patient_id, n, lang) for n in prepared.notes]}
        )
    today = deps.app_context(request).today()
    evaluation = await asyncio.to_thread(evaluate, record, today)
    base = _base(request, prepared.config)
    shown = sorted(
        (f for f in evaluation.findings if f.kind is not FindingKind.INFO), key=Finding.urgency_key
    )
    return JSONResponse({"cards": [finding_card(f, evaluation, lang, base) for f in shown]})


# ---- order-select / order-sign -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftDose:
    """A draft BTA MedicationRequest: its id, drug, dose and the JSON to correct."""

    resource: Mapping[str, Any]
    drug: Drug
    dose_mg: float | None


def _draft_doses(context: Mapping[str, Any], hook: str) -> tuple[list[DraftDose], list[Note]]:
    """The draft BTA orders of the call (the selected ones for order-select), and a note for
    each draft whose drug bonepath does not recognise or must not check as a BTA dose."""
    bundle = context.get("draftOrders")
    if not isinstance(bundle, Mapping):
        return [], []
    selections = set(context.get("selections") or []) if hook == "order-select" else None
    with memoized():
        unit = read_bundle(bundle, "draftOrders")
    medications = {
        key: item.model
        for item in unit.items
        if item.resource_type == "Medication" and item.model is not None
        for key in (f"Medication/{item.id}", item.full_url)
        if key
    }
    out: list[DraftDose] = []
    notes: list[Note] = []
    for item in unit.items:
        if item.resource_type != "MedicationRequest" or item.model is None:
            continue
        if selections is not None and f"MedicationRequest/{item.id}" not in selections:
            continue
        concept = medication_concept(item.model, medications.get)
        match = bta_of(concept)
        shown = describe(concept) if concept is not None else "?"
        if match.refused is not None:
            notes.append(Note(f"{shown}: {match.refused[0]}", f"{shown}：{match.refused[1]}"))
            continue
        if match.drug is None:
            if concept is None or not any(
                codes.find(table, concept) for table in ("not_bta", "supplement", "anticancer")
            ):
                notes.append(
                    Note(
                        f"{shown}: not a bone-targeted agent bonepath knows (by RxNorm, ATC or "
                        "local code, or by name); this order was not checked",
                        f"{shown}：不是 bonepath 可识别的骨改良药物（RxNorm、ATC、本地编码或药品名）；"
                        "未核查此医嘱",
                    )
                )
            continue
        dose = None
        for dosage in item.model.dosageInstruction or ():
            for rate in dosage.doseAndRate or ():
                quantity = rate.doseQuantity
                if quantity is not None and quantity.value is not None and _is_mg(quantity):
                    dose = float(quantity.value)
        out.append(DraftDose(item.raw, Drug(match.drug), dose))
    return out, notes


def _is_mg(quantity: Any) -> bool:
    """A dose in milligrams: UCUM ``mg``, or ``mg`` written without a system."""
    if quantity.system not in (None, codes.UCUM):
        return False
    return any(str(t).strip().casefold() == "mg" for t in (quantity.code, quantity.unit) if t)


def _with_dose(record: Record, draft: DraftDose, today: dt.date) -> Record | None:
    if draft.dose_mg is None or draft.dose_mg <= 0:
        return None
    data = record.to_json_dict()
    events = data.setdefault("events", {})
    event: dict[str, Any] = {
        "date": today.isoformat(),
        "drug": draft.drug.value,
        "dose_mg": draft.dose_mg,
    }
    events.setdefault("bta", []).append(event)
    try:
        return parse_record(data, today=today)
    except RecordRefused:
        return None


def _corrected(draft: DraftDose, dose_mg: float) -> dict[str, Any]:
    """The draft order at ``dose_mg``: the dose quantity, and every text that states the old
    dose (``dosageInstruction.text``, ``patientInstruction``), so the suggested order does not
    say "4 mg" while it gives 3.3 mg; a stale narrative is left out."""
    resource: dict[str, Any] = json.loads(json.dumps(draft.resource))
    resource.pop("text", None)
    old = draft.dose_mg
    pattern = (
        re.compile(rf"(?<![\d.]){re.escape(f'{old:g}')}(\.0+)?\s*(mg|MG|毫克)") if old else None
    )
    for dosage in resource.get("dosageInstruction", []):
        for rate in dosage.get("doseAndRate", []):
            if "doseQuantity" in rate:
                rate["doseQuantity"].update(
                    {"value": dose_mg, "unit": "mg", "system": codes.UCUM, "code": "mg"}
                )
        for key in ("text", "patientInstruction"):
            text = dosage.get(key)
            if not isinstance(text, str):
                continue
            if pattern is not None and pattern.search(text):
                dosage[key] = pattern.sub(f"{dose_mg:g} mg", text)
            else:
                dosage[key] = f"{dose_mg:g} mg ({text})"
    return resource


def order_cards(
    record: Record, drafts: list[DraftDose], today: dt.date, lang: str, base: str
) -> list[dict[str, Any]]:
    """The checks of the draft BTA orders (module docstring), one card per problem found."""
    cards: list[dict[str, Any]] = []
    current = evaluate(record, today)
    for finding in current.findings:
        if finding.rule in ORDER_RULES["dental"]:
            cards.append(finding_card(finding, current, lang, base))
    if len(drafts) > 1:
        names = ", ".join(d.drug.value for d in drafts)
        cards.append(
            _system_card(
                "duplicate-draft",
                record,
                today,
                "critical",
                f"同时开具多个骨改良药物：{names}"
                if lang == "zh"
                else f"More than one bone-targeted agent ordered: {names}",
                "bonepath (system) — GL24 表1: one bone-targeted agent at a time",
                base,
            )
        )
    last = max((d.date for d in record.events.bta), default=None)
    for draft in drafts:
        rid = f"MedicationRequest/{draft.resource.get('id')}"
        if last is not None and (today - last).days < MIN_INTERVAL_DAYS:
            days = (today - last).days
            cards.append(
                _system_card(
                    f"interval-{draft.resource.get('id')}",
                    record,
                    today,
                    "warning",
                    f"距上次骨改良药物仅 {days} 天（最短间隔 {MIN_INTERVAL_DAYS} 天）"
                    if lang == "zh"
                    else f"Only {days} days since the last bone-targeted agent dose (shortest interval {MIN_INTERVAL_DAYS} days)",
                    "bonepath (system) — record-format.md intervals 21/28/84 days",
                    base,
                )
            )
        candidate = _with_dose(record, draft, today)
        if candidate is None:
            cards.append(
                _system_card(
                    f"dose-{draft.resource.get('id')}",
                    record,
                    today,
                    "warning",
                    "无法读取医嘱剂量（需 UCUM mg）：未能核查肾功能剂量与血钙"
                    if lang == "zh"
                    else "The dose could not be read (UCUM mg expected): renal dose and "
                    "calcium not checked",
                    "bonepath (system)",
                    base,
                )
            )
            continue
        evaluation = evaluate(candidate, today)
        checked = {*ORDER_RULES["renal"], *ORDER_RULES["calcium"], *ORDER_RULES["duplicate"]}
        for finding in evaluation.findings:
            if finding.rule not in checked:
                continue
            card = finding_card(finding, evaluation, lang, base)
            recommended = finding.values.get("recommended_dose_mg")
            if finding.rule == "BTA-09" and isinstance(recommended, int | float):
                label = (
                    f"改为 {recommended:g} mg"
                    if lang == "zh"
                    else f"Change the dose to {recommended:g} mg"
                )
                card["suggestions"] = [
                    {
                        "label": label,
                        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, card["uuid"] + "/dose")),
                        "isRecommended": True,
                        "actions": [
                            {
                                "type": "update",
                                "description": label,
                                "resource": _corrected(draft, float(recommended)),
                            }
                        ],
                    }
                ]
            elif finding.rule in HOLD_RULES:
                label = "撤销本次给药医嘱" if lang == "zh" else "Withdraw this dose order"
                card["suggestions"] = [
                    {
                        "label": label,
                        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, card["uuid"] + "/hold")),
                        "actions": [{"type": "delete", "description": label, "resourceId": [rid]}],
                    }
                ]
            card["selectionBehavior"] = "at-most-one" if "suggestions" in card else None
            if card["selectionBehavior"] is None:
                del card["selectionBehavior"]
            cards.append(card)
    return cards


def _system_card(
    key: str, record: Record, today: dt.date, indicator: str, summary: str, label: str, base: str
) -> dict[str, Any]:
    return {
        "uuid": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{record.source}\x1f{record.id}\x1f{key}\x1f{today}")
        ),
        "summary": summary[:140],
        "indicator": indicator,
        "source": {"label": label},
        "links": [
            {
                "label": "bonepath",
                "url": f"{base}/patients/{patient_path(record.source, record.id)}",
                "type": "absolute",
            }
        ],
    }


async def _order_hook(request: Request, hook: str) -> JSONResponse:
    prepared = await _prepare(request, hook)
    if isinstance(prepared, JSONResponse):
        return prepared
    lang = _lang(request)
    drafts, drug_notes = _draft_doses(prepared.body.get("context") or {}, hook)
    notes = [note_card(prepared.patient_id, n, lang) for n in (*prepared.notes, *drug_notes)]
    record = prepared.record
    if record is None or not drafts:
        return JSONResponse({"cards": notes})
    today = deps.app_context(request).today()
    cards = await asyncio.to_thread(
        order_cards, record, drafts, today, lang, _base(request, prepared.config)
    )
    return JSONResponse({"cards": [*cards, *notes]})


@router.post(f"/{ORDER_SELECT}")
async def order_select(request: Request) -> JSONResponse:
    return await _order_hook(request, "order-select")


@router.post(f"/{ORDER_SIGN}")
async def order_sign(request: Request) -> JSONResponse:
    return await _order_hook(request, "order-sign")


@router.post("/{service_id}/feedback")
async def feedback(service_id: str, request: Request) -> JSONResponse:
    """CDS Hooks feedback: each card's outcome (accepted / overridden) goes to the audit log."""
    config = config_of(request)
    try:
        client = await authenticate(request, config)
    except Unauthorized as exc:
        return _unauthorized(str(exc))
    if service_id not in {s["id"] for s in _SERVICES}:
        return JSONResponse(
            {"error": "not-found", "detail": f"no service {service_id}"}, status_code=404
        )
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "invalid", "detail": "the body is not JSON"}, status_code=400)
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return JSONResponse(
            {"error": "invalid", "detail": "feedback: a list is required"}, status_code=400
        )
    for item in items:
        if not isinstance(item, dict) or item.get("outcome") not in ("accepted", "overridden"):
            return JSONResponse(
                {"error": "invalid", "detail": "outcome: accepted or overridden"}, status_code=400
            )
        detail = orjson.dumps(
            {
                "service": service_id,
                "iss": client.iss,
                "card": item.get("card"),
                "outcome": item["outcome"],
                "acceptedSuggestions": item.get("acceptedSuggestions"),
                "overrideReason": item.get("overrideReason"),
                "outcomeTimestamp": item.get("outcomeTimestamp"),
            }
        ).decode()
        deps.audit(request, None, "cds.feedback", detail=detail[:2000])
    return JSONResponse({}, status_code=200)


# ---- CORS ----------------------------------------------------------------------------------------

CORS_PATHS: Final = ("/cds-services", "/fhir")
CORS_HEADERS: Final = ("Authorization", "Content-Type", "Accept", "Accept-Language", "Prefer")


class InteropCors:
    """CORS for the interoperability routes only (``/cds-services``, ``/fhir``), so a
    browser-based CDS client or FHIR app of a configured origin can call them (the preflight
    ``OPTIONS`` is answered, ``Authorization`` allowed); the web pages and ``/api`` send no
    CORS headers."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "OPTIONS"],
            allow_headers=list(CORS_HEADERS),
            expose_headers=["Location", "Content-Location"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(path == p or path.startswith(p + "/") for p in CORS_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def cors_origins() -> list[str]:
    """``BONEPATH_CDS_CORS_ORIGINS``: comma-separated origins (``*`` for any); empty: none."""
    return [o.strip().rstrip("/") for o in CdsSettings().cors_origins.split(",") if o.strip()]


def install_cors(app: FastAPI, origins: list[str] | None = None) -> None:
    """Add :class:`InteropCors` for ``origins`` (default: the setting); nothing when none."""
    chosen = cors_origins() if origins is None else origins
    if chosen:
        app.add_middleware(InteropCors, origins=chosen)


# ---- warm-up -----------------------------------------------------------------------------------

_WARM_UP_ISS: Final = "urn:bonepath:cds-warm-up"
"""The issuer of the warm-up's calls: a client that exists only while the app starts."""
_CURVE_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def key_algorithms(config: CdsConfig) -> list[str]:
    """The JWS algorithms of the configured clients' keys, one per key type (the JWK's
    ``alg``, else RS384 for an RSA key and the curve's ES algorithm for an EC key): the
    warm-up signs a call with each, so the first EHR call finds its key type warm."""
    found: list[str] = []
    for client in config.clients.values():
        keys = client.jwks.get("keys") if isinstance(client.jwks, Mapping) else None
        for jwk in keys if isinstance(keys, list) else []:
            if not isinstance(jwk, Mapping):
                continue
            alg = jwk.get("alg")
            if alg not in ALGORITHMS:
                kty, crv = jwk.get("kty"), str(jwk.get("crv"))
                alg = (
                    "RS384" if kty == "RSA" else _CURVE_ALGORITHMS.get(crv) if kty == "EC" else None
                )
            if alg is not None and alg not in found:
                found.append(alg)
    return found or ["ES256"]


_SIGNING_KEYS: dict[str, Any] = {}


def _signing_key(alg: str) -> Any:
    """A private key for ``alg``, made once per process and kept in memory only (the
    warm-up's client; never written, never accepted once the app has started)."""
    key = _SIGNING_KEYS.get(alg)
    if key is None:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if alg.startswith("RS"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            curves: dict[str, ec.EllipticCurve] = {
                "ES256": ec.SECP256R1(),
                "ES384": ec.SECP384R1(),
                "ES512": ec.SECP521R1(),
            }
            key = ec.generate_private_key(curves[alg])
        _SIGNING_KEYS[alg] = key
    return key


def _public_jwk(alg: str) -> dict[str, Any]:
    public = _signing_key(alg).public_key()
    family = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = family.to_jwk(public, as_dict=True)
    return {**jwk, "kid": alg, "alg": alg}


def _warm_up_calls(today: dt.date) -> list[tuple[str, dict[str, Any]]]:
    """``(service, body)`` of the warm-up: for three synthetic patients (bone metastasis,
    a BTA plan, as most calls are) a patient-view and an order-sign of a 4 mg zoledronic acid
    draft, with the full prefetch as an EHR sends it."""
    from bonepath.interop.fhir.from_record import patient_id, patient_resources
    from bonepath.synth import generate_record

    calls: list[tuple[str, dict[str, Any]]] = []
    for seed in range(3):
        record = parse_record(generate_record(seed, 0), today=today)
        resources = patient_resources(record)
        prefetch: dict[str, Any] = {"patient": resources[0]}
        for key, template in PREFETCH.items():
            kind = template.split("?", 1)[0]
            if key != "patient":
                prefetch[key] = {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
                }
        pid = patient_id(record)
        draft = {
            "resourceType": "MedicationRequest",
            "id": "warm-up",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {
                "coding": [{"system": codes.RXNORM, "code": "77655"}],
                "text": "Zoledronic acid 4 mg IV",
            },
            "dosageInstruction": [
                {
                    "text": "4 mg IV",
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": 4,
                                "unit": "mg",
                                "system": codes.UCUM,
                                "code": "mg",
                            }
                        }
                    ],
                }
            ],
        }
        for service, hook in ((PATIENT_VIEW, "patient-view"), (ORDER_SIGN, "order-sign")):
            context: dict[str, Any] = {"userId": "Practitioner/warm-up", "patientId": pid}
            if hook == "order-sign":
                context["draftOrders"] = {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": draft}],
                }
            body = {
                "hook": hook,
                "hookInstance": str(uuid.uuid4()),
                "context": context,
                "prefetch": prefetch,
            }
            calls.append((service, body))
    return calls


async def warm_up(app: Any, today: dt.date) -> bool:
    """Real CDS calls through the app's own ASGI stack before the server takes connections,
    so the first EHR call is as fast as the next (issue 18: the first call took 616–698 ms,
    180–300 ms of CPU). A call made directly to the functions missed what only the HTTP
    route builds on its first request: FastAPI builds its routes' dependency models lazily
    (every route of the routers before ``/cds-services``, ≈ 150 ms), then the body, the JWT
    check with the key type, the replay store, the default thread pool, the JSON answer;
    and the full garbage collection that startup's objects made due (≈ 150 ms) is run here.

    The calls come from a client that exists only during the warm-up (issuer
    :data:`_WARM_UP_ISS`, a key of each algorithm the configured clients use, made in memory
    and never accepted once started): three synthetic patients, each a patient-view and an
    order-sign (Chinese and English cards). Only when CDS clients are configured; nothing
    is stored but the warm-up tokens' ``jti`` (forgotten when they expire, 90 s later). True
    when every call answered 200; a failure is logged and never stops the server."""
    config = app_config(app)
    if not config.clients:
        return False
    from starlette.concurrency import run_in_threadpool

    algorithms = key_algorithms(config)
    try:
        jwks = {"keys": await run_in_threadpool(lambda: [_public_jwk(a) for a in algorithms])}
        calls = await run_in_threadpool(_warm_up_calls, today)
    except Exception:  # a failed warm-up only means a slower first call
        log.exception("cds: warm-up failed")
        return False
    iss = f"{_WARM_UP_ISS}:{uuid.uuid4()}"
    config.clients[iss] = CdsClient(iss, jwks, source="warm-up")
    base = (config.public_base_url or "http://localhost").rstrip("/")
    answered: list[int] = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            for index, (service, body) in enumerate(calls):
                alg = algorithms[index % len(algorithms)]
                path = f"/cds-services/{service}"
                now = int(time.time())
                claims = {
                    "iss": iss,
                    "aud": base + path,
                    "iat": now,
                    "exp": now + 60,
                    "jti": uuid.uuid4().hex,
                }
                token = jwt.encode(claims, _signing_key(alg), algorithm=alg, headers={"kid": alg})
                response = await http.post(
                    path,
                    content=orjson.dumps(body),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Accept-Language": "en" if index // 2 == 1 else "zh-CN",
                    },
                )
                answered.append(response.status_code)
    except Exception:
        log.exception("cds: warm-up failed")
        return False
    finally:
        config.clients.pop(iss, None)
    # what startup left for the cyclic garbage collector: collected now rather than by a full
    # collection (≈ 150 ms) during one of the first calls
    gc.collect()
    if any(status != 200 for status in answered):
        log.warning("cds: warm-up calls answered %s", answered)
        return False
    log.info("cds: warmed up (%d calls, keys %s)", len(answered), ", ".join(algorithms))
    return True
