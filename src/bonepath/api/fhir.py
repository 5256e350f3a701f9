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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, or_, select
from starlette.concurrency import run_in_threadpool

from bonepath import __version__
from bonepath.api import deps, services
from bonepath.api.deps import Context
from bonepath.api.mdt_fhir import mdt_resources
from bonepath.api.params import OFFSET_MAX
from bonepath.engine.evaluate import evaluate
from bonepath.errors import NotFound
from bonepath.interop.fhir.from_record import (
    PATIENT_ID_MAX,
    catalogue_resources,
    fhir_id,
    findings_resources,
    patient_fhir_id,
    patient_resources,
    split_id,
)
from bonepath.interop.fhir.to_record import DEFAULT_SOURCE, IDENTIFIER_SYSTEM
from bonepath.record.model import Record
from bonepath.store import accounts
from bonepath.store.accounts import ALL_HOSPITALS, Permission, Principal, Role
from bonepath.store.schema import patients

FHIR_JSON: Final = "application/fhir+json"
BULK: Final = "http://hl7.org/fhir/uv/bulkdata"
"""The HL7 Bulk Data Access IG (``$export``: api/fhir_bulk.py)."""
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
    "CarePlan",  # MDT decisions (api/mdt_fhir.py)
    "Communication",  # MDT consultation threads
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

_JSON_FORMATS: Final = frozenset(
    {"json", "application/json", "application/fhir+json", "application/json+fhir"}
)


def json_only(request: Request) -> None:
    """406 for a format this server does not serve (XML, Turtle): FHIR R4 HTTP says a server
    answers 406 rather than another format than the one asked for (``_format`` or Accept)."""
    asked = request.query_params.get("_format")
    if asked is not None:
        if asked.split(";")[0].strip().lower() not in _JSON_FORMATS:
            raise HTTPException(406, f"_format={asked}: this server serves application/fhir+json")
        return
    accept = request.headers.get("accept", "").lower()
    if accept and not any(
        part.split(";")[0].strip() in ("*/*", "application/*") or "json" in part
        for part in accept.split(",")
    ):
        raise HTTPException(406, f"Accept: {accept}: this server serves application/fhir+json")


router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(json_only)])
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


COMMON_PARAMS: Final = ("_count", "_offset", "_sort", "_summary", "_elements", "_format")
"""Result parameters every search takes (besides its own search parameters)."""
RESOURCE_PARAMS: Final = ("patient", "subject", "code", "date", "_id")
"""The search parameters of a patient's clinical resources and findings."""
PATIENT_PARAMS: Final = ("_id", "identifier", "gender", "birthdate")
_PREFIXES: Final = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")


