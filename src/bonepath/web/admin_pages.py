"""Administration pages (admin role, issue 15 item 7): users, hospitals, the audit log.

- ``/admin/users``: every user the admin may manage, and a form to create one (role, hospitals
  known to the store, initial password); ``/admin/users/{name}``: change the role or the
  hospitals, disable or enable, set a new password, create, list and revoke API tokens.
- ``/admin/hospitals``: the hospitals known to the store (registered here or named by
  patients) with name, city tier, type and departments; register or edit one.
- ``/admin/audit``: the audit log with filters (user, patient, operation, outcome, hospital,
  days) and times in the configured zone (``BONEPATH_TIMEZONE``, Asia/Shanghai by default).

An admin granted some hospitals manages only the users whose grants lie within theirs (others
are 404, as any object outside the caller's hospitals), grants only those hospitals, and edits
only those hospitals; registering a new hospital and granting ``*`` are for an admin granted
every hospital. Every change is an audit row (``admin.user.*``, ``admin.hospital.save``);
the store functions (:mod:`bonepath.store.accounts`, :mod:`bonepath.store.hospitals`) do the
work, as for ``bonepath user``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bonepath.api import deps
from bonepath.api.deps import Context
from bonepath.api.params import KEY_MAX, BeforeId
from bonepath.errors import InputError, NotFound
from bonepath.store import accounts, hospitals
from bonepath.store.accounts import ALL_HOSPITALS, Permission, Principal, Role, UserInfo
from bonepath.vocab import CityTier, Department, HospitalType
from bonepath.web.i18n import gettext
from bonepath.web.pages import N_, render, request_lang

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(deps.require(Permission.ADMIN))]

AUDIT_PAGE: Final = 100
TIER_LABELS: Final = {"tier1-2": N_("Tier 1–2 city"), "tier3-4": N_("Tier 3–4 city")}
TYPE_LABELS: Final = {"general": N_("General hospital"), "cancer": N_("Cancer hospital")}
TOKEN_STATES: Final = (N_("active"), N_("revoked"), N_("expired"))
"""The states of an API token (:meth:`bonepath.store.accounts.TokenInfo.state`), translated."""
OUTCOME_LABELS: Final = {
    "ok": N_("ok"),
    "denied": N_("denied (not in the user's hospitals)"),
    "refused": N_("refused (input or safety check)"),
    "failed": N_("failed login"),
    "throttled": N_("login locked"),
}
ACTION_LABELS: Final = {
    "login": N_("Login"),
    "logout": N_("Logout"),
    "patient.": N_("Patients: any"),
    "patient.read": N_("Patient page read"),
    "patient.list": N_("Patient list"),
    "patient.search": N_("Patient search"),
    "patient.import": N_("Import"),
    "worklist.": N_("Worklist: any"),
    "worklist.read": N_("Worklist viewed"),
    "worklist.export": N_("Worklist exported"),
    "event.": N_("Entries recorded: any"),
    "task.close": N_("Follow-up task closed"),
    "quality.": N_("Quality: any"),
    "audit.read": N_("Audit log read"),
    "admin.": N_("Administration: any"),
}
"""The operations offered by the audit filter (a value ending in ``.`` selects its family)."""
ACTION_NAMES: Final = {
    **ACTION_LABELS,
    "patient.findings": N_("Patient findings read"),
    "admin.user.list": N_("Users listed"),
    "admin.user.create": N_("User created"),
    "admin.user.role": N_("Role changed"),
    "admin.user.hospitals": N_("Hospitals granted"),
    "admin.user.enable": N_("Account enabled"),
    "admin.user.disable": N_("Account disabled"),
    "admin.user.password": N_("Password reset"),
    "admin.user.token": N_("API token created"),
    "admin.user.revoke": N_("API tokens revoked"),
    "admin.hospital.list": N_("Hospitals listed"),
    "admin.hospital.save": N_("Hospital saved"),
}
"""What the audit page calls each operation (its code is shown beside)."""

MESSAGES: Final = {
    "unknown_hospital": N_(
        "Unknown hospital: register it on the Hospitals page first, or import its patients."
    ),
    "not_your_hospital": N_("You may grant only the hospitals granted to you."),
    "taken": N_("This user name is taken."),
    "short_password": N_("A password needs at least 10 characters."),
    "no_hospital": N_("Choose at least one hospital."),
    "bad_name": N_("A user name needs 1 to 64 characters."),
    "reversed": N_("The period starts after it ends: swap the two dates."),
    "hospital_name": N_("A hospital needs an id and a name."),
    "regional_only": N_("Only an administrator of every hospital registers a new hospital."),
    "invalid": N_("The input was refused."),
    "bad_date": N_("A date is written as 2026-11-02."),
}
SAVED: Final = {
    "created": N_("User created."),
    "role": N_("Role changed; the user logs in again."),
    "hospitals": N_("Hospitals changed."),
    "active": N_("Account enabled."),
    "inactive": N_("Account disabled; its sessions ended and its API tokens were revoked."),
    "password": N_("Password set; the user's sessions ended and API tokens were revoked."),
    "revoked": N_("API tokens revoked."),
    "hospital": N_("Hospital saved."),
}


class NotGrantable(Exception):
    """A hospital asked for that is not granted to the admin granting it."""


def _message(exc: InputError | NotFound) -> str:
    """The key of :data:`MESSAGES` for a refusal of the store."""
    text = str(exc)
    if isinstance(exc, hospitals.UnknownHospital):
        return "unknown_hospital"
    for needle, key in (
        ("taken", "taken"),
        ("at least 10", "short_password"),
        ("password needs", "short_password"),
        ("at least one hospital", "no_hospital"),
        ("user name needs", "bad_name"),
        ("hospital needs a name", "hospital_name"),
        ("hospital id needs", "hospital_name"),
    ):
        if needle in text:
            return key
    return "invalid"


# ---- who an admin manages ---------------------------------------------------------------------


def _manages(principal: Principal, user: UserInfo) -> bool:
    """An admin of every hospital manages everyone; another admin the users whose grants all
    lie within theirs."""
    if principal.all_hospitals:
        return True
    return bool(user.hospitals) and all(h in principal.hospitals for h in user.hospitals)


def _managed_user(context: deps.AppContext, principal: Principal, username: str) -> UserInfo:
    user = accounts.find_user(context.store.engine, username)
    if not _manages(principal, user):
        raise NotFound(f"no user {username!r}")
    return user


def _grantable(context: deps.AppContext, principal: Principal) -> list[hospitals.HospitalInfo]:
    return hospitals.list_hospitals(context.store.engine, principal.hospital_filter())


def _check_grants(
    context: deps.AppContext, principal: Principal, chosen: Iterable[str]
) -> list[str]:
    grants = sorted({h.strip() for h in chosen if h.strip()})
    if not grants:
        raise InputError("grant at least one hospital id (or * for all)")
    if not principal.all_hospitals and any(h not in principal.hospitals for h in grants):
        raise NotGrantable
    hospitals.require_known(context.store.engine, grants)
    return grants


def _hospital_label(found: Mapping[str, hospitals.HospitalInfo], hospital_id: str) -> str:
    if hospital_id == ALL_HOSPITALS:
        return "*"
    hospital = found.get(hospital_id)
    return f"{hospital.name}（{hospital_id}）" if hospital and hospital.name else hospital_id


def _admin_page(
    request: Request,
    principal: Principal,
    template: str,
    page: Mapping[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        template,
        {
            "TIER_LABELS": TIER_LABELS,
            "TYPE_LABELS": TYPE_LABELS,
            "MESSAGES": MESSAGES,
            "SAVED": SAVED,
            "roles": [r.value for r in Role],
            **page,
        },
        status=status,
        principal=principal,
    )


# ---- users --------------------------------------------------------------------------------------


@router.get(
    "/admin",
    response_class=RedirectResponse,
    dependencies=[Depends(deps.require(Permission.ADMIN))],
)
def admin_home() -> RedirectResponse:
    return RedirectResponse("/admin/users", status_code=303)


def _users_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    extra: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    known = {h.id: h for h in hospitals.list_hospitals(context.store.engine)}
    users = [u for u in accounts.list_users(context.store.engine) if _manages(principal, u)]
    return _admin_page(
        request,
        principal,
        "admin_users.html",
        {
            "users": users,
            "label": lambda h: _hospital_label(known, h),
            "grantable": _grantable(context, principal),
            "may_grant_all": principal.all_hospitals,
            "form": {},
            "saved": request.query_params.get("saved", ""),
            **(extra or {}),
        },
        status=status,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, context: Context, principal: Admin) -> HTMLResponse:
    deps.audit(request, principal, "admin.user.list")
    return _users_page(request, context, principal)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    context: Context,
    principal: Admin,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    hospital: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "hospital": hospital or [],
    }
    try:
        grants = _check_grants(context, principal, hospital or [])
        accounts.create_user(
            context.store.engine,
            username,
            password,
            role,
            grants,
            display_name=display_name.strip() or None,
        )
    except NotGrantable:
        return _users_page(
            request, context, principal, {"form": form, "error": "not_your_hospital"}, status=403
        )
    except (InputError, NotFound) as exc:
        deps.audit(
            request,
            principal,
            "admin.user.create",
            outcome="refused",
            detail=f"user: {username[:64]}",
        )
        return _users_page(
            request, context, principal, {"form": form, "error": _message(exc)}, status=422
        )
    deps.audit(
        request,
        principal,
        "admin.user.create",
        detail=f"user: {username.strip()}; role: {role}; hospitals: {','.join(grants)}",
    )
    return RedirectResponse(f"/admin/users/{username.strip()}?saved=created", status_code=303)


def _user_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    user: UserInfo,
    extra: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    known = {h.id: h for h in hospitals.list_hospitals(context.store.engine)}
    tokens = accounts.list_api_tokens(context.store.engine, user.username)
    now = dt.datetime.now(dt.UTC)
    return _admin_page(
        request,
        principal,
        "admin_user.html",
        {
            "user": user,
            "label": lambda h: _hospital_label(known, h),
            "grantable": _grantable(context, principal),
            "may_grant_all": principal.all_hospitals,
            "tokens": [(t, t.state(now)) for t in tokens],
            "saved": request.query_params.get("saved", ""),
            "new_token": None,
            **(extra or {}),
        },
        status=status,
    )


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, context: Context, principal: Admin, username: str) -> HTMLResponse:
    user = _managed_user(context, principal, username)
    return _user_page(request, context, principal, user)


def _changed(
    request: Request, principal: Principal, action: str, username: str, what: str, saved: str
) -> RedirectResponse:
    deps.audit(request, principal, f"admin.user.{action}", detail=f"user: {username}; {what}")
    return RedirectResponse(f"/admin/users/{username}?saved={saved}", status_code=303)


@router.post("/admin/users/{username}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    role: Annotated[str, Form(max_length=32)],
) -> Response:
    user = _managed_user(context, principal, username)
    try:
        accounts.set_role(context.store.engine, user.username, role)
    except InputError as exc:
        return _user_page(request, context, principal, user, {"error": _message(exc)}, status=422)
    return _changed(request, principal, "role", user.username, f"role: {role}", "role")


@router.post("/admin/users/{username}/hospitals", response_class=HTMLResponse)
def change_hospitals(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    hospital: Annotated[list[str] | None, Form()] = None,
) -> Response:
    user = _managed_user(context, principal, username)
    try:
        grants = _check_grants(context, principal, hospital or [])
        accounts.set_hospitals(context.store.engine, user.username, grants)
    except NotGrantable:
        return _user_page(
            request, context, principal, user, {"error": "not_your_hospital"}, status=403
        )
    except InputError as exc:
        return _user_page(request, context, principal, user, {"error": _message(exc)}, status=422)
    return _changed(
        request,
        principal,
        "hospitals",
        user.username,
        f"hospitals: {','.join(grants)}",
        "hospitals",
    )


@router.post("/admin/users/{username}/active", response_class=HTMLResponse)
def change_active(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    active: Annotated[str, Form(max_length=8)],
) -> Response:
    user = _managed_user(context, principal, username)
    enabled = active == "1"
    accounts.set_active(context.store.engine, user.username, enabled)
    return _changed(
        request,
        principal,
        "enable" if enabled else "disable",
        user.username,
        "enabled" if enabled else "disabled",
        "active" if enabled else "inactive",
    )


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    user = _managed_user(context, principal, username)
    try:
        accounts.set_password(context.store.engine, user.username, password)
    except InputError as exc:
        return _user_page(request, context, principal, user, {"error": _message(exc)}, status=422)
    return _changed(request, principal, "password", user.username, "password reset", "password")


@router.post("/admin/users/{username}/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    name: Annotated[str, Form(min_length=1, max_length=64)],
) -> HTMLResponse:
    """A new API token, shown on this page once (only its SHA-256 is stored)."""
    user = _managed_user(context, principal, username)
    token = accounts.create_api_token(context.store.engine, user.username, name.strip() or "token")
    deps.audit(
        request, principal, "admin.user.token", detail=f"user: {user.username}; token: {name[:64]}"
    )
    return _user_page(request, context, principal, user, {"new_token": token})


@router.post("/admin/users/{username}/tokens/revoke", response_class=HTMLResponse)
def revoke_tokens(
    request: Request,
    context: Context,
    principal: Admin,
    username: str,
    token_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    user = _managed_user(context, principal, username)
    accounts.revoke_api_tokens(context.store.engine, user.username, token_id)
    what = f"token {token_id} revoked" if token_id else "every token revoked"
    return _changed(request, principal, "revoke", user.username, what, "revoked")


# ---- hospitals ----------------------------------------------------------------------------------


def _hospitals_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    extra: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    users = accounts.list_users(context.store.engine)
    counts: dict[str, int] = {}
    for user in users:
        for h in user.hospitals:
            counts[h] = counts.get(h, 0) + 1
    return _admin_page(
        request,
        principal,
        "admin_hospitals.html",
        {
            "hospitals": _grantable(context, principal),
            "user_counts": counts,
            "departments": [d.value for d in Department],
            "tiers": [t.value for t in CityTier],
            "types": [t.value for t in HospitalType],
            "may_register": principal.all_hospitals,
            "form": {},
            "saved": request.query_params.get("saved", ""),
            **(extra or {}),
        },
        status=status,
    )


@router.get("/admin/hospitals", response_class=HTMLResponse)
def hospitals_page(request: Request, context: Context, principal: Admin) -> HTMLResponse:
    deps.audit(request, principal, "admin.hospital.list")
    return _hospitals_page(request, context, principal)


@router.post("/admin/hospitals", response_class=HTMLResponse)
def save_hospital(
    request: Request,
    context: Context,
    principal: Admin,
    hospital_id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    city_tier: Annotated[str, Form(max_length=16)] = "",
    type: Annotated[str, Form(max_length=16)] = "",  # noqa: A002 - the record format's field
    department: Annotated[list[str] | None, Form()] = None,
) -> Response:
    key = hospital_id.strip()
    form = {
        "hospital_id": key,
        "name": name,
        "city_tier": city_tier,
        "type": type,
        "department": department or [],
    }
    if not principal.all_hospitals and key not in principal.hospitals:
        error = "regional_only"
        return _hospitals_page(
            request, context, principal, {"form": form, "error": error}, status=403
        )
    try:
        hospitals.save_hospital(
            context.store.engine,
            key,
            name,
            city_tier=city_tier or None,
            type=type or None,
            departments=department or (),
        )
    except InputError as exc:
        return _hospitals_page(
            request, context, principal, {"form": form, "error": _message(exc)}, status=422
        )
    deps.audit(
        request, principal, "admin.hospital.save", hospital=key, detail=f"name: {name.strip()}"
    )
    return RedirectResponse("/admin/hospitals?saved=hospital", status_code=303)


# ---- audit log ----------------------------------------------------------------------------------


def _day_bounds(
    zone: dt.tzinfo, start: dt.date | None, end: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Local days ``start`` .. ``end`` (both included) as UTC instants [since, until)."""
    since = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC) if start else None
    until = (
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
        if end
        else None
    )
    return since, until


