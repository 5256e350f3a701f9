"""The server-rendered pages: login, worklist, patient (timeline, findings, forms), import
(administration: :mod:`.admin_pages`). Chinese by default, English by a switch (cookie
``bonepath_lang``).

Pages use the same services as the JSON API (:mod:`bonepath.api.services`), so tenancy,
validation and audit are identical; forms carry the session's CSRF token. A page that needs
a login redirects to ``/login`` (see :mod:`bonepath.api.errors`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context as TemplateContext
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from bonepath.api import deps, services, staging
from bonepath.api.deps import LANG_COOKIE, SESSION_COOKIE, Context
from bonepath.api.params import (
    KEY_MAX,
    Offset,
    PatientId,
    RowId,
    Source,
    patient_path,
)
from bonepath.engine.findings import Finding
from bonepath.errors import InputError, NotFound, Problem, RecordRefused
from bonepath.population.worklist import WorklistFilter, WorklistItem
from bonepath.record.columns import imaging_derivation
from bonepath.record.model import Record
from bonepath.record.problem_text import describe
from bonepath.store import accounts
from bonepath.store.accounts import SESSION_TTL, Permission, Principal, Throttled
from bonepath.units import creatinine_mg_dl
from bonepath.vocab import (
    DentalResult,
    Drug,
    FindingKind,
    ImagingResult,
    LabTest,
    Modality,
    Region,
    Route,
    StopReason,
)
from bonepath.web import charts, saved_views
from bonepath.web.i18n import TEMPLATE_DIR, Lang, gettext, parse_lang

router = APIRouter(include_in_schema=False)
router.include_router(saved_views.router)  # the worklist's saved views

LOGIN_CSRF_COOKIE: Final = "bonepath_login_csrf"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: marks a message id
    return message


KIND_LABELS: Final = {
    "action": N_("Action"),
    "reminder": N_("Reminder"),
    "alert": N_("Alert"),
    "data_needed": N_("Data needed"),
    "info": N_("Information"),
}
SEVERITY_LABELS: Final = {
    "critical": N_("Critical"),
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
}
ROLE_LABELS: Final = {
    "clinician": N_("Clinician"),
    "nurse": N_("Nurse"),
    "mdt_coordinator": N_("MDT coordinator"),
    "quality_manager": N_("Quality manager"),
    "admin": N_("Administrator"),
    "radiologist": N_("Radiologist"),
}
DRUG_LABELS: Final = {
    "denosumab": N_("Denosumab"),
    "zoledronic_acid": N_("Zoledronic acid"),
    "ibandronate": N_("Ibandronate"),
    "incadronate": N_("Incadronate"),
    "pamidronate": N_("Pamidronate"),
}
STOP_LABELS: Final = {
    "pain_relief": N_("Pain relieved"),
    "disease_stable": N_("Disease stable"),
    "poor_performance_status": N_("Poor performance status"),
    "onj": N_("Osteonecrosis of the jaw"),
    "renal_toxicity": N_("Renal toxicity"),
    "hypocalcemia": N_("Hypocalcaemia"),
    "patient_refusal": N_("Patient refused"),
    "cost": N_("Cost"),
    "other": N_("Other"),
}
MODALITY_LABELS: Final = {
    "bone_scan": N_("Bone scan"),
    "ct": N_("CT"),
    "mri": N_("MRI"),
    "pet_ct": N_("PET-CT"),
    "xray": N_("X-ray"),
    "spect_ct": N_("SPECT-CT"),
}
RESULT_LABELS: Final = {
    "negative": N_("Negative"),
    "suspicious": N_("Suspicious"),
    "positive": N_("Positive"),
}
DENTAL_LABELS: Final = {
    "ok": N_("No problem"),
    "needs_treatment": N_("Needs treatment"),
    "invasive_procedure_done": N_("Invasive procedure done"),
}
LAB_LABELS: Final = {
    "creatinine": N_("Creatinine"),
    "calcium": N_("Calcium"),
    "albumin": N_("Albumin"),
    "alp": N_("ALP"),
    "balp": N_("Bone ALP"),
    "pinp": N_("PINP"),
    "ctx": N_("CTX"),
    "ntx": N_("NTX"),
    "vitamin_d": N_("Vitamin D"),
}
SRE_LABELS: Final = {
    "pathologic_fracture": N_("Pathologic fracture"),
    "spinal_cord_compression": N_("Spinal cord compression"),
    "radiation_to_bone": N_("Radiation to bone"),
    "surgery_to_bone": N_("Surgery to bone"),
    "hypercalcemia": N_("Hypercalcaemia"),
}
HISTOLOGY_LABELS: Final = {
    "adenocarcinoma": N_("Adenocarcinoma"),
    "squamous": N_("Squamous cell carcinoma"),
    "large_cell": N_("Large cell carcinoma"),
    "nsclc_nos": N_("NSCLC, not otherwise specified"),
    "sclc": N_("Small cell lung cancer"),
    "other": N_("Other"),
}
REGION_LABELS: Final = {
    "whole_body": N_("Whole body"),
    "chest": N_("Chest"),
    "chest_abdomen": N_("Chest and abdomen"),
    "head": N_("Head"),
    "spine": N_("Spine"),
    "pelvis": N_("Pelvis"),
    "limb": N_("Limb"),
    "other": N_("Other"),
}
DEPARTMENT_LABELS: Final = {
    "oncology": N_("Oncology"),
    "respiratory": N_("Respiratory medicine"),
    "thoracic_oncology": N_("Thoracic oncology"),
    "thoracic_surgery": N_("Thoracic surgery"),
    "radiotherapy": N_("Radiotherapy"),
    "orthopedics": N_("Orthopaedics"),
    "nuclear_medicine": N_("Nuclear medicine"),
    "radiology": N_("Radiology"),
    "other": N_("Other"),
}
SEX_LABELS: Final = {"female": N_("female"), "male": N_("male")}
STATUS_LABELS: Final = {
    "imported": N_("New"),
    "new": N_("New"),
    "updated": N_("Updated"),
    "update": N_("Replaces the stored record"),
    "unchanged": N_("Unchanged"),
}
"""What an import did (or, in a preview, would do) with a record."""
FAMILY_LABELS: Final = {
    "diagnosis": N_("Diagnosis"),
    "imaging": N_("Imaging"),
    "lab": N_("Laboratory"),
    "bta": N_("BTA dose"),
    "stop": N_("Stop"),
    "dental": N_("Dental"),
    "sre": N_("SRE"),
}
WORKLIST_PAGE: Final = 200
"""Items per worklist page (the exports hold every item)."""
WORKLIST_KINDS: Final = ("action", "reminder", "alert")
"""What the worklist shows by default: what someone has to do (data_needed and info are on
the patient page, and selectable by filter)."""


@pass_context
def problem_text(context: TemplateContext, problem: Problem | Mapping[str, Any]) -> str:
    """Filter ``problem_text``: a problem in the page's language (``describe``): the Chinese
    description of its code and the accepted values, or its English sentence. Takes a
    :class:`Problem` or its ``to_dict`` form (an import refusal's errors)."""
    if isinstance(problem, Mapping):
        problem = Problem.from_dict(problem)
    return describe(problem, parse_lang(context.get("lang")))


@pass_context
def problem_fix(context: TemplateContext, problem: Problem | Mapping[str, Any]) -> str:
    """Filter ``problem_fix``: as ``problem_text``, followed by what to change (``explain``)."""
    from bonepath.record.problem_text import explain

    if isinstance(problem, Mapping):
        problem = Problem.from_dict(problem)
    return explain(problem, parse_lang(context.get("lang")))


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        KIND_LABELS=KIND_LABELS,
        SEVERITY_LABELS=SEVERITY_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        DRUG_LABELS=DRUG_LABELS,
        STOP_LABELS=STOP_LABELS,
        MODALITY_LABELS=MODALITY_LABELS,
        RESULT_LABELS=RESULT_LABELS,
        DENTAL_LABELS=DENTAL_LABELS,
        LAB_LABELS=LAB_LABELS,
        SRE_LABELS=SRE_LABELS,
        FAMILY_LABELS=FAMILY_LABELS,
        REGION_LABELS=REGION_LABELS,
        DEPARTMENT_LABELS=DEPARTMENT_LABELS,
        SEX_LABELS=SEX_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        Permission=Permission,
    )
    env.filters["problem_text"] = problem_text
    env.filters["problem_fix"] = problem_fix
    return env