class SearchError(Exception):
    """A search bonepath cannot run as asked (400 OperationOutcome)."""

    def __init__(self, code: str, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.code = code
        self.status = status
        """400 for a search FHIR cannot run; 422 for a value beyond bonepath's bounds (as the
        edge refuses them everywhere, issue 13)."""


async def search_params(request: Request) -> list[tuple[str, str]]:
    """The parameters of a search: the query, and for ``POST …/_search`` the form body."""
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        params += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return params


def _strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    return "handling=strict" in prefer.split(";") or "handling=strict" in prefer.split(",")


def _checked(
    request: Request, params: list[tuple[str, str]], known: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The parameters bonepath runs: the others are refused under ``Prefer: handling=strict``
    and otherwise left out (and out of the self link), as FHIR R4 search says."""
    used = [(k, v) for k, v in params if k.split(":", 1)[0] in known or k in COMMON_PARAMS]
    ignored = sorted({k for k, _ in params} - {k for k, _ in used})
    if ignored and _strict(request):
        raise SearchError("not-supported", f"search parameter(s) not supported: {ignored}")
    for key, value in used:
        if ":" in key:
            raise SearchError("not-supported", f"search modifier {key!r} is not supported")
        if key == "_summary" and value not in ("count", "false"):
            raise SearchError("not-supported", f"_summary={value}: only count and false")
    return used


def _int(params: list[tuple[str, str]], key: str, default: int, high: int) -> int:
    values = [v for k, v in params if k == key]
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        raise SearchError("invalid", f"{key}={values[-1]!r}: an integer is expected") from None
    if not 0 <= number <= high:
        raise SearchError("invalid", f"{key}={number}: 0 to {high}")
    return number


def _one(params: list[tuple[str, str]], key: str) -> str | None:
    values = [v for k, v in params if k == key]
    return values[-1] if values else None


def date_range(value: str) -> tuple[str, dt.date, dt.date]:
    """A FHIR date search value: (prefix, first day, day after the last) of its precision."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    text = value[2:] if value[:2] in _PREFIXES else value
    day = text[:10]
    try:
        if len(day) == 4:
            start = dt.date(int(day), 1, 1)
            return prefix, start, dt.date(start.year + 1, 1, 1)
        if len(day) == 7:
            start = dt.date(int(day[:4]), int(day[5:7]), 1)
            end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
            return prefix, start, end
        start = dt.date.fromisoformat(day)
    except ValueError:
        raise SearchError("invalid", f"date {value!r}: [prefix]YYYY[-MM[-DD]]") from None
    return prefix, start, start + dt.timedelta(days=1)


def date_matches(day: dt.date | None, value: str) -> bool:
    if day is None:
        return False
    prefix, start, end = date_range(value)
    return {
        "eq": start <= day < end,
        "ap": start <= day < end,
        "ne": not start <= day < end,
        "lt": day < start,
        "eb": day < start,
        "le": day < end,
        "gt": day >= end,
        "sa": day >= end,
        "ge": day >= start,
    }[prefix]


_DATE_ELEMENTS: Final = (
    "effectiveDateTime",
    "effectivePeriod",
    "authoredOn",
    "onsetDateTime",
    "performedDateTime",
    "performedPeriod",
    "occurrenceDateTime",
    "recordedDate",
    "issued",
    "date",
    "authoredOn",
)
_CODE_ELEMENTS: Final = ("code", "medicationCodeableConcept", "category", "reasonCode")


def resource_day(resource: Mapping[str, Any]) -> dt.date | None:
    """The clinical date of a resource (the FHIR ``date`` search parameter's element)."""
    for name in _DATE_ELEMENTS:
        value = resource.get(name)
        if isinstance(value, Mapping):
            value = value.get("start")
        if isinstance(value, str) and len(value) >= 10:
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


def code_matches(resource: Mapping[str, Any], value: str) -> bool:
    """A token search: ``code``, ``system|code``, ``system|`` or ``|code``; commas are OR."""
    codings: list[Mapping[str, Any]] = []
    for name in _CODE_ELEMENTS:
        concept = resource.get(name)
        for c in concept if isinstance(concept, list) else [concept]:
            if isinstance(c, Mapping):
                codings.extend(x for x in c.get("coding", []) if isinstance(x, Mapping))
    for token in value.split(","):
        system, bar, code = token.rpartition("|")
        for coding in codings:
            if bar and system and coding.get("system") != system:
                continue
            if bar and not system and coding.get("system"):
                continue
            if code and coding.get("code") != code:
                continue
            return True
    return False


def _filtered(resources: list[dict[str, Any]], params: list[tuple[str, str]]) -> list[Any]:
    out = resources
    for key, value in params:
        if key == "code":
            out = [r for r in out if code_matches(r, value)]
        elif key == "date":
            out = [r for r in out if date_matches(resource_day(r), value)]
        elif key == "_id":
            ids = set(value.split(","))
            out = [r for r in out if r["id"] in ids]
    sort = _one(params, "_sort")
    for field_ in reversed((sort or "").split(",") if sort else []):
        name = field_.lstrip("-")
        if name not in ("date", "_id"):
            raise SearchError("not-supported", f"_sort={field_}: date and _id only")
        key_of: Callable[[dict[str, Any]], Any] = (
            (lambda r: resource_day(r) or dt.date.min) if name == "date" else (lambda r: r["id"])
        )
        out = sorted(out, key=key_of, reverse=field_.startswith("-"))
    return out


def _elements(resource: dict[str, Any], params: list[tuple[str, str]]) -> dict[str, Any]:
    wanted = _one(params, "_elements")
    if not wanted:
        return resource
    keep = {"resourceType", "id", "meta", *(e.strip() for e in wanted.split(","))}
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [
        *meta.get("tag", []),
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
        },
    ]
    out["meta"] = meta
    return out


def _searchset(
    request: Request,
    resources: list[dict[str, Any]],
    total: int,
    offset: int,
    count: int,
    params: list[tuple[str, str]] | None = None,
    included: list[dict[str, Any]] | None = None,
) -> FhirResponse:
    """A searchset Bundle; the self and next links carry only the parameters used;
    ``included`` resources (``_include``) follow the matches with search mode ``include``."""
    base = str(request.base_url).rstrip("/")
    used = [(k, v) for k, v in (params or []) if k not in ("_offset", "_count")]
    path = request.url.path.removesuffix("/_search")

    def link(at: int) -> str:
        query = urlencode([*used, ("_count", str(count)), ("_offset", str(at))])
        return f"{base}{path}?{query}"

    summary = _one(params or [], "_summary") == "count" or count == 0
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": link(offset)}],
    }
    if not summary:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}",
                "resource": _elements(r, params or []),
                "search": {"mode": "match"},
            }
            for r in resources
        ] + [
            {
                "fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "include"},
            }
            for r in included or []
        ]
        if offset + count < total:
            bundle["link"].append({"relation": "next", "url": link(offset + count)})
        if offset > 0:
            bundle["link"].append({"relation": "previous", "url": link(max(0, offset - count))})
    return FhirResponse(bundle)


