"""Patients: list and search, read the record, its findings, and record an event.

Every route answers 404 for a patient outside the caller's hospitals (as for one that does not
exist) and writes one audit row per patient touched.

A patient id may contain ``/`` (``2024/00123``): the routes take it with the ``path``
converter, sent as ``/api/patients/his/2024/00123`` or ``/api/patients/his/2024%2F00123``. The
routes with a suffix (``/findings``, ``/events/...``) are declared before the plain read, so an
id is the text between the source and the last known suffix.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from bonepath.api import deps, services
from bonepath.api.deps import Context
from bonepath.api.params import KEY_MAX, Offset, PatientId, Source
from bonepath.errors import NotFound
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/patients", tags=["patients"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]


class EventIn(BaseModel):
    """An event to append to ``events.<family>`` (record-format.md), and for a BTA dose
    that a safety rule warns against, the reason to give it anyway."""

    event: dict[str, Any]
    override_reason: str | None = Field(default=None, max_length=500)


@router.get("")
def list_patients(
    request: Request,
    context: Context,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=KEY_MAX, description="id or source contains")] = None,
    hospital: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    total, found = services.list_patients(
        context.store, principal, query=q, hospital=hospital, limit=limit, offset=offset
    )
    action = "patient.search" if q else "patient.list"
    if found:
        accounts.audit_many(
            context.store.engine,
            principal,
            action,
            [(p.source, p.id, p.hospital) for p in found],
            client=deps.client_address(request),
        )
    else:
        deps.audit(request, principal, action)
    return {"total": total, "patients": [p.to_json() for p in found]}


def _guarded(request: Request, principal: Principal, action: str, source: str, pid: str) -> None:
    deps.audit_denied(request, principal, action, patient=(source, pid))
    raise NotFound(f"no patient {source}/{pid}")


@router.get("/{source}/{patient_id:path}/findings")
def patient_findings(
    request: Request,
    context: Context,
    principal: Reader,
    source: Source,
    patient_id: PatientId,
    as_of: Annotated[dt.date | None, Query(description="default: today")] = None,
) -> dict[str, Any]:
    """The guideline's findings on ``as_of`` (interfaces.md evaluation JSON)."""
    try:
        record, evaluation = services.findings(
            context.store, principal, source, patient_id, as_of or context.today()
        )
    except NotFound:
        _guarded(request, principal, "patient.findings", source, patient_id)
    deps.audit(
        request,
        principal,
        "patient.findings",
        patient=(source, patient_id),
        hospital=services.hospital_of(record),
    )
    return evaluation.to_json()


@router.post("/{source}/{patient_id:path}/events/bta/check")
def check_dose(
    request: Request,
    context: Context,
    principal: Writer,
    source: Source,
    patient_id: PatientId,
    body: EventIn,
) -> dict[str, Any]:
    """Dry run of a BTA dose: the findings of the would-be record on the dose day and the
    safety warnings (BTA-09, SAFE-02..05). Nothing is saved."""
    try:
        record = services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        _guarded(request, principal, "patient.check_dose", source, patient_id)
    check = services.check_dose(record, body.event, context.today())
    deps.audit(
        request,
        principal,
        "patient.check_dose",
        patient=(source, patient_id),
        hospital=services.hospital_of(record),
    )
    return check.to_json()


@router.post("/{source}/{patient_id:path}/events/{family}", status_code=201)
def add_event(
    request: Request,
    context: Context,
    principal: Writer,
    source: Source,
    patient_id: PatientId,
    family: Annotated[str, Path(max_length=32, description="the event list, e.g. bta")],
    body: EventIn,
) -> dict[str, Any]:
    """Append an event to ``events.<family>`` (``bta``, ``labs``, ``imaging``, ``dental``,
    ``bta_stop``, ... as in record-format.md); validated like an import (422 with JSON-path problems). A BTA dose that a safety rule warns against needs
    ``override_reason`` (409 otherwise) and the clinician's override permission."""
    try:
        services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        _guarded(request, principal, f"event.{family}", source, patient_id)
    reason = body.override_reason if principal.can(Permission.OVERRIDE_SAFETY) else None
    written = services.record_event(
        context.store,
        principal,
        source,
        patient_id,
        family,
        body.event,
        today=context.today(),
        override_reason=reason,
    )
    deps.audit(
        request,
        principal,
        f"event.{family}" + (".override" if written.override_reason else ""),
        patient=(source, patient_id),
        hospital=services.hospital_of(written.record),
        detail=_override_detail(written),
    )
    return {
        "status": written.status,
        "warnings": [w.to_json() for w in written.warnings],
        "override_reason": written.override_reason,
    }


@router.get("/{source}/{patient_id:path}")
def read_patient(
    request: Request, context: Context, principal: Reader, source: Source, patient_id: PatientId
) -> dict[str, Any]:
    """The stored record (format v1)."""
    try:
        record = services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        _guarded(request, principal, "patient.read", source, patient_id)
    deps.audit(
        request,
        principal,
        "patient.read",
        patient=(source, patient_id),
        hospital=services.hospital_of(record),
    )
    return record.to_json_dict()


def _override_detail(written: services.Written) -> str | None:
    if not written.override_reason:
        return None
    rules = ",".join(w.rule for w in written.warnings)
    return f"override {rules}: {written.override_reason}"[:1000]