ENV: Final = _env()


def request_lang(request: Request) -> Lang:
    return parse_lang(request.cookies.get(LANG_COOKIE))


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """A page in the caller's language, with the CSRF token, menu and ``_`` for messages."""
    lang = request_lang(request)
    page = ENV.get_template(template).render(
        _=lambda message: gettext(lang, message),
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        principal=principal or getattr(request.state, "principal", None),
        csrf_token=getattr(request.state, "csrf_token", ""),
        today=deps.app_context(request).today(),
        **(context or {}),
    )
    return HTMLResponse(page, status_code=status)


def error_page(request: Request, status: int) -> HTMLResponse:
    messages = {
        404: N_("Not found: the page or patient does not exist, or is not in your hospitals."),
        403: N_("You are not allowed to do this."),
        422: N_("The input was refused."),
        409: N_("The input was refused."),
        429: N_("Too many failed logins; wait 15 minutes."),
    }
    return render(
        request,
        "error.html",
        {"status": status, "message": messages.get(status, N_("Something went wrong."))},
        status=status,
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/worklist"
    return target


# ---- login, logout, language --------------------------------------------------------------------


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/worklist", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": _safe_next(next), "login_csrf": token})
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


def _secure(request: Request) -> bool:
    return deps.app_context(request).settings.cookie_secure


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    context: Context,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/worklist",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return error_page(request, 403)
    client = deps.client_address(request)
    engine = context.store.engine
    try:
        principal = accounts.authenticate(engine, username, password, client)
    except Throttled:
        accounts.audit(
            engine, None, "login", client=client, outcome="throttled", username=username[:64]
        )
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "login_csrf": expected, "error": "throttled"},
            status=429,
        )
    if principal is None:
        accounts.audit(
            engine, None, "login", client=client, outcome="failed", username=username[:64]
        )
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "login_csrf": expected, "error": "wrong"},
            status=401,
        )
    session = accounts.start_session(engine, principal)
    accounts.audit(engine, principal, "login", client=client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, context: Context, principal: deps.CurrentPrincipal
) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(context.store.engine, token)
    deps.audit(request, principal, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        parse_lang(lang),
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=_secure(request),
    )
    return response


# ---- worklist -----------------------------------------------------------------------------------


Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]


