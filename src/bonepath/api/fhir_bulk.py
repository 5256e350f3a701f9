"""FHIR Bulk Data Access (``$export``) for the regional registry (docs/fhir.md "Bulk export").

As the HL7 Bulk Data Access IG (v2) describes the asynchronous request pattern:

- kick-off ``GET /fhir/$export`` (system), ``/fhir/Patient/$export`` (every patient),
  ``/fhir/Group/{id}/$export`` (a Group is a hospital: its patients), with
  ``Prefer: respond-async``: ``202 Accepted`` and ``Content-Location`` = the status URL;
- status ``GET`` the status URL: ``202`` (``X-Progress``, ``Retry-After``) while it runs,
  ``200`` with the manifest (``transactionTime``, ``request``, ``requiresAccessToken``,
  ``output`` [``type``, ``url``, ``count``], ``error``) once done;
- each file ``GET``: NDJSON (``application/fhir+ndjson``), one resource per line;
- ``DELETE`` the status URL: the export is cancelled and its files removed (``202``).

Tenancy: an export holds only the patients of the caller's hospitals (a Group outside them
is 404), and only the caller who started it may read its status and files. The export needs
the ``export`` permission and is one audit row (``fhir.export``) naming every patient in it.
Jobs are directories under ``BONEPATH_BULK_DIR`` (default: the system's temporary directory),
so every worker process of one host serves them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response

from bonepath.api import deps
from bonepath.api.fhir import (
    FINDING_TYPES,
    PATIENT_TYPES,
    REFERENCED_TYPES,
    FhirResponse,
    _strict,
    json_only,
    outcome,
)
from bonepath.interop.fhir.export import Selection, records, write_ndjson
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal

NDJSON: Final = "application/fhir+ndjson"
OUTPUT_FORMATS: Final = frozenset({NDJSON, "application/ndjson", "ndjson"})
EXPORT_TYPES: Final = frozenset(
    {"Patient", *PATIENT_TYPES, *REFERENCED_TYPES}
    - set(FINDING_TYPES)
    - {"CarePlan", "Communication"}
)
"""Resource types an export holds (a patient's record as :func:`patient_resources` writes it)."""
PATIENT_COMPARTMENT: Final = EXPORT_TYPES - set(REFERENCED_TYPES)
"""Patient- and Group-level exports: the patient compartment (no Organization, Practitioner)
unless ``_type`` names them."""
KICK_OFF_PARAMS: Final = frozenset({"_outputFormat", "_type", "_since"})
JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
FileName = Annotated[str, PathParam(pattern=r"^[A-Za-z]{1,64}\.ndjson$")]
Exporter = Annotated[Principal, Depends(deps.require(Permission.EXPORT))]

router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(json_only)])


def bulk_dir() -> Path:
    value = os.environ.get("BONEPATH_BULK_DIR", "").strip()
    return Path(value) if value else Path(tempfile.gettempdir()) / "bonepath-bulk"


def _job_dir(job: str) -> Path:
    return bulk_dir() / job


def _read_job(job: str) -> dict[str, Any] | None:
    try:
        return dict(orjson.loads((_job_dir(job) / "job.json").read_bytes()))
    except (OSError, orjson.JSONDecodeError):
        return None


def _write_job(job: str, state: dict[str, Any]) -> None:
    folder = _job_dir(job)
    temporary = folder / "job.json.tmp"
    temporary.write_bytes(orjson.dumps(state))
    temporary.replace(folder / "job.json")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _kick_off(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    level: str,
    hospitals: list[str] | None,
) -> Response:
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    if "respond-async" not in prefer.replace(";", ",").split(","):
        return outcome(400, "invalid", "$export is asynchronous: send Prefer: respond-async")
    params = list(request.query_params.multi_items())
    unknown = sorted({k for k, _ in params} - KICK_OFF_PARAMS - {"_format"})
    if unknown and _strict(request):
        return outcome(400, "not-supported", f"$export parameter(s) not supported: {unknown}")
    asked = dict(params)
    output_format = asked.get("_outputFormat", NDJSON)
    if output_format not in OUTPUT_FORMATS:
        return outcome(
            400, "not-supported", f"_outputFormat={output_format}: only {NDJSON} is served"
        )
    types = set(PATIENT_COMPARTMENT if level != "system" else EXPORT_TYPES)
    if "_type" in asked:
        named = {
            t.strip()
            for value in request.query_params.getlist("_type")
            for t in value.split(",")
            if t.strip()
        }
        wrong = sorted(named - EXPORT_TYPES)
        if wrong:
            return outcome(
                400,
                "not-supported",
                f"_type: {wrong} are not exported; exported types: {sorted(EXPORT_TYPES)}",
            )
        types = named
    since: str | None = None
    if "_since" in asked:
        try:
            moment = dt.datetime.fromisoformat(asked["_since"].replace("Z", "+00:00"))
        except ValueError:
            return outcome(400, "invalid", f"_since={asked['_since']}: a FHIR instant expected")
        if moment.tzinfo is None:
            return outcome(400, "invalid", "_since: an instant with its time zone expected")
        since = moment.astimezone(dt.UTC).isoformat()
    visible = principal.hospital_filter()
    if hospitals is not None:
        chosen: list[str] | None = hospitals
    else:
        chosen = None if visible is None else list(visible)
    job = uuid.uuid4().hex
    folder = _job_dir(job)
    folder.mkdir(parents=True)
    state = {
        "owner": principal.user_id,
        "status": "in-progress",
        "request": str(request.url),
        "transactionTime": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "hospitals": chosen,
        "types": sorted(types),
        "since": since,
    }
    _write_job(job, state)
    client = deps.client_address(request)
    engine_store = context.store
    base = _base(request)

    def run() -> None:
        def cancelled() -> bool:
            return not (folder / "job.json").exists()

        try:
            selection = Selection(
                hospitals=chosen,
                since=dt.datetime.fromisoformat(since) if since else None,
            )
            written = write_ndjson(
                records(engine_store, selection),
                folder / "files",
                types=types,
                cancelled=cancelled,
            )
            if cancelled():
                return
            accounts.audit_many(
                engine_store.engine, principal, "fhir.export", written.patients, client=client
            )
            state["status"] = "complete"
            state["output"] = [
                {"type": kind, "url": f"{base}/$export-file/{job}/{path.name}", "count": count}
                for kind, (path, count) in written.files.items()
            ]
        except Exception as exc:  # noqa: BLE001 - reported in the status as FHIR says
            state["status"] = "error"
            state["diagnostics"] = f"{type(exc).__name__}: {exc}"
        if not cancelled():
            _write_job(job, state)

    threading.Thread(target=run, name=f"bulk-export-{job}", daemon=True).start()
    return Response(
        status_code=202,
        headers={"Content-Location": f"{base}/$export-status/{job}"},
    )