def _day(text: str | None) -> dt.date | None:
    """A day as the date field sends it (``2026-11-02``); None when empty or not a day."""
    try:
        return dt.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    context: Context,
    principal: Admin,
    user: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    patient: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    action: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    hospital: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    start_text: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    end_text: Annotated[str | None, Query(alias="to", max_length=32)] = None,
    before_id: BeforeId = None,
) -> HTMLResponse:
    zone = context.settings.zone
    start, end = _day(start_text), _day(end_text)
    filters = {
        "user": (user or "").strip(),
        "patient": (patient or "").strip(),
        "action": (action or "").strip(),
        "outcome": (outcome or "").strip(),
        "hospital": (hospital or "").strip(),
        "from": start.isoformat() if start else (start_text or "").strip(),
        "to": end.isoformat() if end else (end_text or "").strip(),
    }
    error = ""
    entries: list[accounts.AuditEntry] = []
    if (start_text or "").strip() and start is None or (end_text or "").strip() and end is None:
        error = "bad_date"
    elif start and end and start > end:
        error = "reversed"
    else:
        since, until = _day_bounds(zone, start, end)
        entries = accounts.read_audit(
            context.store.engine,
            viewer=principal,
            limit=AUDIT_PAGE,
            before_id=before_id,
            username=filters["user"] or None,
            patient_id=filters["patient"] or None,
            action=filters["action"] or None,
            outcome=filters["outcome"] or None,
            hospital=filters["hospital"] or None,
            since=since,
            until=until,
        )
    deps.audit(request, principal, "audit.read")
    known = {h.id: h for h in hospitals.list_hospitals(context.store.engine)}
    lang = request_lang(request)
    query = [(k, v) for k, v in filters.items() if v]
    return _admin_page(
        request,
        principal,
        "audit.html",
        {
            "entries": entries,
            "filters": filters,
            "error": error,
            "zone": context.settings.timezone,
            "local": lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            "hospital_label": lambda h: _hospital_label(known, h) if h else "—",
            "hospitals": _grantable(context, principal),
            "ACTION_LABELS": ACTION_LABELS,
            "OUTCOME_LABELS": OUTCOME_LABELS,
            "action_text": lambda a: gettext(lang, ACTION_NAMES[a]) if a in ACTION_NAMES else "",
            "older": (
                "/admin/audit?" + urlencode([*query, ("before_id", str(entries[-1].id))])
                if len(entries) == AUDIT_PAGE
                else ""
            ),
        },
        status=422 if error else 200,
    )
