"""``GET /api/me``: who the caller is (user, role, granted hospitals, permissions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bonepath.api.deps import CurrentPrincipal
from bonepath.store.accounts import ROLE_PERMISSIONS

router = APIRouter(prefix="/api", tags=["accounts"])


@router.get("/me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role.value,
        "hospitals": sorted(principal.hospitals),
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
        "via": principal.via,
    }
