"""Correcting and voiding a record entry through the JSON API (issue 15 item 3): the same
service as the patient page's forms (:mod:`bonepath.api.entries`) — parsed like an import,
written with its history row, the author or a clinician, a reason, refused when the entry or
the record changed since it was read.

``POST /api/patients/{source}/{id}/entries/correct`` and ``…/entries/void``; only POST routes,
so the plain read ``GET /api/patients/{source}/{id}`` keeps every id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bonepath.api import deps, entries, services
from bonepath.api.deps import Context
from bonepath.api.params import PatientId, Source
from bonepath.errors import NotFound
from bonepath.record.history import canonical
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/patients", tags=["patients"])
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]


class EntryChange(BaseModel):
    """Which entry (``family``: an event list, ``lesions`` or ``cancer``; its ``index``; the
    ``fingerprint`` of the entry as read — ``entries.fingerprint``), its new content for a
    correction, and why."""

    family: str = Field(max_length=32)
    index: int = Field(ge=0, le=100_000)
    fingerprint: str = Field(max_length=64)
    entry: dict[str, Any] | None = None
    reason: str | None = Field(default=None, max_length=500)


@router.post("/{source}/{patient_id:path}/entries/{action}")
def change_entry(
    request: Request,
    context: Context,
    principal: Writer,
    source: Source,
    patient_id: PatientId,
    action: Literal["correct", "void"],
    body: EntryChange,
) -> dict[str, Any]:
    """Correct (``entry`` given) or void one entry; 422 with the problems by JSON path
    (``NOT_AUTHOR``, ``REASON_REQUIRED``, ``ENTRY_NOT_FOUND``, ``RECORD_CHANGED``, the record
    parser's), 404 outside the caller's hospitals."""
    try:
        record = services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        deps.audit_denied(request, principal, f"entry.{action}", patient=(source, patient_id))
        raise
    if body.family not in entries.FAMILIES:
        raise NotFound(f"no entry family {body.family}")
    new = None if action == "void" else (body.entry or {})
    written = entries.change_entry(
        context.store,
        principal,
        record,
        body.family,
        body.index,
        body.fingerprint,
        new,
        body.reason,
        today=context.today(),
    )
    revision = written.revision
    after = canonical(revision.after).decode() if revision.after is not None else "void"
    deps.audit(
        request,
        principal,
        f"entry.{revision.action}",
        patient=(source, patient_id),
        hospital=services.hospital_of(written.record),
        detail=(
            f"{body.family} {canonical(revision.before).decode()[:300]} -> {after[:300]}; "
            f"reason: {revision.reason or ''}"
        )[:1000],
    )
    return {
        "action": revision.action,
        "family": body.family,
        "before": revision.before,
        "after": revision.after,
        "reason": revision.reason,
        "recorded_on": revision.recorded_on.isoformat(),
    }