def _audit_items(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    action: str,
    items: list[WorklistItem],
) -> None:
    """One audit row for the request, naming the patients shown (a worklist names patients and
    their findings); :func:`bonepath.store.accounts.audit_many`."""
    patients = list(dict.fromkeys((i.source, i.patient, i.hospital) for i in items))
    if patients:
        accounts.audit_many(
            context.store.engine, principal, action, patients, client=deps.client_address(request)
        )
    else:
        deps.audit(request, principal, action)


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    context: Context,
    principal: Reader,
    as_of: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[list[str] | None, Query(max_length=8)] = None,
    rule: Annotated[str | None, Query(max_length=32)] = None,
    hospital: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    department: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    physician: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    due_within: Annotated[str | None, Query(max_length=16)] = None,
    undated: Annotated[str | None, Query(max_length=8)] = None,
    view_saved: Annotated[str | None, Query(max_length=8)] = None,
    view_deleted: Annotated[str | None, Query(max_length=8)] = None,
    view_problem: Annotated[str | None, Query(max_length=8)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    """The worklist; every filter is read as typed (issue 15): empty is no filter, codes are
    case-insensitive, a value that cannot be used is named above the list, never a 422.
    The user's saved views are listed above the filters (:mod:`bonepath.web.saved_views`)."""
    from bonepath.api import mdt_service
    from bonepath.population import readable
    from bonepath.rules import load_catalogue
    from bonepath.store.worklist_views import list_views
    from bonepath.web import worklist_view as view

    lang = request_lang(request)
    parsed = view.parse_filters(
        today=context.today(),
        default_kinds=(FindingKind(k) for k in WORKLIST_KINDS),
        known_hospitals=view.known_hospitals(context.store, principal),
        known_rules=(r.id for r in load_catalogue()),
        as_of=as_of,
        kind=kind,
        rule=rule,
        hospital=hospital,
        physician=physician,
        due_within=due_within,
        undated=undated,
        department=department,
        department_labels=readable.DEPARTMENTS,
    )
    day, kinds = parsed.as_of, parsed.kinds
    chosen = WorklistFilter(
        kinds=kinds,
        rules=parsed.rules,
        hospitals=parsed.hospitals,
        departments=parsed.departments,
        physicians=parsed.physicians,
        due_within_days=parsed.due_within,
        keep_undated=parsed.keep_undated,
    )
    items: list[WorklistItem] = []
    if parsed.unknown_hospital:
        version = str(load_catalogue().version)
    else:
        version, items = services.worklist(
            context.store, principal, day, chosen, cache=context.worklists
        )
    shown = items[offset : offset + WORKLIST_PAGE]
    _audit_items(request, context, principal, "worklist.read", shown)
    found = view.contacts(context.store, principal, shown, day)
    _known, names = view.hospital_directory(context.store)
    rows = [
        {
            "item": item,
            "where": view.item_label(item.finding.item, lang),
            "reason": view.reason(item, found.get((item.source, item.patient)), lang),
            "contact": found.get((item.source, item.patient)),
            "call": item.kind in view.FOLLOW_UP_KINDS,
            "hospital_name": names.get(item.hospital or "", ""),
        }
        for item in shown
    ]
    filters: list[tuple[str, str]] = [("kind", k.value) for k in sorted(kinds)]
    if parsed.rule:
        filters.append(("rule", parsed.rule))
    if parsed.hospital:
        filters.append(("hospital", parsed.hospital))
    if parsed.departments:
        filters.append(("department", parsed.departments[0]))
    if parsed.physician:
        filters.append(("physician", parsed.physician))
    if parsed.due_within is not None:
        filters.append(("due_within", str(parsed.due_within)))
    if parsed.keep_undated:
        filters.append(("undated", "1"))
    query = [("as_of", day.isoformat()), *filters]
    export = [(("include_undated", "true") if k == "undated" else (k, v)) for k, v in query]
    export.append(("lang", lang))
    messages = {
        "view_saved": "view_saved" if view_saved else "",
        "view_deleted": "view_deleted" if view_deleted else "",
    }
    view_message = next((m for m in messages.values() if m), "")
    view_error = {"name": "view_name_bad", "count": "too_many_views"}.get(view_problem or "", "")
    return render(
        request,
        "worklist.html",
        {
            "as_of": day,
            "version": version,
            "items": shown,
            "rows": rows,
            "total": len(items),
            "offset": offset,
            "page_size": WORKLIST_PAGE,
            "kinds": kinds,
            "rule": parsed.rule or _clean_text(rule),
            "hospital": parsed.hospital or _clean_text(hospital),
            "department": parsed.departments[0] if parsed.departments else "",
            "departments": [
                (code, readable.text(pair, lang)) for code, pair in readable.DEPARTMENTS.items()
            ],
            "physician": parsed.physician or "",
            "due_within": parsed.due_within,
            "due_within_typed": "" if parsed.due_within is not None else _clean_text(due_within),
            "keep_undated": parsed.keep_undated,
            "filter_problems": [p.render(lang) for p in parsed.problems],
            "wl": {k: view.text(v, lang) for k, v in view.LABELS.items()},
            "export_query": urlencode(export),
            "page_query": urlencode(query),
            "view_query": urlencode(filters),
            "views": list_views(context.store.engine, principal.username),
            "view_message": view_message,
            "view_error": view_error,
            "patient_count": len({(i.source, i.patient) for i in items}),
            "mdt_tasks": mdt_service.my_tasks(context.store, principal),  # issue 16
            "mdt_cases": mdt_service.open_cases(
                context.store,
                principal,
                [(i.source, i.patient) for i in shown if i.rule == "MDT-01"],
            ),
        },
    )


def _clean_text(value: str | None) -> str:
    return (value or "").strip()


@router.get("/patients", response_class=HTMLResponse)
def patients_page(
    request: Request,
    context: Context,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    total, found = services.list_patients(
        context.store, principal, query=q, limit=50, offset=offset
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
    return render(
        request,
        "patients.html",
        {"q": q or "", "total": total, "patients": found, "offset": offset},
    )


# ---- patient ------------------------------------------------------------------------------------


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def lab_series(record: Record, test: LabTest) -> list[charts.Point]:
    return [
        charts.Point(lab.date, lab.value)
        for lab in record.events.labs
        if lab.test is test and (test is not LabTest.CREATININE or lab.unit == "mg/dL")
    ]


def creatinine_points(record: Record) -> tuple[list[charts.Point], list[charts.Point]]:
    """Creatinine (mg/dL) and Cockcroft-Gault CrCl (mL/min, the latest weight on or before
    each measurement; women x 0.85) per measurement, for display."""
    scr: list[charts.Point] = []
    crcl: list[charts.Point] = []
    weights = sorted((v.date, v.weight_kg) for v in record.events.vitals if v.weight_kg)
    for lab in sorted(record.events.labs, key=lambda lab: lab.date):
        if lab.test is not LabTest.CREATININE:
            continue
        try:
            mg_dl = creatinine_mg_dl(lab.value, lab.unit)
        except KeyError:
            continue
        scr.append(charts.Point(lab.date, mg_dl))
        weight = next((w for d, w in reversed(weights) if d <= lab.date), None)
        if weight and mg_dl > 0:
            value = (140 - _age(record.birth_date, lab.date)) * weight / (72 * mg_dl)
            if record.sex.value == "female":
                value *= 0.85
            crcl.append(charts.Point(lab.date, round(value, 1)))
    return scr, crcl


def _timeline(record: Record, lang: Lang) -> list[dict[str, Any]]:
    """Every dated entry of the record, newest first, as (date, family, text) rows."""

    def t(message: str) -> str:
        return gettext(lang, message)

    rows: list[dict[str, Any]] = []
    cancer = record.cancer
    rows.append(
        {
            "date": cancer.diagnosis_date,
            "family": "diagnosis",
            "text": " · ".join(
                x
                for x in (
                    t("Lung cancer diagnosed"),
                    t(HISTOLOGY_LABELS[cancer.histology.value]) if cancer.histology else "",
                    (f"{t('Stage')} {cancer.stage.value}" if cancer.stage else ""),
                )
                if x
            ),
        }
    )
    bone = record.bone_metastasis
    if bone and bone.confirmed_date:
        rows.append(
            {
                "date": bone.confirmed_date,
                "family": "diagnosis",
                "text": t("Bone metastasis confirmed"),
            }
        )
    for im in record.events.imaging:
        window = ""
        # the effective flag of the rules: a CT report read by the checker when nobody recorded
        # it (record/columns.py, clarifications C-28), said to be an unvalidated aid
        derived = imaging_derivation(im)
        reviewed = derived.bone_window_reviewed
        from_report = derived.bone_window_source == "report"
        if im.modality in (Modality.CT, Modality.PET_CT, Modality.SPECT_CT):
            window = (
                t("bone window reviewed")
                if reviewed
                else t("bone window NOT reviewed")
                if reviewed is False
                else t("bone window review not recorded")
            )
            if from_report:
                window += " (" + t("from the report (unvalidated aid)") + ")"
        rows.append(
            {
                "date": im.date,
                "family": "imaging",
                "text": " · ".join(
                    x
                    for x in (
                        t(MODALITY_LABELS[im.modality.value]),
                        t(REGION_LABELS[im.region.value]) if im.region else "",
                        t(RESULT_LABELS[im.result.value]) if im.result else "",
                        window,
                    )
                    if x
                ),
                "warn": reviewed is False,
                "evidence": derived.report_evidence if from_report else (),
            }
        )
    for lab in record.events.labs:
        rows.append(
            {
                "date": lab.date,
                "family": "lab",
                "text": f"{t(LAB_LABELS[lab.test.value])} {lab.value:g} {lab.unit}",
            }
        )
    for dose in record.events.bta:
        rows.append(
            {
                "date": dose.date,
                "family": "bta",
                "text": f"{t(DRUG_LABELS[dose.drug.value])} {dose.dose_mg:g} mg"
                + (f" {dose.route.value.upper()}" if dose.route else ""),
            }
        )
    for stop in record.events.bta_stop:
        rows.append(
            {
                "date": stop.date,
                "family": "stop",
                "text": f"{t('BTA stopped')}: {t(STOP_LABELS[stop.reason.value])}",
            }
        )
    for dental in record.events.dental:
        rows.append(
            {
                "date": dental.date,
                "family": "dental",
                "text": f"{t('Dental examination')}: {t(DENTAL_LABELS[dental.result.value])}",
            }
        )
    for sre in record.events.sre:
        rows.append(
            {
                "date": sre.date,
                "family": "sre",
                "text": f"SRE: {t(SRE_LABELS[sre.kind.value])}",
                "warn": True,
            }
        )
    rows.sort(key=lambda row: (row["date"], row["family"]), reverse=True)
    return rows


def _charts(record: Record, lang: Lang, day: dt.date) -> list[Any]:
    def t(message: str) -> str:
        return gettext(lang, message)

    out = []
    doses = [
        (d.date, f"{t(DRUG_LABELS[d.drug.value])} {d.dose_mg:g} mg") for d in record.events.bta
    ]
    events = [(s.date, t("stop")) for s in record.events.bta_stop] + [
        (s.date, "SRE") for s in record.events.sre
    ]
    out.append(
        charts.dose_axis(
            t("Bone-targeted agent doses and intervals (days)"),
            doses,
            events=events,
            end=day,
            days_label=t("d"),
        )
    )
    scr, crcl = creatinine_points(record)
    out.append(charts.line_chart(t("Creatinine"), "mg/dL", scr, css="series-scr"))
    out.append(
        charts.line_chart(
            t("Creatinine clearance (Cockcroft-Gault)"),
            "mL/min",
            crcl,
            band=(60.0, None),
            css="series-crcl",
        )
    )
    calcium = [
        charts.Point(lab.date, lab.value)
        for lab in record.events.labs
        if lab.test is LabTest.CALCIUM and lab.unit == "mmol/L"
    ]
    out.append(charts.line_chart(t("Calcium"), "mmol/L", calcium, band=(2.1, 2.6), css="series-ca"))
    for test in (LabTest.ALP, LabTest.BALP, LabTest.PINP, LabTest.CTX, LabTest.NTX):
        labs = [lab for lab in record.events.labs if lab.test is test]
        if labs:
            unit = labs[-1].unit
            points = [charts.Point(lab.date, lab.value) for lab in labs if lab.unit == unit]
            uln = labs[-1].uln
            out.append(
                charts.line_chart(
                    t(LAB_LABELS[test.value]), unit, points, band=(None, uln), css="series-marker"
                )
            )
    return [c for c in out if c]


def _rule_texts(findings: list[Finding], lang: Lang) -> dict[str, str]:
    from bonepath.rules import load_catalogue

    catalogue = load_catalogue()
    return {f.rule: catalogue[f.rule].logic_text.get(lang) for f in findings}


def _record_forms(
    request: Request, context: deps.AppContext, record: Record, found: list[Finding], lang: Lang
) -> dict[str, Any]:
    """What :mod:`bonepath.web.record_forms` adds to the patient page (issue 15)."""
    from bonepath.web import record_forms

    query = dict(request.query_params)
    return record_forms.page_extras(context.store, record, found, lang, context.today(), query)


def patient_context(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    source: str,
    patient_id: str,
    as_of: dt.date | None,
) -> dict[str, Any]:
    from bonepath.web.imaging_pages import imaging_panel  # the CT panel (issue 17)

    day = as_of or context.today()
    record, evaluation = services.findings(context.store, principal, source, patient_id, day)
    lang = request_lang(request)
    found = sorted(evaluation.findings, key=Finding.urgency_key)
    return {
        "record": record,
        "as_of": day,
        "age": _age(record.birth_date, day),
        "findings": found,
        "rule_texts": _rule_texts(found, lang),
        "version": evaluation.rules_version,
        "timeline": _timeline(record, lang),
        "charts": _charts(record, lang, day),
        "drugs": [d.value for d in Drug],
        "routes": [r.value for r in Route],
        "stop_reasons": [s.value for s in StopReason],
        "modalities": [m.value for m in Modality],
        "regions": [r.value for r in Region],
        "results": [r.value for r in ImagingResult],
        "dental_results": [d.value for d in DentalResult],
        "lab_tests": [t.value for t in LabTest],
        "tasks": _tasks(context, principal, record, lang),
        "imaging": imaging_panel(request, context, record),
        "form": {},
        "problems": [],
        "warnings": [],
        "open_form": None,
        # forms of every fact a rule asks for, corrections, values in words (issue 15)
        **_record_forms(request, context, record, found, lang),
    }


def _tasks(
    context: deps.AppContext, principal: Principal, record: Record, lang: Lang
) -> list[dict[str, Any]]:
    """Open follow-up tasks of the patient (``bonepath remind``), each with the reasons a
    person may close it with (labels from :mod:`bonepath.reminders`)."""
    from bonepath.api.routes.tasks import patient_tasks
    from bonepath.reminders.model import CLOSE_REASON_LABELS, reasons_for

    index = 0 if lang == "zh" else 1
    return [
        {
            "task": task,
            "reasons": [(r.value, CLOSE_REASON_LABELS[r][index]) for r in reasons_for(task.rule)],
            # no reason is pre-selected: the nurse picks the outcome (issue 15 item 2)
            "choose": "请选择结果…" if lang == "zh" else "Choose the outcome…",
        }
        for task in patient_tasks(context, principal, record.source, record.id)
    ]


def patient_url(source: str, patient_id: str, **query: str) -> str:
    """The patient page's URL; every link to a patient is made here (templates too), with
    :func:`~bonepath.api.params.patient_path` (``2024/00123`` -> ``2024%2F00123``)."""
    base = f"/patients/{patient_path(source, patient_id)}"
    return base + (f"?{urlencode(query)}" if query else "")


ENV.globals["patient_url"] = patient_url


@router.get("/patients/{source}/{patient_id:path}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    context: Context,
    principal: Reader,
    source: Source,
    patient_id: PatientId,
    as_of: Annotated[dt.date | None, Query()] = None,
    saved: Annotated[str | None, Query(max_length=32)] = None,
    missing: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    try:
        page = patient_context(request, context, principal, source, patient_id, as_of)
    except NotFound:
        deps.audit_denied(request, principal, "patient.read", patient=(source, patient_id))
        raise
    deps.audit(
        request,
        principal,
        "patient.read",
        patient=(source, patient_id),
        hospital=services.hospital_of(page["record"]),
    )
    page["saved"] = saved
    page["still_missing"] = _still_missing(missing, request_lang(request)) if missing else None
    asked = request.query_params.get("form")  # a finding's link to the form that answers it
    if asked in ("bta", "imaging", "labs", "dental", "stop", *page["record_forms_names"]):
        page["open_form"] = asked
        page["form"] = {"test": request.query_params.get("test", "")}
    if page.get("edit_form") is not None:
        page["open_form"] = "edit"
    return render(request, "patient.html", page)


RECORD_ENTRIES: Final[Mapping[str, tuple[str, str]]] = {
    "ADH": ("骨改良药物给药记录（下方“骨改良药物给药”）", "a BTA dose (form below)"),
    "BTA": ("骨改良药物给药记录（下方“骨改良药物给药”）", "a BTA dose (form below)"),
    "SAFE-01": ("给药前血肌酐检验（下方“检验结果”）", "a creatinine result (form below)"),
    "SAFE-08": ("口腔检查（下方“口腔检查”）", "a dental examination (form below)"),
    "SAFE-09": ("口腔检查（下方“口腔检查”）", "a dental examination (form below)"),
    "SCR": ("影像检查（下方“影像检查”）", "an imaging examination (form below)"),
}
"""The record entry that clears a task's rule, by rule or family (issue 15 item 2)."""


def _still_missing(rule: str, lang: Lang) -> str:
    """What a task closed as done still needs in the record before its row leaves the
    worklist."""
    entry = RECORD_ENTRIES.get(rule) or RECORD_ENTRIES.get(rule.split("-", 1)[0])
    if lang == "en":
        what = entry[1] if entry else "the entry that answers it"
        return (
            f"Task closed, but the record does not show it yet: {rule} stays on the worklist "
            f"until {what} is recorded."
        )
    what = entry[0] if entry else "对应的记录"
    return f"任务已关闭，但记录中还没有体现：需要录入{what}，{rule} 才会离开工作清单。"


class AmbiguousNumber(str):
    """A form number that could mean two things (``3,0``): refused before parsing, with the
    sentence of :func:`bonepath.interop.values.parse_number` (issue 15 item 6)."""

    zh: str
    en: str


def _number(value: str | None) -> float | str | None:
    """A form number as people type it, read by the import's number parser
    (:func:`bonepath.interop.values.parse_number`: thousands separators ``1,200``, full-width
    digits, a decimal comma refused when it could be a thousands separator); text that is no
    number stays text, so the record parser reports it by path."""
    from bonepath.interop.values import CellRefusal, parse_number

    if value is None or not value.strip():
        return None
    found = parse_number(value)
    if isinstance(found, CellRefusal):
        refused = AmbiguousNumber(value.strip())
        refused.zh, refused.en = found.zh, found.en
        return refused
    return value.strip() if found is None else found


def _ambiguous(event: Mapping[str, Any], family: str) -> list[Problem]:
    """The numbers of ``event`` that could mean two things, as problems by JSON path."""
    return [
        Problem(f"/events/{family}/-/{key}", "AMBIGUOUS_VALUE", value.en)
        for key, value in event.items()
        if isinstance(value, AmbiguousNumber)
    ]


def _clean(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None and v != ""}


async def _form_event(request: Request, family: str) -> tuple[dict[str, Any], dict[str, str]]:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    date = raw.get("date", "")
    event: dict[str, Any]
    if family == "bta":
        interval = raw.get("interval_days") or None
        event = {
            "date": date,
            "drug": raw.get("drug"),
            "dose_mg": _number(raw.get("dose_mg")),
            "route": raw.get("route") or None,
            "interval_days": int(interval) if interval and interval.isdigit() else interval,
        }
    elif family == "imaging":
        reviewed = raw.get("bone_window_reviewed")
        event = {
            "date": date,
            "modality": raw.get("modality"),
            "region": raw.get("region") or None,
            "result": raw.get("result") or None,
            "bone_window_reviewed": None if not reviewed else reviewed == "yes",
        }
    elif family == "labs":
        event = {
            "date": date,
            "test": raw.get("test"),
            "value": _number(raw.get("value")),
            "unit": raw.get("unit"),
        }
    elif family == "dental":
        event = {"date": date, "result": raw.get("result")}
    elif family == "bta_stop":
        event = {"date": date, "reason": raw.get("reason")}
    else:  # pragma: no cover - the route only passes the families above
        raise NotFound(family)
    return _clean(event), raw


FORM_FAMILIES: Final = {
    "bta": "bta",
    "imaging": "imaging",
    "labs": "labs",
    "dental": "dental",
    "stop": "bta_stop",
}


class _FormName(Convertor[str]):
    """``{form_name:form}``: one of :data:`FORM_FAMILIES`, so the patient id before it (a
    ``path``, it may hold ``/``) ends where the form name begins."""

    regex = "|".join(FORM_FAMILIES)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("form", _FormName())


@router.post("/patients/{source}/{patient_id:path}/{form_name:form}", response_class=HTMLResponse)
async def submit_event(
    request: Request,
    context: Context,
    principal: Writer,
    source: Source,
    patient_id: PatientId,
    form_name: str,
) -> Response:
    family = FORM_FAMILIES.get(form_name)
    if family is None:
        raise NotFound(form_name)
    event, raw = await _form_event(request, family)
    reason = raw.get("override_reason", "").strip() or None
    if reason and not principal.can(Permission.OVERRIDE_SAFETY):
        reason = None
    try:
        ambiguous = _ambiguous(event, family)
        if ambiguous:
            services.load_patient(context.store, principal, source, patient_id)
            raise RecordRefused(ambiguous)
        written = services.record_event(
            context.store,
            principal,
            source,
            patient_id,
            family,
            event,
            today=context.today(),
            override_reason=reason,
        )
    except NotFound:
        deps.audit_denied(request, principal, f"event.{family}", patient=(source, patient_id))
        raise
    except (services.SafetyOverrideRequired, RecordRefused) as exc:
        page = patient_context(request, context, principal, source, patient_id, None)
        page["form"] = raw
        page["open_form"] = form_name
        if isinstance(exc, services.SafetyOverrideRequired):
            page["warnings"] = list(exc.check.warnings)
            page["warning_texts"] = _rule_texts(list(exc.check.warnings), request_lang(request))
            status = 409
        else:
            page["problems"] = list(exc.problems)
            status = 422
        deps.audit(
            request,
            principal,
            f"event.{family}",
            patient=(source, patient_id),
            hospital=services.hospital_of(page["record"]),
            outcome="refused",
        )
        return render(request, "patient.html", page, status=status)
    deps.audit(
        request,
        principal,
        f"event.{family}" + (".override" if written.override_reason else ""),
        patient=(source, patient_id),
        hospital=services.hospital_of(written.record),
        detail=(
            f"override {','.join(w.rule for w in written.warnings)}: {written.override_reason}"
            if written.override_reason
            else None
        ),
    )
    return RedirectResponse(patient_url(source, patient_id, saved=form_name), status_code=303)


@router.post(
    "/patients/{source}/{patient_id:path}/tasks/{task_id}/close", response_class=HTMLResponse
)
def close_task_form(
    request: Request,
    context: Context,
    principal: Writer,
    source: Source,
    patient_id: PatientId,
    task_id: RowId,
    reason: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    from bonepath.api.routes.tasks import close_for, deny_task, visible_task

    try:
        task = visible_task(context, principal, task_id)
        if (task.source, task.patient) != (source, patient_id):
            raise NotFound(f"no task {task_id} for {source}/{patient_id}")
    except NotFound:
        deny_task(request, context, principal, task_id)
        raise
    try:
        close_for(request, context, principal, task_id, reason, note or None)
    except InputError as exc:
        page = patient_context(request, context, principal, source, patient_id, None)
        page["problems"] = [Problem(f"/tasks/{task_id}/reason", "INVALID_INPUT", str(exc))]
        return render(request, "patient.html", page, status=422)
    query = {"saved": "task"}
    if reason == "done":
        # done, but does the record show it? the worklist lists findings, not tasks
        _record, evaluation = services.findings(
            context.store, principal, source, patient_id, context.today()
        )
        if any(f.rule == task.rule and f.item == task.item for f in evaluation.findings):
            query["missing"] = task.rule
    return RedirectResponse(patient_url(source, patient_id, **query), status_code=303)


# ---- import -------------------------------------------------------------------------------------

Importer = Annotated[Principal, Depends(deps.require(Permission.IMPORT))]


IMPORT_UPLOADS: Final = (".csv", ".zip", ".xlsx", ".xlsm", ".json", ".ndjson", ".jsonl")
"""What the import page takes: template CSV (one, several, or a zip of the set), Excel, JSON,
NDJSON, FHIR (a Bundle .json or bulk .ndjson), and a hospital's export read by a mapping."""
_LOCATION: Final = re.compile(r"^(?P<file>.*?)(?:\[(?P<sheet>[^\]]*)\])?(?::(?P<row>\d+))?$")


def _where(location: str) -> dict[str, str]:
    """``检验结果.csv:6`` / ``用药医嘱.xlsx[医嘱]:5`` / ``c.json[3]`` as file, sheet and row."""
    match = _LOCATION.match(location)
    if match is None:  # pragma: no cover - the pattern matches every string
        return {"file": location, "sheet": "", "row": ""}
    found = match.groupdict()
    sheet = found["sheet"] or ""
    if sheet.isdigit():  # a JSON list item, not a worksheet
        return {"file": f"{found['file']}[{sheet}]", "sheet": "", "row": found["row"] or ""}
    return {"file": found["file"], "sheet": sheet, "row": found["row"] or ""}


def _refusal_rows(report: services.UploadReport, lang: Lang) -> list[dict[str, Any]]:
    """One row per problem of each refused record: file, sheet, row, column, the patient, the
    code and, in ``lang``, what is wrong and what to change (``explain``)."""
    from bonepath.record.problem_text import explain

    rows = []
    for refusal in report.refusals:
        for error in refusal.errors:
            where = _where(error.get("location") or refusal.location)
            rows.append(
                {
                    **where,
                    "column": error.get("column") or "",
                    "patient": refusal.id or "",
                    "path": error.get("path") or "/",
                    "code": error.get("code", ""),
                    "text": explain(
                        Problem.from_dict(error), lang, specific_zh=error.get("problem_zh")
                    ),
                }
            )
    rows.sort(key=lambda r: (r["file"], r["sheet"], int(r["row"] or 0)))
    return rows


def _stored_mappings(context: deps.AppContext) -> list[str]:
    folder = context.settings.mappings_path
    try:
        return sorted(path.name for path in folder.glob("*.toml") if path.is_file())
    except OSError:
        return []


def _import_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    extra: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    page: dict[str, Any] = {
        "report": None,
        "preview": None,
        "staged": None,
        "mappings": _stored_mappings(context),
        "accept": ",".join(IMPORT_UPLOADS),
        "chosen_mapping": "",
    }
    page.update(extra or {})
    report = page.get("report") or page.get("preview")
    if report is not None:
        page["refusal_rows"] = _refusal_rows(report, request_lang(request))
        page["accepted_rows"] = [
            {**_where(location), "source": s, "id": i, "hospital": h, "status": st}
            for (s, i, h, st), location in zip(
                report.accepted, report.locations or [""] * len(report.accepted), strict=True
            )
        ]
    return render(request, "import.html", page, status=status, principal=principal)


def _input_error(exc: InputError | NotFound) -> Problem:
    """The page's problem for a refused upload: its code says in the user's language what is
    wrong (errors.INPUT_ERROR_CODES), the sentence gives the detail."""
    if isinstance(exc, InputError):
        return Problem("", exc.code, str(exc))
    return Problem("", "INVALID_INPUT", str(exc))


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, context: Context, principal: Importer) -> HTMLResponse:
    return _import_page(request, context, principal)


TEMPLATE_DOWNLOADS: Final = {
    "templates.xlsx": ("xlsx", False),
    "templates.zip": ("zip", False),
    "sample.xlsx": ("xlsx", True),
    "sample.zip": ("zip", True),
}
_DOWNLOAD_TYPES: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


@router.get("/import/preview", response_class=RedirectResponse)
def import_preview_get() -> RedirectResponse:
    """The language switch on a preview or result page reloads the import page."""
    return RedirectResponse("/import", status_code=303)


@router.get("/import/{name}", response_class=Response)
async def import_download(context: Context, principal: Importer, name: str) -> Response:
    """The templates of ``bonepath template`` (the Excel workbook, or the CSV set as a zip),
    empty or filled with a sample of synthetic patients of the caller's hospital."""
    from bonepath.interop.samples import sample_records, template_file

    found = TEMPLATE_DOWNLOADS.get(name)
    if found is None:
        raise NotFound(name)
    kind, filled = found
    granted = principal.hospital_filter()
    records = sample_records(context.today(), granted[0] if granted else None) if filled else None
    body = await run_in_threadpool(template_file, kind, records)  # type: ignore[arg-type]
    filename = ("bonepath-sample" if filled else "bonepath-templates") + "." + kind
    return Response(
        body,
        media_type=_DOWNLOAD_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _stage_upload(
    context: deps.AppContext,
    principal: Principal,
    files: list[UploadFile],
    mapping_file: UploadFile | None,
    mapping_name: str,
    save_mapping: bool,
) -> staging.Staged:
    """The uploaded files (zips unpacked) and the chosen mapping in a new staged upload.

    Raises
    ------
    InputError
        A file of another kind, a zip that cannot be read, a mapping that is not one.
    """
    from bonepath.api.routes.imports import save_upload
    from bonepath.interop.mapping import parse_mapping

    chosen = [f for f in files if f.filename]
    if not chosen:
        raise InputError("choose the file(s) to import", code="NO_FILE")
    staged = staging.stage(principal.username)
    try:
        limit = context.settings.body_limit_import_bytes * staging.UNZIP_FACTOR
        for upload in chosen:
            saved = await save_upload(upload, staged.files_dir, accepted=IMPORT_UPLOADS)
            if saved.suffix.lower() == ".zip":
                await run_in_threadpool(staging.unpack_zip, saved, staged.files_dir, limit=limit)
                saved.unlink()
        text: str | None = None
        label = mapping_name
        if mapping_file is not None and mapping_file.filename:
            label = staging.safe_name(mapping_file.filename, ".toml", "mapping.toml")
            raw = await mapping_file.read(1024 * 1024 + 1)
            if len(raw) > 1024 * 1024 or not label.lower().endswith(".toml"):
                raise InputError(f"{label}: a column mapping is a .toml file of at most 1 MiB", code="BAD_MAPPING")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InputError(f"{label}: a column mapping is UTF-8 text", code="BAD_MAPPING") from None
        elif mapping_name:
            if mapping_name not in _stored_mappings(context):
                raise InputError(f"{mapping_name}: no such saved mapping", code="BAD_MAPPING")
            text = (context.settings.mappings_path / mapping_name).read_text(encoding="utf-8-sig")
        if text is not None:
            try:
                parse_mapping(tomllib.loads(text), name=Path(label).stem, where=label)
            except tomllib.TOMLDecodeError as exc:
                raise InputError(f"{label}: not a readable column mapping ({exc})", code="BAD_MAPPING") from None
            (staged.directory / staging.MAPPING_NAME).write_text(text, encoding="utf-8")
            if save_mapping and mapping_file is not None and mapping_file.filename:
                folder = context.settings.mappings_path
                folder.mkdir(parents=True, exist_ok=True)
                (folder / label).write_text(text, encoding="utf-8")
    except BaseException:
        staged.remove()
        raise
    return staged


@router.post("/import/preview", response_class=HTMLResponse)
async def import_preview(
    request: Request,
    context: Context,
    principal: Importer,
    file: Annotated[list[UploadFile], File()],
    mapping_file: Annotated[UploadFile | None, File()] = None,
    mapping_name: Annotated[str, Form(max_length=128)] = "",
    save_mapping: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    """What importing the upload would store and refuse, row by row; nothing is written. The
    upload waits (:mod:`bonepath.api.staging`) for the import button."""
    try:
        staged = await _stage_upload(
            context, principal, file, mapping_file, mapping_name, bool(save_mapping)
        )
    except InputError as exc:
        return _import_page(request, context, principal, {"error": _input_error(exc)}, status=422)
    try:
        preview = await run_in_threadpool(
            services.import_files,
            context.store,
            principal,
            staged.files,
            today=context.today(),
            label="preview",
            mapping=staged.mapping,
            dry_run=True,
        )
    except InputError as exc:
        staged.remove()
        return _import_page(request, context, principal, {"error": _input_error(exc)}, status=422)
    deps.audit(request, principal, "patient.import.preview")
    names = [path.name for path in staged.files]
    # a file that is no template sheet, read without a mapping: most likely a hospital export
    needs_mapping = staged.mapping is None and any(
        error.get("code") == "UNKNOWN_FIELD" and not error.get("path")
        for refusal in preview.refusals
        for error in refusal.errors
    )
    return _import_page(
        request,
        context,
        principal,
        {
            "preview": preview,
            "staged": staged.token if preview.accepted else None,
            "needs_mapping": needs_mapping,
            "filename": "、".join(names) if request_lang(request) == "zh" else ", ".join(names),
            "chosen_mapping": (
                mapping_file.filename if mapping_file and mapping_file.filename else mapping_name
            ),
        },
    )


@router.post("/import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    context: Context,
    principal: Importer,
    file: Annotated[UploadFile | None, File()] = None,
    staged: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse:
    """Import the upload previewed (``staged``), or one file at once (``file``)."""
    from bonepath.api.routes.imports import audit_import, run_import

    if staged:
        try:
            held = staging.find(staged, principal.username)
        except NotFound as exc:
            return _import_page(
                request, context, principal, {"error": _input_error(exc)}, status=422
            )
        names = [path.name for path in held.files]
        try:
            report = await run_in_threadpool(
                services.import_files,
                context.store,
                principal,
                held.files,
                today=context.today(),
                label=",".join(names),
                mapping=held.mapping,
            )
        except InputError as exc:
            return _import_page(
                request, context, principal, {"error": _input_error(exc)}, status=422
            )
        finally:
            held.remove()
        audit_import(request, context, principal, report)
        filename = "、".join(names) if request_lang(request) == "zh" else ", ".join(names)
        return _import_page(request, context, principal, {"report": report, "filename": filename})
    if file is None or not file.filename:
        error = _input_error(InputError("choose the file(s) to import"))
        return _import_page(request, context, principal, {"error": error}, status=422)
    try:
        report = await run_import(request, context, principal, file)
    except InputError as exc:
        return _import_page(request, context, principal, {"error": _input_error(exc)}, status=422)
    return _import_page(request, context, principal, {"report": report, "filename": file.filename})
