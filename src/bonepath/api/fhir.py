"""``/fhir``: a read-only FHIR R4 API over the store (docs/fhir.md).

What bonepath holds, as FHIR: each stored patient as the resources of its mCODE-shaped export
(:mod:`bonepath.interop.fhir.from_record`), its current findings (DetectedIssue, Task,
CommunicationRequest, evaluated as of the app's today) and the rule catalogue
(PlanDefinition). Reads and searches need a caller with ``read_patients`` (bearer token or
session, :mod:`bonepath.api.deps`); a patient outside the caller's hospitals does not exist
for them (404, as for one that does not exist); every patient read is audited. The
CapabilityStatement (``/fhir/metadata``) is public, as FHIR expects. Errors are
OperationOutcome resources.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, or_, select
from starlette.concurrency import run_in_threadpool

from bonepath import __version__
from bonepath.api import deps, services
from bonepath.api.deps import Context
from bonepath.api.params import OFFSET_MAX
from bonepath.engine.evaluate import evaluate
from bonepath.errors import NotFound
from bonepath.interop.fhir.from_record import (
    PATIENT_ID_MAX,
    catalogue_resources,
    fhir_id,
    findings_resources,
    patient_resources,
    split_id,
)
from bonepath.interop.fhir.to_record import IDENTIFIER_SYSTEM
from bonepath.record.model import Record
from bonepath.store import accounts
from bonepath.store.accounts import ALL_HOSPITALS, Permission, Principal, Role
from bonepath.store.schema import patients

FHIR_JSON: Final = "application/fhir+json"
PATIENT_TYPES: Final = (
    "Condition",
    "Observation",
    "MedicationAdministration",
    "MedicationRequest",
    "Procedure",
    "DiagnosticReport",
    "CareTeam",
    "MedicationStatement",
    "AdverseEvent",
)
REFERENCED_TYPES: Final = ("Organization", "Practitioner")
"""The hospital, department and physician of a patient's export: read by id (the references
of Patient.managingOrganization and the CareTeam), not searched."""
FINDING_TYPES: Final = ("DetectedIssue", "Task", "CommunicationRequest")
DEFAULT_COUNT: Final = 50
MAX_COUNT: Final = 500
_HASHED: Final = re.compile(r"^h[0-9a-f]{40}$")
_READABLE: Final = re.compile(rf"^[A-Za-z0-9\-.]{{1,{PATIENT_ID_MAX}}}$")
"""A Patient id of the ``source.id`` form (:func:`fhir_id`): at most 44 characters."""
FHIR_ID_MAX: Final = 64
"""FHIR R4 ``id``: at most 64 letters, digits, ``-`` and ``.``."""
FhirId = Annotated[str, PathParam(min_length=1, max_length=FHIR_ID_MAX)]
Reference = Annotated[
    str | None, Query(max_length=FHIR_ID_MAX + 16, description="Patient/ID or ID")
]

router = APIRouter(prefix="/fhir", tags=["fhir"])
Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Importer = Annotated[Principal, Depends(deps.require(Permission.IMPORT))]


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def outcome(status: int, code: str, text: str) -> FhirResponse:
    """An OperationOutcome with one issue (FHIR's error body)."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return FhirResponse(body, status_code=status)


def _searchset(
    request: Request, resources: list[dict[str, Any]], total: int, offset: int, count: int
) -> FhirResponse:
    base = str(request.base_url).rstrip("/")
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {
                "fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
    if offset + count < total:
        params = dict(request.query_params)
        params.update({"_offset": str(offset + count), "_count": str(count)})
        query = "&".join(f"{k}={v}" for k, v in params.items())
        bundle["link"].append({"relation": "next", "url": f"{base}{request.url.path}?{query}"})
    return FhirResponse(bundle)


@router.get("/metadata")
def metadata(request: Request, context: Context) -> FhirResponse:
    """The CapabilityStatement: what this server reads and searches."""
    base = str(request.base_url).rstrip("/") + "/fhir"
    by_patient = [
        {"name": "patient", "type": "reference"},
        {"name": "subject", "type": "reference"},
    ]
    resources: list[dict[str, Any]] = [
        {
            "type": "Patient",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "identifier", "type": "token"},
                {"name": "gender", "type": "token"},
                {"name": "birthdate", "type": "date"},
            ],
        },
        *(
            {
                "type": kind,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": by_patient,
            }
            for kind in (*PATIENT_TYPES, *FINDING_TYPES)
        ),
        *({"type": kind, "interaction": [{"code": "read"}]} for kind in REFERENCED_TYPES),
        {"type": "PlanDefinition", "interaction": [{"code": "read"}, {"code": "search-type"}]},
    ]
    return FhirResponse(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": context.today().isoformat(),
            "kind": "instance",
            "software": {"name": "bonepath", "version": __version__},
            "implementation": {"description": "bonepath FHIR R4 read API", "url": base},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "Authorization: Bearer <token> (bonepath user token); "
                        "patients are limited to the caller's hospitals"
                    },
                    "resource": resources,
                }
            ],
        }
    )


