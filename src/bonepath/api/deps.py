"""Dependencies every router uses: the app context, who is calling, CSRF, permissions, audit.

A router of another part of bonepath (FHIR, CDS Hooks, the quality dashboard) asks for the
caller with ``Depends(current_principal)`` and for a permission with
``Depends(require(Permission.QUALITY))``; both answer 401/403 themselves.

- **Who**: an ``Authorization: Bearer <token>`` header (API tokens, for integrations), else the
  ``bonepath_session`` cookie (browsers). Neither: 401 for the API; the pages redirect to
  ``/login`` (see :class:`LoginRequired`).
- **CSRF**: a request authenticated by the cookie that changes something (POST, PUT, PATCH,
  DELETE) must carry the session's CSRF token, in the ``X-CSRF-Token`` header or the
  ``csrf_token`` form field; bearer-token requests are exempt (no ambient credential).
- **Tenancy**: :class:`~bonepath.store.accounts.Principal` knows the granted hospitals; the
  services (:mod:`bonepath.api.services`) answer 404 for a patient outside them, and the
  routes record the refusal with :func:`audit_denied`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request

from bonepath.api.services import RegistryCache, stored_hospital
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal
from bonepath.store.repository import Store

SESSION_COOKIE: Final = "bonepath_session"
LANG_COOKIE: Final = "bonepath_lang"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf_token"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class AppContext:
    """What the routes share: settings, the open store and the clock (the day "today")."""

    settings: Settings
    store: Store
    today: Callable[[], dt.date]
    worklists: RegistryCache = field(default_factory=RegistryCache)


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.bonepath
    return context


Context = Annotated[AppContext, Depends(app_context)]


class LoginRequired(Exception):
    """No valid session or token: 401 for the API, a redirect to the login page for pages."""


def client_address(request: Request) -> str:
    """The caller's address (the proxy's ``X-Forwarded-For`` only when uvicorn trusts it)."""
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(request: Request) -> Principal:
    """The authenticated caller; CSRF is checked here for cookie-authenticated writes."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    context = app_context(request)
    engine = context.store.engine
    token = _bearer(request)
    principal: Principal | None
    if token is not None:
        principal = accounts.principal_for_token(engine, token)
        if principal is None:
            raise LoginRequired()
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        resumed = accounts.resume_session(engine, cookie) if cookie else None
        if resumed is None:
            raise LoginRequired()
        principal, csrf = resumed
        request.state.csrf_token = csrf
        if request.method not in _SAFE_METHODS:
            await _check_csrf(request, csrf)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``permission`` (else 403)."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.can(permission):
            raise HTTPException(status_code=403, detail=f"needs the {permission.value} permission")
        return principal

    return dependency


def audit(
    request: Request,
    principal: Principal | None,
    action: str,
    *,
    patient: tuple[str, str] | None = None,
    hospital: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> None:
    """Append an audit row for this request (who, role, action, patient, when, from where)."""
    accounts.audit(
        app_context(request).store.engine,
        principal,
        action,
        client=client_address(request),
        patient=patient,
        hospital=hospital,
        outcome=outcome,
        detail=detail,
    )


def audit_denied(
    request: Request,
    principal: Principal,
    action: str,
    *,
    patient: tuple[str, str] | None = None,
    hospital: str | None = None,
    asked: str | None = None,
) -> None:
    """Record a request refused for tenancy (``outcome`` ``denied``): who, what was asked (the
    patient key as given, ``asked`` for anything else, e.g. ``Patient/his.P1`` or a task id),
    and the hospital of the patient asked for when it exists (looked up here unless given), so
    that the admins of that hospital see the attempt. The caller's answer is unchanged (404,
    as for what does not exist); the row is written whether or not the patient exists, so the
    audit log read back by the caller's own admins is no oracle either."""
    if patient is not None and hospital is None:
        _exists, hospital = stored_hospital(app_context(request).store, *patient)
    audit(
        request,
        principal,
        action,
        patient=patient,
        hospital=hospital,
        outcome="denied",
        detail=None if asked is None else f"asked: {asked}"[:500],
    )