@router.get("/metadata")
def metadata(request: Request, context: Context) -> FhirResponse:
    """The CapabilityStatement: what this server reads and searches."""
    base = str(request.base_url).rstrip("/") + "/fhir"
    by_patient = [
        {"name": "patient", "type": "reference"},
        {"name": "subject", "type": "reference"},
        {"name": "_id", "type": "token"},
        {"name": "code", "type": "token"},
        {"name": "date", "type": "date"},
    ]
    resources: list[dict[str, Any]] = [
        {
            "type": "Patient",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "operation": [
                {"name": "export", "definition": f"{BULK}/OperationDefinition/patient-export"}
            ],
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
                "searchInclude": [f"{kind}:patient", f"{kind}:subject"],
            }
            for kind in (*PATIENT_TYPES, *FINDING_TYPES)
        ),
        *({"type": kind, "interaction": [{"code": "read"}]} for kind in REFERENCED_TYPES),
        {
            "type": "Group",
            "interaction": [{"code": "read"}],
            "operation": [
                {"name": "export", "definition": f"{BULK}/OperationDefinition/group-export"}
            ],
        },
        {
            "type": "PlanDefinition",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": "_id", "type": "token"}],
        },
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
            "instantiates": [f"{BULK}/CapabilityStatement/bulk-data"],
            "format": ["json", "application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "Authorization: Bearer <token> (bonepath user token); "
                        "patients are limited to the caller's hospitals"
                    },
                    "resource": resources,
                    "interaction": [{"code": "transaction"}, {"code": "batch"}],
                    "operation": [
                        {"name": "export", "definition": f"{BULK}/OperationDefinition/export"}
                    ],
                    "searchParam": [
                        {"name": name, "type": "number" if name == "_count" else "string"}
                        for name in ("_count", "_sort", "_summary", "_elements")
                    ],
                }
            ],
        }
    )


# ---- patients ---------------------------------------------------------------------------------


def _visible(principal: Principal) -> list[Any]:
    hospitals = principal.hospital_filter()
    return [] if hospitals is None else [patients.c.hospital_id.in_(hospitals)]