# ---- patients ---------------------------------------------------------------------------------


def _visible(principal: Principal) -> list[Any]:
    hospitals = principal.hospital_filter()
    return [] if hospitals is None else [patients.c.hospital_id.in_(hospitals)]


def resolve(context: deps.AppContext, principal: Principal, pid: str) -> Record:
    """The stored record whose FHIR id is ``pid`` (``source.id``, or a hash of the key).

    A ``source.id`` id is split at each of its dots into the candidate keys and all of them are
    looked up in one query; an id that :func:`fhir_id` cannot have made (longer than
    :data:`PATIENT_ID_MAX`, or other characters) is no patient without a lookup, so the cost of
    an id is bounded whatever it holds (issue 13: 8,000 dots were 8,000 lookups).
    """
    store = context.store
    keys: list[tuple[str, str]] = []
    if _HASHED.match(pid):
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(patients.c.source, patients.c.id).where(*_visible(principal))
            )
            keys = [(s, i) for s, i in rows if fhir_id(s, i) == pid]
    elif _READABLE.match(pid):
        candidates = [(pid[:i], pid[i + 1 :]) for i, ch in enumerate(pid) if ch == "."]
        if candidates:
            with store.engine.connect() as conn:
                rows = conn.execute(
                    select(patients.c.source, patients.c.id).where(
                        or_(
                            *(
                                and_(patients.c.source == s, patients.c.id == i)
                                for s, i in candidates
                            )
                        ),
                        *_visible(principal),
                    )
                )
                keys = sorted((s, i) for s, i in rows)
    for source, id_ in keys:
        try:
            record = services.load_patient(store, principal, source, id_)
        except NotFound:
            continue
        if fhir_id(record.source, record.id) == pid:
            return record
    raise NotFound(f"no Patient/{pid}")


_EVERY_HOSPITAL: Final = Principal(0, "audit", Role.ADMIN, frozenset({ALL_HOSPITALS}))
"""Finds where a denied id lives, for the audit row only (never for an answer)."""


def _denied(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    action: str,
    asked: str,
    pid: str,
) -> None:
    """Audit a read or search that found no patient of the caller's (the answer stays 404 or
    an empty Bundle): what was asked, and the hospital of Patient ``pid`` when it exists (a
    ``source.id`` id; a hashed id is not searched for across every hospital)."""
    hospital = None
    if pid and not _HASHED.match(pid):
        try:
            hospital = services.hospital_of(resolve(context, _EVERY_HOSPITAL, pid))
        except NotFound:
            hospital = None
    deps.audit_denied(request, principal, action, hospital=hospital, asked=asked)


def _audit(request: Request, principal: Principal, action: str, record: Record) -> None:
    deps.audit(
        request,
        principal,
        action,
        patient=(record.source, record.id),
        hospital=services.hospital_of(record),
    )


def _resources_of(context: deps.AppContext, record: Record, kind: str) -> list[dict[str, Any]]:
    if kind in FINDING_TYPES:
        evaluation = evaluate(record, context.today())
        return [r for r in findings_resources(evaluation) if r["resourceType"] == kind]
    return [r for r in patient_resources(record) if r["resourceType"] == kind]


