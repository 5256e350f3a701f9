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
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic_settings import BaseSettings, SettingsConfigDict

from bonepath.api import deps
from bonepath.api.params import patient_path
from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation, Finding
from bonepath.errors import ConfigError, RecordRefused
from bonepath.interop.fhir import codes
from bonepath.interop.fhir.read import Unit, read_bundle, validate
from bonepath.interop.fhir.to_record import map_unit
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
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


@dataclass(slots=True)
class CdsConfig:
    clients: dict[str, CdsClient] = field(default_factory=dict)
    fetch_timeout_s: float = 2.0
    public_base_url: str | None = None
    """The service's base URL as the EHR sees it (``aud`` check); default: the request's."""
    bonepath_url: str | None = None
    """Where the links of the cards point (default: the request's base URL)."""


class CdsSettings(BaseSettings):
    """``BONEPATH_CDS_CLIENTS``: a JSON file ``{"clients": [{"iss", "jwks", "source"}],
    "fetch_timeout_s", "public_base_url"}``."""

    model_config = SettingsConfigDict(env_prefix="BONEPATH_CDS_", extra="ignore")
    clients: str = ""


def load_config(path: Path) -> CdsConfig:
    """The CDS configuration file (docs/cds-hooks.md)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clients = {
            c["iss"]: CdsClient(
                c["iss"], c["jwks"], c.get("source", "ehr"), tuple(c.get("fhir_servers", ()))
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
    state = request.app.state
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


def authenticate(request: Request, config: CdsConfig) -> CdsClient:
    """The calling EHR, from its signed JWT (CDS Hooks 2.0 "Trusting CDS Clients")."""
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
    if "jku" in head and head["jku"] not in (client.jwks.get("jku"), None):
        raise Unauthorized("jku: keys are only taken from the locally configured JWKS")
    try:
        keys = jwt.PyJWKSet.from_dict(dict(client.jwks))
        kid = head.get("kid")
        matching = [k for k in keys.keys if kid is None or k.key_id == kid]
        if not matching:
            raise Unauthorized(f"no configured key with kid {kid!r} for {client.iss}")
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
    """A unit of the resources of the prefetch (resources and searchset Bundles)."""
    unit = Unit("prefetch")
    for key, value in resources.items():
        if not isinstance(value, Mapping):
            continue
        if value.get("resourceType") == "Bundle":
            bundle = read_bundle(value, f"prefetch.{key}")
            unit.items.extend(i for i in bundle.items if i.resource_type != "OperationOutcome")
        else:
            unit.items.append(
                validate(value, str(value.get("resourceType", "?")), f"prefetch.{key}")
            )
    return unit


async def _fetch_missing(
    body: Mapping[str, Any],
    prefetch: dict[str, Any],
    patient_id: str,
    timeout: float,
    client_config: CdsClient,
) -> bool:
    """Fill the missing prefetch keys from ``fhirServer``; False when that failed or was late
    (or the server is not one the client may name)."""
    missing = [k for k in PREFETCH if prefetch.get(k) is None]
    server = body.get("fhirServer")
    if not missing:
        return True
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        return False
    if client_config.fhir_servers and not server.startswith(client_config.fhir_servers):
        return False
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
    except (httpx.HTTPError, TimeoutError, ValueError):
        return False
    prefetch.update(dict(results))
    return True


def _record(prefetch: Mapping[str, Any], client: CdsClient, today: dt.date) -> Record | None:
    """The patient's record from the FHIR data, or None when bonepath cannot evaluate it
    (no lung cancer, a refused record)."""
    mapped = map_unit(_unit_of(prefetch), today=today)
    if len(mapped.records) != 1 or mapped.records[0].problems:
        return None
    data = dict(mapped.records[0].data)
    if data.get("source") == "fhir":
        data["source"] = client.source
    try:
        return parse_record(data, today=today)
    except RecordRefused:
        return None


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
    lines.append(("Sources: " if lang == "en" else "出处：") + "; ".join(finding.sources))
    return "\n\n".join(lines)


def finding_card(finding: Finding, evaluation: Evaluation, lang: str, base: str) -> dict[str, Any]:
    """One finding as a card: summary in ``lang``, indicator by severity, the rule's source."""
    key = f"{evaluation.source}\x1f{evaluation.patient}\x1f{finding.rule}\x1f{finding.item}\x1f{evaluation.as_of}"
    patient_url = f"{base}/patients/{patient_path(evaluation.source, evaluation.patient)}"
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "summary": f"[{finding.rule}] {finding.title(lang)}"[:140],
        "detail": _detail(finding, lang),
        "indicator": _INDICATOR[finding.severity],
        "source": {
            "label": ("bonepath — " + finding.sources[0])[:200] if finding.sources else "bonepath",
            "url": f"{base}/fhir/PlanDefinition/rule.{finding.rule}",
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


def _base(request: Request, config: CdsConfig) -> str:
    return (config.bonepath_url or str(request.base_url)).rstrip("/")


async def _prepare(
    request: Request,
) -> tuple[CdsConfig, CdsClient, dict[str, Any], Record | None] | JSONResponse:
    config = config_of(request)
    try:
        client = authenticate(request, config)
    except Unauthorized as exc:
        return _unauthorized(str(exc))
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "invalid", "detail": "the body is not JSON"}, status_code=400)
    context = body.get("context") if isinstance(body, dict) else None
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str):
        return JSONResponse(
            {"error": "invalid", "detail": "context.patientId is required"}, status_code=400
        )
    prefetch = dict(body.get("prefetch") or {})
    today = deps.app_context(request).today()
    if not await _fetch_missing(body, prefetch, patient_id, config.fetch_timeout_s, client):
        return config, client, body, None
    record = await asyncio.to_thread(_record, prefetch, client, today)
    return config, client, body, record