def resolve(context: deps.AppContext, principal: Principal, pid: str) -> Record:
    """The stored record whose FHIR id is ``pid``: the client's own id of a FHIR-imported
    patient (``f001`` is ``("fhir", "f001")``), ``source.id``, or a hash of the key
    (:func:`patient_fhir_id`). ``fhir.f001``, the id such a patient had before, still reads it.

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
            keys = [(s, i) for s, i in rows if patient_fhir_id(s, i) == pid]
    elif _READABLE.match(pid):
        candidates = [(pid[:i], pid[i + 1 :]) for i, ch in enumerate(pid) if ch == "."]
        if "." not in pid:
            candidates = [(DEFAULT_SOURCE, pid)]
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
        if pid in (patient_fhir_id(record.source, record.id), fhir_id(record.source, record.id)):
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
    mdt = mdt_resources(context.store, record, kind)  # MDT cases, referrals, decisions
    if kind in FINDING_TYPES:
        evaluation = evaluate(record, context.today())
        return [r for r in findings_resources(evaluation) if r["resourceType"] == kind] + mdt
    return [r for r in patient_resources(record) if r["resourceType"] == kind] + mdt


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


Params = Annotated[list[tuple[str, str]], Depends(search_params)]


def _search_failed(exc: SearchError) -> FhirResponse:
    return outcome(exc.status, exc.code, str(exc))


def _birthdate_clause(value: str) -> Any:
    prefix, start, end = date_range(value)
    column = patients.c.birth_date
    return {
        "eq": and_(column >= start, column < end),
        "ap": and_(column >= start, column < end),
        "ne": or_(column < start, column >= end),
        "lt": column < start,
        "eb": column < start,
        "le": column < end,
        "gt": column >= end,
        "sa": column >= end,
        "ge": column >= start,
    }[prefix]


@router.get("/Patient")
@router.post("/Patient/_search")
def search_patients(
    request: Request, context: Context, principal: Reader, params: Params
) -> FhirResponse:
    """Search by ``_id``, ``identifier`` (``system|value``), ``gender``, ``birthdate`` (with
    the FHIR prefixes ``eq ne lt gt le ge sa eb ap`` at year, month or day precision)."""
    try:
        used = _checked(request, params, PATIENT_PARAMS)
        count = _int(used, "_count", DEFAULT_COUNT, MAX_COUNT)
        offset = _int(used, "_offset", 0, OFFSET_MAX)
        sort = _one(used, "_sort")
        if sort not in (None, "_id", "birthdate", "-birthdate"):
            raise SearchError("not-supported", f"_sort={sort}: _id, birthdate, -birthdate")
        where = _visible(principal)
        for key, value in used:
            if key == "birthdate":
                where.append(_birthdate_clause(value))
            elif len(value) > (FHIR_ID_MAX if key == "_id" else 256):
                raise SearchError("invalid", f"{key}: too long", 422)
    except SearchError as exc:
        return _search_failed(exc)
    id_ = _one(used, "_id")
    identifier = _one(used, "identifier")
    gender = _one(used, "gender")
    if id_ is not None:
        try:
            records = [resolve(context, principal, id_)]
        except NotFound:
            _denied(request, context, principal, "fhir.search", f"Patient?_id={id_}", id_)
            records = []
        return _patients_page(request, principal, records, len(records), 0, count, used)
    if identifier is not None:
        system, _, value = identifier.rpartition("|")
        prefix = IDENTIFIER_SYSTEM + "/"
        if system and not system.startswith(prefix):
            return _patients_page(request, principal, [], 0, offset, count, used)
        where.append(patients.c.id == value)
        if system:
            where.append(patients.c.source == system[len(prefix) :])
    if gender is not None:
        where.append(patients.c.sex == gender)
    order = (
        [patients.c.birth_date.desc() if sort == "-birthdate" else patients.c.birth_date]
        if sort in ("birthdate", "-birthdate")
        else []
    )
    store = context.store
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(patients).where(*where)).scalar_one()
        keys = (
            conn.execute(
                select(patients.c.source, patients.c.id)
                .where(*where)
                .order_by(*order, patients.c.source, patients.c.id)
                .limit(count)
                .offset(offset)
            ).all()
            if count
            else []
        )
    if identifier is not None and not total:
        # a patient asked for by key and not among the caller's: audited like a denied read
        asked_key = (system[len(IDENTIFIER_SYSTEM + "/") :], value) if system else None
        deps.audit_denied(
            request,
            principal,
            "fhir.search",
            patient=asked_key,
            asked=f"Patient?identifier={identifier}",
        )
    records = [r for s, i in keys if (r := store.get_record(s, i)) is not None]
    return _patients_page(request, principal, records, int(total), offset, count, used)


def _patients_page(
    request: Request,
    principal: Principal,
    records: list[Record],
    total: int,
    offset: int,
    count: int,
    params: list[tuple[str, str]],
) -> FhirResponse:
    for record in records:
        _audit(request, principal, "fhir.search", record)
    found = [patient_resources(r)[0] for r in records]
    return _searchset(request, found, total, offset, count, params)


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
        request: Request, context: Context, principal: Reader, params: Params
    ) -> FhirResponse:
        try:
            used = _includes(
                request, kind, _checked(request, params, (*RESOURCE_PARAMS, "_include"))
            )
            count = _int(used, "_count", DEFAULT_COUNT, MAX_COUNT)
            offset = _int(used, "_offset", 0, OFFSET_MAX)
            ref = _one(used, "patient") or _one(used, "subject")
            if not ref:
                raise SearchError("required", f"search {kind} by patient (patient=Patient/ID)")
            if len(ref) > FHIR_ID_MAX + 16:
                raise SearchError("invalid", "patient: Patient/ID of at most 64 characters", 422)
            for key, value in used:
                if key == "date":
                    date_range(value)
        except SearchError as exc:
            return _search_failed(exc)
        pid = ref.rsplit("/", 1)[-1]
        try:
            record = resolve(context, principal, pid)
        except NotFound:
            _denied(request, context, principal, "fhir.search", f"{kind}?patient={ref}", pid)
            return _searchset(request, [], 0, 0, count, used)
        _audit(request, principal, "fhir.search", record)
        try:
            found = _filtered(_resources_of(context, record, kind), used)
        except SearchError as exc:
            return _search_failed(exc)
        page = found[offset : offset + count]
        included = (
            [patient_resources(record)[0]]
            if page and any(k == "_include" for k, _ in used) and count
            else []
        )
        return _searchset(request, page, len(found), offset, count, used, included)

    return search


def _includes(request: Request, kind: str, used: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``_include=<kind>:patient`` (or ``:subject``) kept: the patient's Patient joins the page
    (search mode ``include``); another ``_include`` is refused under strict handling, else
    left out (and out of the self link)."""
    known = (f"{kind}:patient", f"{kind}:subject")
    wrong = [v for k, v in used if k == "_include" and v not in known]
    if wrong and _strict(request):
        raise SearchError("not-supported", f"_include={wrong[0]}: only {' or '.join(known)}")
    return [(k, v) for k, v in used if k != "_include" or v in known]