@router.get("/Patient/{pid}")
def read_patient(
    pid: FhirId, request: Request, context: Context, principal: Reader
) -> FhirResponse:
    try:
        record = resolve(context, principal, pid)
    except NotFound as exc:
        _denied(request, context, principal, "fhir.read", f"Patient/{pid}", pid)
        return outcome(404, "not-found", str(exc))
    _audit(request, principal, "fhir.read", record)
    return FhirResponse(patient_resources(record)[0])


@router.get("/Patient")
def search_patients(
    request: Request,
    context: Context,
    principal: Reader,
    id_: Annotated[str | None, Query(alias="_id", max_length=FHIR_ID_MAX)] = None,
    identifier: Annotated[
        str | None, Query(max_length=256, description="system|value or value")
    ] = None,
    gender: Annotated[str | None, Query(max_length=16)] = None,
    birthdate: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=OFFSET_MAX)] = 0,
) -> FhirResponse:
    """Search by ``_id``, ``identifier`` (``system|value``), ``gender``, ``birthdate`` (a day)."""
    if id_ is not None:
        try:
            records = [resolve(context, principal, id_)]
        except NotFound:
            _denied(request, context, principal, "fhir.search", f"Patient?_id={id_}", id_)
            records = []
        return _patients_page(request, principal, records, len(records), 0, count)
    where = _visible(principal)
    if identifier is not None:
        system, _, value = identifier.rpartition("|")
        prefix = IDENTIFIER_SYSTEM + "/"
        if system and not system.startswith(prefix):
            return _patients_page(request, principal, [], 0, offset, count)
        where.append(patients.c.id == value)
        if system:
            where.append(patients.c.source == system[len(prefix) :])
    if gender is not None:
        where.append(patients.c.sex == gender)
    if birthdate is not None:
        try:
            where.append(patients.c.birth_date == dt.date.fromisoformat(birthdate))
        except ValueError:
            return outcome(400, "invalid", f"birthdate {birthdate!r}: expected YYYY-MM-DD")
    store = context.store
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(patients).where(*where)).scalar_one()
        keys = conn.execute(
            select(patients.c.source, patients.c.id)
            .where(*where)
            .order_by(patients.c.source, patients.c.id)
            .limit(count)
            .offset(offset)
        ).all()
    if identifier is not None and not total:
        # a patient asked for by key and not among the caller's: audited like a denied read
        key = (system[len(IDENTIFIER_SYSTEM + "/") :], value) if system else None
        deps.audit_denied(
            request,
            principal,
            "fhir.search",
            patient=key,
            asked=f"Patient?identifier={identifier}",
        )
    records = [r for s, i in keys if (r := store.get_record(s, i)) is not None]
    return _patients_page(request, principal, records, int(total), offset, count)


def _patients_page(
    request: Request,
    principal: Principal,
    records: list[Record],
    total: int,
    offset: int,
    count: int,
) -> FhirResponse:
    for record in records:
        _audit(request, principal, "fhir.search", record)
    return _searchset(request, [patient_resources(r)[0] for r in records], total, offset, count)


# ---- the resources of a patient, findings, the catalogue ----------------------------------------


def _reader(kind: str) -> Callable[..., FhirResponse]:
    def read(rid: FhirId, request: Request, context: Context, principal: Reader) -> FhirResponse:
        parts = split_id(rid)
        try:
            if parts is None:
                raise NotFound(f"no {kind}/{rid}")
            record = resolve(context, principal, parts[0])
        except NotFound:
            patient = parts[0] if parts is not None else ""
            _denied(request, context, principal, "fhir.read", f"{kind}/{rid}", patient)
            return outcome(404, "not-found", f"no {kind}/{rid}")
        _audit(request, principal, "fhir.read", record)
        for resource in _resources_of(context, record, kind):
            if resource["id"] == rid:
                return FhirResponse(resource)
        return outcome(404, "not-found", f"no {kind}/{rid}")

    return read