@router.get("/$export")
def export_system(request: Request, context: deps.Context, principal: Exporter) -> Response:
    """System-level export: every patient the caller may see, with their hospitals."""
    return _kick_off(request, context, principal, "system", None)


@router.get("/Patient/$export")
def export_patients(request: Request, context: deps.Context, principal: Exporter) -> Response:
    """Patient-level export: every patient the caller may see (the patient compartment)."""
    return _kick_off(request, context, principal, "patient", None)


@router.get("/Group/{gid}/$export")
def export_group(
    gid: Annotated[str, PathParam(max_length=64)],
    request: Request,
    context: deps.Context,
    principal: Exporter,
) -> Response:
    """Group-level export: a Group is a hospital (its id); its patients."""
    if not principal.sees(gid):
        return outcome(404, "not-found", f"no Group/{gid}")
    return _kick_off(request, context, principal, "group", [gid])


def _owned(job: str, principal: Principal) -> dict[str, Any] | None:
    state = _read_job(job)
    if state is None or state.get("owner") != principal.user_id:
        return None  # another user's export does not exist for this one
    return state


@router.get("/$export-status/{job}")
def export_status(job: JobId, principal: Exporter) -> Response:
    state = _owned(job, principal)
    if state is None:
        return outcome(404, "not-found", f"no export {job} (finished and deleted, or never)")
    if state["status"] == "in-progress":
        return Response(status_code=202, headers={"X-Progress": "in progress", "Retry-After": "1"})
    if state["status"] == "error":
        return outcome(500, "exception", str(state.get("diagnostics", "export failed")))
    manifest = {
        "transactionTime": state["transactionTime"],
        "request": state["request"],
        "requiresAccessToken": True,
        "output": state["output"],
        "error": [],
    }
    return JSONResponse(manifest, status_code=200)


@router.delete("/$export-status/{job}")
def export_cancel(job: JobId, principal: Exporter) -> Response:
    if _owned(job, principal) is None:
        return outcome(404, "not-found", f"no export {job}")
    shutil.rmtree(_job_dir(job), ignore_errors=True)
    return Response(status_code=202)


@router.get("/$export-file/{job}/{name}")
def export_file(job: JobId, name: FileName, principal: Exporter) -> Response:
    state = _owned(job, principal)
    path = _job_dir(job) / "files" / name
    if state is None or state.get("status") != "complete" or not path.is_file():
        return outcome(404, "not-found", f"no file {name} in export {job}")
    return FileResponse(path, media_type=NDJSON)


@router.get("/Group/{gid}")
def read_group(
    gid: Annotated[str, PathParam(max_length=64)],
    context: deps.Context,
    principal: Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))],
) -> FhirResponse:
    """A hospital as a Group (``actual``, of persons): what ``Group/{id}/$export`` exports."""
    from sqlalchemy import func, select

    from bonepath.store.schema import patients

    if not principal.sees(gid):
        return outcome(404, "not-found", f"no Group/{gid}")
    with context.store.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(patients).where(patients.c.hospital_id == gid)
        ).scalar_one()
    if not count:
        return outcome(404, "not-found", f"no Group/{gid}")
    return FhirResponse(
        {
            "resourceType": "Group",
            "id": gid,
            "type": "person",
            "actual": True,
            "name": f"patients of hospital {gid}",
            "quantity": int(count),
        }
    )