for _kind in (*PATIENT_TYPES, *FINDING_TYPES):
    router.add_api_route(f"/{_kind}/{{rid}}", _reader(_kind), methods=["GET"], name=f"read_{_kind}")
    router.add_api_route(f"/{_kind}", _searcher(_kind), methods=["GET"], name=f"search_{_kind}")
    router.add_api_route(
        f"/{_kind}/_search", _searcher(_kind), methods=["POST"], name=f"post_search_{_kind}"
    )
for _kind in REFERENCED_TYPES:
    router.add_api_route(f"/{_kind}/{{rid}}", _reader(_kind), methods=["GET"], name=f"read_{_kind}")


@router.get("/PlanDefinition", dependencies=[Depends(deps.require(Permission.READ_PATIENTS))])
@router.post(
    "/PlanDefinition/_search", dependencies=[Depends(deps.require(Permission.READ_PATIENTS))]
)
def search_plan_definitions(request: Request, params: Params) -> FhirResponse:
    from bonepath.rules import load_catalogue

    try:
        used = _checked(request, params, ("_id",))
        count = _int(used, "_count", MAX_COUNT, MAX_COUNT)
        offset = _int(used, "_offset", 0, OFFSET_MAX)
        plans = _filtered(catalogue_resources(load_catalogue()), used)
    except SearchError as exc:
        return _search_failed(exc)
    return _searchset(request, plans[offset : offset + count], len(plans), offset, count, used)