def _searcher(kind: str) -> Callable[..., FhirResponse]:
    def search(
        request: Request,
        context: Context,
        principal: Reader,
        patient: Reference = None,
        subject: Reference = None,
    ) -> FhirResponse:
        ref = patient or subject
        if not ref:
            return outcome(400, "required", f"search {kind} by patient (patient=Patient/ID)")
        pid = ref.rsplit("/", 1)[-1]
        try:
            record = resolve(context, principal, pid)
        except NotFound:
            _denied(request, context, principal, "fhir.search", f"{kind}?patient={ref}", pid)
            return _searchset(request, [], 0, 0, MAX_COUNT)
        _audit(request, principal, "fhir.search", record)
        found = _resources_of(context, record, kind)
        return _searchset(request, found, len(found), 0, len(found) or 1)

    return search


for _kind in (*PATIENT_TYPES, *FINDING_TYPES):
    router.add_api_route(f"/{_kind}/{{rid}}", _reader(_kind), methods=["GET"], name=f"read_{_kind}")
    router.add_api_route(f"/{_kind}", _searcher(_kind), methods=["GET"], name=f"search_{_kind}")
for _kind in REFERENCED_TYPES:
    router.add_api_route(f"/{_kind}/{{rid}}", _reader(_kind), methods=["GET"], name=f"read_{_kind}")


@router.get("/PlanDefinition", dependencies=[Depends(deps.require(Permission.READ_PATIENTS))])
def search_plan_definitions(request: Request) -> FhirResponse:
    from bonepath.rules import load_catalogue

    plans = catalogue_resources(load_catalogue())
    return _searchset(request, plans, len(plans), 0, len(plans))


@router.get("/PlanDefinition/{rid}", dependencies=[Depends(deps.require(Permission.READ_PATIENTS))])
def read_plan_definition(rid: FhirId) -> FhirResponse:
    from bonepath.rules import load_catalogue

    for plan in catalogue_resources(load_catalogue()):
        if plan["id"] == rid:
            return FhirResponse(plan)
    return outcome(404, "not-found", f"no PlanDefinition/{rid}")


# ---- import --------------------------------------------------------------------------------------


@router.post("")
async def post_bundle(request: Request, context: Context, principal: Importer) -> FhirResponse:
    """Import a Bundle (``batch``, ``transaction`` or ``collection``) exactly as
    ``bonepath import`` would, with the tenancy of ``POST /api/imports``: the answer is an
    OperationOutcome with one issue per refused patient (its FHIR path as ``expression``)."""
    body = await request.body()  # at most BONEPATH_BODY_LIMIT_INTEROP_BYTES (api/limits.py)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return outcome(400, "structure", f"the body is not JSON: {exc}")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return outcome(400, "structure", "POST /fhir takes a Bundle")
    with tempfile.TemporaryDirectory(prefix="bonepath-fhir-") as directory:
        path = Path(directory) / "bundle.json"
        path.write_bytes(body)
        report = await run_in_threadpool(
            services.import_upload, context.store, principal, path, today=context.today()
        )
    accounts.audit_many(
        context.store.engine,
        principal,
        "fhir.import",
        [(s, i, h) for s, i, h, _status in report.accepted],
        client=deps.client_address(request),
    )
    issues: list[dict[str, Any]] = [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"imported {report.imported}, updated {report.updated}, "
            f"unchanged {report.unchanged}, refused {len(report.refusals)}",
        }
    ]
    for refusal in report.refusals:
        for error in refusal.errors:
            issue: dict[str, Any] = {
                "severity": "error",
                "code": "invalid",
                "diagnostics": f"{refusal.source}/{refusal.id}: {error['code']}: {error['problem']}",
            }
            where = error.get("fhir_path") or error["path"]
            if where:
                issue["expression"] = [where]
            issues.append(issue)
    status = 422 if report.refusals and not report.accepted else 200
    return FhirResponse({"resourceType": "OperationOutcome", "issue": issues}, status_code=status)