@router.get("")
def discovery() -> dict[str, Any]:
    return {"services": _SERVICES}


@router.post(f"/{PATIENT_VIEW}")
async def patient_view(request: Request) -> JSONResponse:
    prepared = await _prepare(request)
    if isinstance(prepared, JSONResponse):
        return prepared
    config, _client, _body, record = prepared
    if record is None:
        return JSONResponse({"cards": []})
    today = deps.app_context(request).today()
    evaluation = await asyncio.to_thread(evaluate, record, today)
    lang, base = _lang(request), _base(request, config)
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


def _draft_doses(context: Mapping[str, Any], hook: str) -> list[DraftDose]:
    bundle = context.get("draftOrders")
    if not isinstance(bundle, Mapping):
        return []
    selections = set(context.get("selections") or []) if hook == "order-select" else None
    unit = read_bundle(bundle, "draftOrders")
    out = []
    for item in unit.items:
        if item.resource_type != "MedicationRequest" or item.model is None:
            continue
        if selections is not None and f"MedicationRequest/{item.id}" not in selections:
            continue
        row = codes.find("bta", item.model.medicationCodeableConcept)
        if row is None:
            continue
        dose = None
        for dosage in item.model.dosageInstruction or ():
            for rate in dosage.doseAndRate or ():
                quantity = rate.doseQuantity
                if quantity is not None and quantity.code == "mg" and quantity.value is not None:
                    dose = float(quantity.value)
        out.append(DraftDose(item.raw, Drug(row.target), dose))
    return out


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
    resource: dict[str, Any] = json.loads(json.dumps(draft.resource))
    for dosage in resource.get("dosageInstruction", []):
        for rate in dosage.get("doseAndRate", []):
            if "doseQuantity" in rate:
                rate["doseQuantity"].update(
                    {"value": dose_mg, "unit": "mg", "system": codes.UCUM, "code": "mg"}
                )
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
    prepared = await _prepare(request)
    if isinstance(prepared, JSONResponse):
        return prepared
    config, _client, body, record = prepared
    drafts = _draft_doses(body.get("context") or {}, hook)
    if record is None or not drafts:
        return JSONResponse({"cards": []})
    today = deps.app_context(request).today()
    cards = await asyncio.to_thread(
        order_cards, record, drafts, today, _lang(request), _base(request, config)
    )
    return JSONResponse({"cards": cards})


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
        client = authenticate(request, config)
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