@router.get("/PlanDefinition/{rid}", dependencies=[Depends(deps.require(Permission.READ_PATIENTS))])
def read_plan_definition(rid: FhirId) -> FhirResponse:
    from bonepath.rules import load_catalogue

    for plan in catalogue_resources(load_catalogue()):
        if plan["id"] == rid:
            return FhirResponse(plan)
    return outcome(404, "not-found", f"no PlanDefinition/{rid}")


# ---- import --------------------------------------------------------------------------------------


_STATUS_TEXT: Final = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    405: "405 Method Not Allowed",
    422: "422 Unprocessable Entity",
}
_ENTRY: Final = re.compile(r"entry\[(\d+)\]")
_METHODS: Final = ("POST", "PUT")


def _issue(severity: str, code: str, text: str, where: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": text}
    if where:
        issue["expression"] = [where]
    return issue


def _who(refusal: Any) -> str:
    """Who a refusal is about: ``Patient/<id>`` when known, else where it was in the Bundle
    (never ``None/None``)."""
    if refusal.source and refusal.id:
        return f"Patient/{patient_fhir_id(refusal.source, refusal.id)}"
    return str(refusal.location)


def _refusal_issues(refusals: list[Any]) -> list[dict[str, Any]]:
    return [
        _issue(
            "error",
            "invalid",
            f"{_who(refusal)}: {error['code']}: {error['problem']}",
            error.get("fhir_path") or error.get("path") or None,
        )
        for refusal in refusals
        for error in refusal.errors
    ]


def _owners(entries: list[Any]) -> list[int | None]:
    """For each entry, the index of the Patient entry it belongs to (itself for a Patient;
    ``subject``/``patient`` by ``Patient/<id>`` or the Patient entry's ``fullUrl``, as the
    import groups them); None for an entry about no Patient of the Bundle."""
    keys: dict[str, int] = {}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            if isinstance(resource.get("id"), str):
                keys[f"Patient/{resource['id']}"] = index
            if isinstance(entry.get("fullUrl"), str):
                keys[entry["fullUrl"]] = index
    owners: list[int | None] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        owner: int | None = None
        if isinstance(resource, dict):
            if resource.get("resourceType") == "Patient":
                owner = index
            for attr in ("subject", "patient"):
                ref = resource.get(attr)
                if owner is None and isinstance(ref, dict):
                    owner = keys.get(str(ref.get("reference")))
        owners.append(owner)
    return owners


def _method(entry: Any) -> str | None:
    request = entry.get("request") if isinstance(entry, dict) else None
    method = request.get("method") if isinstance(request, dict) else None
    return method.upper() if isinstance(method, str) else None


def _response_bundle(
    kind: str, entries: list[Any], report: services.UploadReport
) -> dict[str, Any]:
    """A ``transaction-response`` or ``batch-response`` Bundle (FHIR R4 §3.1.0.11): one entry
    per request entry, in order, each with ``response.status`` and, for a stored Patient, its
    ``location``; a refused entry of a batch carries its OperationOutcome in ``outcome``."""
    owners = _owners(entries)
    stored: dict[int, tuple[str, str]] = {}  # Patient entry -> (FHIR id, status)
    for (source, id_, _hospital, status), location in zip(
        report.accepted, report.locations, strict=True
    ):
        found = _ENTRY.search(location)
        if found:
            stored[int(found[1])] = (patient_fhir_id(source, id_), status)
    refused: dict[int, list[Any]] = {}
    for refusal in report.refusals:
        found = _ENTRY.search(refusal.location)
        if found:
            refused.setdefault(int(found[1]), []).append(refusal)
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        owner = owners[index]
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind_of = resource.get("resourceType") if isinstance(resource, dict) else None
        response: dict[str, Any]
        method = _method(entry)
        if method is not None and method not in _METHODS:
            response = {
                "status": _STATUS_TEXT[405],
                "outcome": _outcome_of(
                    [
                        _issue(
                            "error",
                            "not-supported",
                            f"{method}: POST /fhir stores resources (POST, PUT) only",
                            f"Bundle.entry[{index}].request.method",
                        )
                    ]
                ),
            }
        elif index in refused or (owner is not None and owner in refused):
            response = {
                "status": _STATUS_TEXT[422],
                "outcome": _outcome_of(_refusal_issues(refused.get(index) or refused[owner or 0])),
            }
        elif owner is not None and owner in stored:
            pid, status = stored[owner]
            response = {"status": _STATUS_TEXT[201 if status == "imported" else 200]}
            if index == owner:
                response["location"] = f"Patient/{pid}"
            else:
                response["outcome"] = _outcome_of(
                    [
                        _issue(
                            "information",
                            "informational",
                            f"imported with Patient/{pid}: bonepath keeps a patient's "
                            f"resources in the patient's record; read them with "
                            f"GET {kind_of}?patient=Patient/{pid} (bonepath's resource ids; a "
                            "code bonepath does not use is not kept, docs/fhir.md)",
                        )
                    ]
                )
        else:
            response = {
                "status": _STATUS_TEXT[200],
                "outcome": _outcome_of(
                    [
                        _issue(
                            "information",
                            "informational",
                            f"{kind_of}: not stored: bonepath keeps the records of lung-cancer "
                            "patients, and of them only the resources it uses (docs/fhir.md)",
                        )
                    ]
                ),
            }
        out.append({"response": response})
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": out}


def _outcome_of(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


@router.post("")
async def post_bundle(request: Request, context: Context, principal: Importer) -> FhirResponse:
    """Import a Bundle exactly as ``bonepath import`` would, with the tenancy of
    ``POST /api/imports``.

    A ``transaction`` or ``batch`` Bundle answers a ``transaction-response`` /
    ``batch-response`` Bundle (FHIR R4 RESTful API, "transaction"): one entry per request
    entry with its ``response.status``. A transaction is all or nothing: when any part of it
    is refused nothing is stored and the answer is a 422 OperationOutcome naming each
    problem. Another Bundle (``collection``) answers an OperationOutcome with one issue per
    refused patient (its FHIR path as ``expression``)."""
    body = await request.body()  # at most BONEPATH_BODY_LIMIT_INTEROP_BYTES (api/limits.py)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return outcome(400, "structure", f"the body is not JSON: {exc}")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return outcome(400, "structure", "POST /fhir takes a Bundle")
    kind = data.get("type")
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        return outcome(400, "structure", "Bundle.entry must be a list")
    if kind == "transaction":
        for index, entry in enumerate(entries):
            method = _method(entry)
            if method is not None and method not in _METHODS:
                return outcome(
                    400,
                    "not-supported",
                    f"Bundle.entry[{index}].request.method {method}: POST /fhir stores "
                    "resources (POST, PUT) only; nothing of the transaction was stored",
                )
    with tempfile.TemporaryDirectory(prefix="bonepath-fhir-") as directory:
        path = Path(directory) / "bundle.json"
        path.write_bytes(body)
        if kind == "transaction":  # all or nothing, tenancy included: try it first
            preview = await run_in_threadpool(
                services.import_files,
                context.store,
                principal,
                [path],
                today=context.today(),
                label=path.name,
                dry_run=True,
            )
            if preview.refusals:
                return _transaction_refused(preview)
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
    if kind in ("transaction", "batch"):
        if kind == "transaction" and report.refusals:
            return _transaction_refused(report)
        return FhirResponse(_response_bundle(kind, entries, report))
    issues: list[dict[str, Any]] = [
        _issue(
            "information",
            "informational",
            f"imported {report.imported}, updated {report.updated}, "
            f"unchanged {report.unchanged}, refused {len(report.refusals)}",
        ),
        *_refusal_issues(report.refusals),
    ]
    status = 422 if report.refusals and not report.accepted else 200
    return FhirResponse(_outcome_of(issues), status_code=status)


def _transaction_refused(report: services.UploadReport) -> FhirResponse:
    issues = [
        _issue(
            "error",
            "processing",
            f"transaction refused whole, nothing stored: {len(report.refusals)} part(s) "
            "refused (a transaction is all or nothing, FHIR R4)",
        ),
        *_refusal_issues(report.refusals),
    ]
    return FhirResponse(_outcome_of(issues), status_code=422)
