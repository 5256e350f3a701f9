"""``GET /api/audit``: the audit log, newest first (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from bonepath.api import deps
from bonepath.api.deps import Context
from bonepath.api.params import KEY_MAX, BeforeId
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/audit", tags=["audit"])

Admin = Annotated[Principal, Depends(deps.require(Permission.ADMIN))]


@router.get("")
def read_audit(
    request: Request,
    context: Context,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: BeforeId = None,
    user: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    patient: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    action: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
) -> dict[str, Any]:
    entries = accounts.read_audit(
        context.store.engine,
        viewer=principal,
        limit=limit,
        before_id=before_id,
        username=user,
        patient_id=patient,
        action=action,
    )
    deps.audit(request, principal, "audit.read")
    return {
        "entries": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "user": e.username,
                "role": e.role,
                "action": e.action,
                "patient": (
                    {"source": e.patient_source, "id": e.patient_id} if e.patient_id else None
                ),
                "hospital": e.hospital_id,
                "client": e.client,
                "outcome": e.outcome,
                "detail": e.detail,
                "patients": [
                    {"source": source, "id": patient_id, "hospital": hospital}
                    for source, patient_id, hospital in e.patients
                ],
            }
            for e in entries
        ]
    }
