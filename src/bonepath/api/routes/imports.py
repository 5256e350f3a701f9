"""``POST /api/imports``: upload a JSON, NDJSON, template CSV or Excel file.

Records are validated as by ``bonepath import``; records of hospitals not granted to the
caller are refused (``HOSPITAL_NOT_GRANTED``). One audit row per accepted patient.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from bonepath.api import deps, services, staging
from bonepath.api.deps import Context
from bonepath.errors import InputError
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/imports", tags=["imports"])

Importer = Annotated[Principal, Depends(deps.require(Permission.IMPORT))]


async def save_upload(
    upload: UploadFile, directory: Path, *, accepted: Sequence[str] = services.ACCEPTED_UPLOADS
) -> Path:
    """The upload as a file under ``directory`` with its (sanitized) name and suffix.

    Raises
    ------
    InputError
        Its suffix is not one of ``accepted``, or ``directory`` already holds a file of its
        name (two uploads of one name).
    """
    name = Path((upload.filename or "upload").replace("\\", "/")).name
    suffix = Path(name).suffix.lower()
    if suffix not in accepted:
        raise InputError(
            f"{name}: not an importable file; accepted: {', '.join(accepted)}", code="UNSUPPORTED_FILE"
        )
    # The file keeps its own name: a template CSV is known by it (patients.csv, 检验.csv), and
    # a refusal names the user's file, not a made-up one. Anything odd becomes upload.SUFFIX.
    target = directory / staging.safe_name(name, suffix)
    if target.exists():
        raise InputError(f"{target.name}: two files of this name; upload each name once")
    # the size was bounded while the request streamed in (BONEPATH_BODY_LIMIT_IMPORT_BYTES)
    with target.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            out.write(chunk)
    return target


async def run_import(
    request: Request, context: deps.AppContext, principal: Principal, upload: UploadFile
) -> services.UploadReport:
    with tempfile.TemporaryDirectory(prefix="bonepath-upload-") as directory:
        path = await save_upload(upload, Path(directory))
        report = await run_in_threadpool(
            services.import_upload, context.store, principal, path, today=context.today()
        )
    audit_import(request, context, principal, report)
    return report


def audit_import(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    report: services.UploadReport,
) -> None:
    """One audit row per stored patient, and one ``refused`` row when any record was refused."""
    accounts.audit_many(
        context.store.engine,
        principal,
        "patient.import",
        [(s, i, h) for s, i, h, _status in report.accepted],
        client=deps.client_address(request),
    )
    if report.refusals:
        deps.audit(request, principal, "patient.import", outcome="refused")


@router.post("")
async def upload(
    request: Request, context: Context, principal: Importer, file: UploadFile
) -> dict[str, Any]:
    """Import the uploaded file; the report lists accepted and refused records."""
    report = await run_import(request, context, principal, file)
    return report.to_dict()
