"""Pages of the regional MDT network (issue 16 item 4): referrals, the centre's view, admin.

- ``/mdt/network``: the referrals the caller's hospitals sent and those their centre received;
- ``/mdt/network/refer/{source}/{id}``: refer a patient to the network's centre, with a
  preview of exactly the de-identified package the centre will get;
- ``/mdt/network/referrals/{code}``: one referral, by its pseudonymous case number: the
  package (centre) or the patient link (referrer), the thread, and the forms of the caller's
  side (opinion, meeting, answer / consent, accept, revoke);
- ``.../opinion.html`` / ``.../opinion.pdf``: the MDT opinion (会诊意见); ``.../fhir``: the FHIR
  Bundle (de-identified for the centre);
- ``/admin/network``: networks, centres and member hospitals (administrators).

Every view and change is audited (``mdt.network.*``) with the referral's patient and
referring hospital, so the referring hospital's administrators see what the centre read.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bonepath.api import deps, network_service
from bonepath.api.deps import Context
from bonepath.api.network_service import Side
from bonepath.errors import ConfigError, InputError, NotFound, Problem, RecordRefused
from bonepath.interop.fhir.mdt import referral_bundle
from bonepath.mdt.model import DecisionType, QuestionType, Specialty
from bonepath.mdt.opinion import render_opinion
from bonepath.store import network
from bonepath.store.accounts import Permission, Principal
from bonepath.store.hospitals import list_hospitals
from bonepath.store.network import Referral
from bonepath.web import clinical, mdt_package
from bonepath.web.i18n import Lang, gettext
from bonepath.web.mdt_pages import DECISION_LABELS, QUESTION_LABELS, SPECIALTY_LABELS
from bonepath.web.pages import (
    DEPARTMENT_LABELS,
    DRUG_LABELS,
    HISTOLOGY_LABELS,
    LAB_LABELS,
    MODALITY_LABELS,
    N_,
    REGION_LABELS,
    RESULT_LABELS,
    SEX_LABELS,
    SRE_LABELS,
    STOP_LABELS,
    render,
    request_lang,
)

router = APIRouter(include_in_schema=False, tags=["mdt-network"])

Caller = Annotated[Principal, Depends(deps.current_principal)]
Admin = Annotated[Principal, Depends(deps.require(Permission.ADMIN))]

BONE_STATUS_LABELS: Final = {
    "none": N_("No bone metastasis"),
    "suspected": N_("Bone metastasis suspected"),
    "confirmed": N_("Bone metastasis confirmed"),
}
STATE_LABELS: Final = {
    "open": N_("Awaiting the centre"),
    "answered": N_("Answered by the centre"),
    "accepted": N_("Accepted into the record"),
    "revoked": N_("Access revoked"),
}
NOTICES: Final = {
    "sent": N_("The referral was sent to the centre."),
    "message": N_("The opinion was added to the thread."),
    "meeting": N_("The meeting was scheduled."),
    "answered": N_("The centre's decision was sent to the referring hospital."),
    "accepted": N_("The centre's decision is now in the patient's record."),
    "revoked": N_("The centre's access to this referral was revoked."),
    "consent": N_("The consent was recorded."),
    "network": N_("The network was saved."),
}
ZONE: Final = zoneinfo.ZoneInfo("Asia/Shanghai")


def _package_view(package: dict[str, Any], lang: Lang) -> mdt_package.PackageView:
    """The package readable in the page's language (web/mdt_package.py), codes by the pages'
    catalogue labels of their field."""

    def cited(rule: str, lang: str) -> list[clinical.ShownCitation]:
        try:
            return clinical.citations(rule, lang)
        except KeyError:
            return []

    by_field = {
        "sex": SEX_LABELS,
        "department": DEPARTMENT_LABELS,
        "attendees": DEPARTMENT_LABELS,
        "histology": HISTOLOGY_LABELS,
        "modality": MODALITY_LABELS,
        "region": REGION_LABELS,
        "result": RESULT_LABELS,
        "drug": DRUG_LABELS,
        "reason": STOP_LABELS,
        "test": LAB_LABELS,
        "status": BONE_STATUS_LABELS,
        "question": QUESTION_LABELS,
        "decisions": DECISION_LABELS,
        "sre": SRE_LABELS,
    }
    return mdt_package.package_view(package, lang, by_field, cited)


def _t(lang: Lang, mapping: dict[str, str], key: str) -> str:
    return gettext(lang, mapping[key]) if key in mapping else key


def _audit(
    request: Request,
    principal: Principal,
    action: str,
    referral: Referral,
    *,
    outcome: str = "ok",
    detail: str | None = None,
) -> None:
    deps.audit(
        request,
        principal,
        action,
        patient=referral.patient,
        hospital=referral.hospital_id,
        outcome=outcome,
        detail=detail or f"referral {referral.code}",
    )


def _open(
    request: Request, context: deps.AppContext, principal: Principal, code: str, action: str
) -> tuple[Referral, Side]:
    try:
        return network_service.open_referral(context.store, principal, code)
    except NotFound:
        deps.audit_denied(request, principal, action, asked=f"referral {code}"[:80])
        raise


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            if key in {"decision", "attendee"}:
                out.setdefault(key, []).append(value)
            else:
                out[key] = value
    return out


def _problems(exc: Exception) -> list[Problem]:
    if isinstance(exc, RecordRefused):
        return list(exc.problems)
    return [Problem("/", "INPUT", str(exc))]


@router.get("/mdt/network", response_class=HTMLResponse)
def network_page(request: Request, context: Context, principal: Caller) -> HTMLResponse:
    sent, received = network_service.referrals_for(context.store, principal)
    deps.audit(
        request,
        principal,
        "mdt.network.list",
        detail=f"sent {len(sent)}, received {len(received)}",
    )
    names = {h.id: h.name or h.id for h in list_hospitals(context.store.engine)}
    # the remote consultations' calendar: the centre's (and the referrer's) scheduled meetings
    # with their links, by time; a centre never schedules a referred case through /mdt/cases
    now = network_service.moment(context.today())
    scheduled = [
        (r.meeting_at, r)
        for r in {r.id: r for r in (*received, *sent)}.values()
        if r.meeting_at is not None and r.state != "revoked"
    ]
    upcoming = sorted((c for c in scheduled if c[0] >= now), key=lambda c: c[0])
    past = sorted((c for c in scheduled if c[0] < now), key=lambda c: c[0], reverse=True)
    consultations = [
        {"referral": r, "at": _local(at), "past": at < now} for at, r in (*upcoming, *past)
    ]
    return render(
        request,
        "mdt_network.html",
        {
            "sent": sent,
            "received": received,
            "consultations": consultations,
            "names": names,
            "STATE_LABELS": STATE_LABELS,
            "QUESTION_LABELS": QUESTION_LABELS,
        },
        principal=principal,
    )


def _refer_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    source: str,
    pid: str,
    form: dict[str, Any],
    problems: list[Problem] | None = None,
) -> HTMLResponse:
    question = form.get("question") or "other"
    draft = None
    error = None
    try:
        draft = network_service.draft_referral(
            context.store,
            principal,
            (source, pid),
            question=question,
            question_text=str(form.get("question_text") or ""),
            today=context.today(),
        )
    except RecordRefused as exc:
        problems = [*(problems or []), *exc.problems]
    except InputError as exc:
        error = str(exc)
    names = {h.id: h.name or h.id for h in list_hospitals(context.store.engine)}
    return render(
        request,
        "mdt_network_refer.html",
        {
            "source": source,
            "pid": pid,
            "draft": draft,
            "pv": _package_view(draft.package, request_lang(request)) if draft else None,
            "form": form,
            "problems": problems or [],
            "error": error,
            "names": names,
            "QUESTION_LABELS": QUESTION_LABELS,
            "questions": [q.value for q in QuestionType],
        },
        status=422 if problems else 200,
        principal=principal,
    )


@router.get("/mdt/network/refer/{source}/{pid}", response_class=HTMLResponse)
def refer_page(
    request: Request,
    context: Context,
    principal: Caller,
    source: str,
    pid: str,
    question: str = "other",
    case: int | None = None,
) -> HTMLResponse:
    try:
        network_service.draft_referral(
            context.store,
            principal,
            (source, pid),
            question="other",
            question_text="",
            today=context.today(),
        )
    except NotFound:
        deps.audit_denied(request, principal, "mdt.network.refer", patient=(source, pid))
        raise
    except InputError:
        pass
    deps.audit(request, principal, "mdt.network.preview", patient=(source, pid))
    form: dict[str, Any] = {"question": question}
    if case is not None:
        form["case_id"] = str(case)
    return _refer_page(request, context, principal, source, pid, form)


@router.post("/mdt/network/refer/{source}/{pid}", response_model=None)
async def refer_submit(
    request: Request, context: Context, principal: Caller, source: str, pid: str
) -> Response:
    form = await _form(request)
    if not principal.can(Permission.WRITE_EVENTS):
        raise InputError("needs the write_events permission")
    try:
        case_id = _case_of(context, principal, (source, pid), str(form.get("case_id") or ""))
        referral = network_service.refer(
            context.store,
            principal,
            (source, pid),
            case_id=case_id,
            question=str(form.get("question") or ""),
            question_text=str(form.get("question_text") or ""),
            today=context.today(),
            consent=form.get("consent") == "yes",
            consent_note=str(form.get("consent_note") or ""),
        )
    except NotFound:
        deps.audit_denied(request, principal, "mdt.network.refer", patient=(source, pid))
        raise
    except (RecordRefused, InputError) as exc:
        deps.audit(
            request, principal, "mdt.network.refer", patient=(source, pid), outcome="refused"
        )
        return _refer_page(request, context, principal, source, pid, form, _problems(exc))
    _audit(request, principal, "mdt.network.refer", referral)
    return RedirectResponse(f"/mdt/network/referrals/{referral.code}?saved=sent", status_code=303)


def _case_of(
    context: deps.AppContext, principal: Principal, patient: tuple[str, str], text: str
) -> int | None:
    """The MDT case a referral is made from (``?case=``): the caller's, of this patient."""
    if not text.strip():
        return None
    from bonepath.api import mdt_service

    try:
        case = mdt_service.visible_case(context.store, principal, int(text))
    except (ValueError, NotFound):
        raise InputError(f"no MDT case {text[:20]} of this patient") from None
    if (case.patient_source, case.patient_id) != patient:
        raise InputError(f"no MDT case {text[:20]} of this patient")
    return case.id


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get("/mdt/network/referrals/{code}", response_class=HTMLResponse)
def referral_page(
    request: Request,
    context: Context,
    principal: Caller,
    code: str,
    saved: str | None = None,
) -> HTMLResponse:
    referral, side = _open(request, context, principal, code, "mdt.network.read")
    return _referral_page(request, context, principal, referral, side, saved=saved)


@router.get("/mdt/network/referrals/{code}/package.json", response_model=None)
def referral_package(request: Request, context: Context, principal: Caller, code: str) -> Response:
    """The de-identified package as JSON, for other systems (audited like the page)."""
    referral, side = _open(request, context, principal, code, "mdt.network.read")
    _audit(request, principal, "mdt.network.read", referral, detail=f"package.json as {side}")
    body = json.dumps(referral.package, ensure_ascii=False, indent=1)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{referral.code}.json"'},
    )


def _referral_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    referral: Referral,
    side: Side,
    *,
    saved: str | None = None,
    problems: list[Problem] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    identity = (
        network_service.identity_for_centre(context.store, referral) if side == "centre" else None
    )
    _audit(
        request,
        principal,
        "mdt.network.identity" if identity else "mdt.network.read",
        referral,
        detail=f"referral {referral.code} as {side}",
    )
    thread = network_service.thread_for(context.store, referral, side)
    for message in thread:
        message["when"] = _local(message["at"])
    names = {h.id: h.name or h.id for h in list_hospitals(context.store.engine)}
    package = referral.package
    return render(
        request,
        "mdt_network_referral.html",
        {
            "r": referral,
            "side": side,
            "identity": identity,
            "thread": thread,
            "package": package,
            "summary": package.get("summary") or {},
            "record": package.get("record") or {},
            "pv": _package_view(package, request_lang(request)),
            "names": names,
            "saved": saved,
            "problems": problems or [],
            "error": error,
            "referred": _local(referral.referred_at),
            "answered": _local(referral.answered_at),
            "meeting": _local(referral.meeting_at),
            "STATE_LABELS": STATE_LABELS,
            "QUESTION_LABELS": QUESTION_LABELS,
            "SPECIALTY_LABELS": SPECIALTY_LABELS,
            "DECISION_LABELS": DECISION_LABELS,
            "BONE_STATUS_LABELS": BONE_STATUS_LABELS,
            "HISTOLOGY_LABELS": HISTOLOGY_LABELS,
            "NOTICES": NOTICES,
            "specialties": [s.value for s in Specialty],
            "decision_types": [d.value for d in DecisionType],
            "may_write": principal.can(Permission.WRITE_EVENTS),
        },
        status=422 if (problems or error) else 200,
        principal=principal,
    )


@router.post("/mdt/network/referrals/{code}/{action}", response_model=None)
async def referral_action(
    request: Request, context: Context, principal: Caller, code: str, action: str
) -> Response:
    referral, side = _open(request, context, principal, code, f"mdt.network.{action}")
    form = await _form(request)
    store = context.store
    allowed = {
        "centre": {"message", "meeting", "answer"},
        "referrer": {"message", "accept", "revoke", "consent"},
    }[side]
    if action not in allowed:
        deps.audit_denied(request, principal, f"mdt.network.{action}", asked=f"referral {code}")
        raise NotFound(f"no action {action}")
    try:
        if action == "message":
            network_service.post_message(
                store,
                principal,
                referral,
                side,
                specialty=str(form.get("specialty") or ""),
                body=str(form.get("body") or ""),
                today=context.today(),
            )
            saved = "message"
        elif action == "meeting":
            at = _meeting_time(str(form.get("at") or ""))
            network_service.schedule_meeting(
                store, principal, referral, at=at, link=str(form.get("link") or "")
            )
            saved = "meeting"
        elif action == "answer":
            decisions = []
            for kind in form.get("decision") or []:
                d: dict[str, Any] = {"type": kind}
                if kind == "bta_start" and form.get("drug"):
                    d["drug"] = form["drug"]
                if kind == "bta_stop" and form.get("stop_reason"):
                    d["stop_reason"] = form["stop_reason"]
                decisions.append(d)
            network_service.answer(
                store,
                principal,
                referral,
                decisions=decisions,
                rationale=str(form.get("rationale") or ""),
                attendees=list(form.get("attendee") or []),
                today=context.today(),
            )
            saved = "answered"
        elif action == "accept":
            network_service.accept(store, principal, referral, today=context.today())
            saved = "accepted"
        elif action == "revoke":
            network_service.revoke(
                store,
                principal,
                referral,
                reason=str(form.get("reason") or ""),
                today=context.today(),
            )
            saved = "revoked"
        else:
            network_service.set_consent(
                store,
                principal,
                referral,
                given=form.get("consent") == "yes",
                note=str(form.get("consent_note") or ""),
                today=context.today(),
            )
            saved = "consent"
    except PermissionError:
        _audit(request, principal, f"mdt.network.{action}", referral, outcome="denied")
        return HTMLResponse(status_code=403)
    except (RecordRefused, InputError) as exc:
        _audit(request, principal, f"mdt.network.{action}", referral, outcome="refused")
        return _referral_page(
            request,
            context,
            principal,
            referral,
            side,
            problems=list(exc.problems) if isinstance(exc, RecordRefused) else None,
            error=None if isinstance(exc, RecordRefused) else str(exc),
        )
    _audit(request, principal, f"mdt.network.{action}", referral)
    target = "/mdt/network" if action == "revoke" else f"/mdt/network/referrals/{code}"
    return RedirectResponse(f"{target}?saved={saved}", status_code=303)


def _meeting_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=ZONE)
    except ValueError:
        raise RecordRefused(
            [Problem("/at", "INVALID_DATE", "a meeting time is a date and time")]
        ) from None


def opinion_html(context: deps.AppContext, referral: Referral, side: Side, lang: Lang) -> str:
    store = context.store
    identity = (
        network_service.identity_for_centre(store, referral)
        if side == "centre"
        else {"name": _referrer_name(context, referral), "patient_id": referral.patient_id}
    )
    opinions = [
        m for m in network_service.thread_for(store, referral, side) if m["kind"] == "opinion"
    ]
    return render_opinion(
        lang=lang,
        code=referral.code,
        referring_hospital=network_service.hospital_label(store, referral.hospital_id),
        centre=network_service.hospital_label(store, referral.centre_id),
        referred_at=referral.referred_at.astimezone(ZONE),
        answered_at=referral.answered_at.astimezone(ZONE) if referral.answered_at else None,
        package=referral.package,
        question_label=_t(lang, QUESTION_LABELS, referral.question),
        opinions=opinions,
        specialty_labels={k: gettext(lang, v) for k, v in SPECIALTY_LABELS.items()},
        decision_labels={k: gettext(lang, v) for k, v in DECISION_LABELS.items()},
        decision=referral.decision,
        identity=identity,
    )


def _referrer_name(context: deps.AppContext, referral: Referral) -> str:
    record = context.store.get_record(*referral.patient)
    if record is None:
        return ""
    identity = record.to_json_dict().get("identity") or {}
    return str(identity.get("name") or "")


@router.get("/mdt/network/referrals/{code}/opinion.html", response_class=HTMLResponse)
def opinion_page(request: Request, context: Context, principal: Caller, code: str) -> HTMLResponse:
    referral, side = _open(request, context, principal, code, "mdt.network.opinion")
    _audit(request, principal, "mdt.network.opinion", referral)
    return HTMLResponse(opinion_html(context, referral, side, request_lang(request)))


@router.get("/mdt/network/referrals/{code}/opinion.pdf", response_model=None)
def opinion_pdf(request: Request, context: Context, principal: Caller, code: str) -> Response:
    from bonepath.quality.report import html_to_pdf

    referral, side = _open(request, context, principal, code, "mdt.network.opinion")
    html = opinion_html(context, referral, side, request_lang(request))
    try:
        with tempfile.TemporaryDirectory(prefix="bonepath-opinion-") as tmp:
            target = Path(tmp) / "opinion.pdf"
            html_to_pdf(html, target)
            data = target.read_bytes()
    except ConfigError:
        _audit(request, principal, "mdt.network.opinion", referral, outcome="failed")
        return render(
            request,
            "error.html",
            {"status": 503, "message": N_("The PDF could not be printed: Chromium is missing.")},
            status=503,
            principal=principal,
        )
    _audit(request, principal, "mdt.network.opinion", referral)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{referral.code}.pdf"'},
    )


def fhir_bundle(context: deps.AppContext, referral: Referral, side: Side) -> dict[str, Any]:
    from bonepath.interop.fhir.from_record import patient_fhir_id

    store = context.store
    return referral_bundle(
        code=referral.code,
        state=referral.state,
        question=referral.question,
        question_text=str((referral.package.get("question") or {}).get("text") or "")
        if side == "centre"
        else referral.question_text,
        referring_hospital=(
            referral.hospital_id,
            network_service.hospital_label(store, referral.hospital_id),
        ),
        centre=(referral.centre_id, network_service.hospital_label(store, referral.centre_id)),
        referred_at=referral.referred_at,
        package=referral.package,
        messages=network_service.thread_for(store, referral, side),
        decision=referral.decision,
        patient_reference=None
        if side == "centre"
        else f"Patient/{patient_fhir_id(*referral.patient)}",
    )


@router.get("/mdt/network/referrals/{code}/fhir")
def referral_fhir(request: Request, context: Context, principal: Caller, code: str) -> Response:
    referral, side = _open(request, context, principal, code, "mdt.network.fhir")
    _audit(request, principal, "mdt.network.fhir", referral)
    return JSONResponse(fhir_bundle(context, referral, side), media_type="application/fhir+json")


# ---- administration -----------------------------------------------------------------------------


@router.get("/admin/network", response_class=HTMLResponse)
def admin_network(
    request: Request, context: Context, principal: Admin, saved: str | None = None
) -> HTMLResponse:
    return _admin_page(request, context, principal, saved=saved)


def _admin_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    *,
    saved: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    hospitals = list_hospitals(context.store.engine)
    return render(
        request,
        "admin_network.html",
        {
            "networks": network.list_networks(context.store.engine),
            "hospitals": hospitals,
            "names": {h.id: h.name or h.id for h in hospitals},
            "saved": saved,
            "error": error,
            "NOTICES": NOTICES,
        },
        status=422 if error else 200,
        principal=principal,
    )


@router.post("/admin/network", response_model=None)
async def admin_network_save(request: Request, context: Context, principal: Admin) -> Response:
    form = await _form(request)
    if not principal.all_hospitals:
        deps.audit(request, principal, "mdt.network.admin", outcome="denied")
        return _admin_page(
            request, context, principal, error=gettext(request_lang(request), NEEDS_REGIONAL)
        )
    try:
        network_id = str(form.get("network_id") or "").strip()
        if form.get("op") == "remove":
            network.remove_member(context.store.engine, network_id, str(form.get("hospital")))
        else:
            if form.get("name") or form.get("centre"):
                network.save_network(
                    context.store.engine,
                    network_id,
                    str(form.get("name") or ""),
                    str(form.get("centre") or ""),
                )
            if form.get("hospital"):
                network.add_member(context.store.engine, network_id, str(form["hospital"]))
    except (InputError, NotFound) as exc:
        deps.audit(request, principal, "mdt.network.admin", outcome="refused", detail=str(exc))
        return _admin_page(request, context, principal, error=str(exc))
    deps.audit(request, principal, "mdt.network.admin", detail=f"network {network_id}")
    return RedirectResponse("/admin/network?saved=network", status_code=303)


NEEDS_REGIONAL: Final = N_("Only an administrator of every hospital (grant *) configures networks.")


# ---- the opinion of a hospital's own MDT case ---------------------------------------------------


def case_opinion_html(
    context: deps.AppContext, principal: Principal, case_id: int, lang: Lang
) -> tuple[str, Any]:
    """The 会诊意见 of a decided MDT case of the caller's hospital (tenancy: 404 otherwise):
    the meeting, who attended (by specialty, with names), the decisions and the rationale."""
    from bonepath.api import mdt_service

    view = mdt_service.case_view(context.store, principal, case_id)
    case = view.case
    if not principal.sees(case.hospital_id):
        # a regional centre sees a referred case only as the network's de-identified package
        raise NotFound(f"no MDT case {case_id}")
    summary = case.summary or {}
    patient = summary.get("patient") or {}
    bone = summary.get("bone") or {}
    package = {
        "age": patient.get("age_years"),
        "sex": patient.get("sex"),
        "question": {"text": case.question_text},
        "record": {
            "cancer": {k: patient.get(k) for k in ("histology", "stage", "tnm") if patient.get(k)},
            "bone_metastasis": {
                "status": bone.get("status"),
                "lesions": summary.get("lesions") or [],
            },
        },
        "summary": {"findings": summary.get("findings") or []},
    }
    meeting = None
    if view.meeting is not None:
        from bonepath.store import mdt as mdt_store

        held = mdt_store.get_meeting(context.store.engine, view.meeting.id, kind="attended")
        meeting = {
            "date": view.meeting.date.isoformat(),
            "chair": view.meeting.chair,
            "recorder": view.meeting.recorder,
            "attendance": [(a.specialty.value, a.name) for a in held.attendance],
        }
    decision = case.decision.to_json() if case.decision else None
    decided = (
        dt.datetime.combine(case.decision.decided_on, dt.time(), ZONE) if case.decision else None
    )
    hospital = network_service.hospital_label(context.store, case.hospital_id or "")
    name = _referrer_name_of(context, case.patient_source, case.patient_id)
    html = render_opinion(
        lang=lang,
        code=f"MDT-{case.id}",
        referring_hospital=hospital,
        centre=hospital,
        referred_at=dt.datetime.combine(case.created_on, dt.time(), ZONE),
        answered_at=decided,
        package=package,
        question_label=_t(lang, QUESTION_LABELS, case.question.value),
        opinions=[],
        specialty_labels={k: gettext(lang, v) for k, v in SPECIALTY_LABELS.items()},
        decision_labels={k: gettext(lang, v) for k, v in DECISION_LABELS.items()},
        decision=decision,
        identity={"name": name, "patient_id": case.patient_id},
        meeting=meeting,
        local=True,
    )
    return html, case


def _referrer_name_of(context: deps.AppContext, source: str, pid: str) -> str:
    record = context.store.get_record(source, pid)
    if record is None:
        return ""
    identity = record.to_json_dict().get("identity") or {}
    return str(identity.get("name") or "")


def _case_opinion(
    request: Request, context: deps.AppContext, principal: Principal, case_id: int
) -> tuple[str, Any]:
    try:
        html, case = case_opinion_html(context, principal, case_id, request_lang(request))
    except NotFound:
        deps.audit_denied(request, principal, "mdt.case.opinion", asked=f"case {case_id}")
        raise
    deps.audit(
        request,
        principal,
        "mdt.case.opinion",
        patient=(case.patient_source, case.patient_id),
        hospital=case.hospital_id,
        detail=f"case {case_id}",
    )
    return html, case


@router.get("/mdt/cases/{case_id}/opinion.html", response_class=HTMLResponse)
def case_opinion_page(
    request: Request, context: Context, principal: Caller, case_id: int
) -> HTMLResponse:
    html, _case = _case_opinion(request, context, principal, case_id)
    return HTMLResponse(html)


@router.get("/mdt/cases/{case_id}/opinion.pdf", response_model=None)
def case_opinion_pdf(
    request: Request, context: Context, principal: Caller, case_id: int
) -> Response:
    from bonepath.quality.report import html_to_pdf

    html, _case = _case_opinion(request, context, principal, case_id)
    try:
        with tempfile.TemporaryDirectory(prefix="bonepath-opinion-") as tmp:
            target = Path(tmp) / "opinion.pdf"
            html_to_pdf(html, target)
            data = target.read_bytes()
    except ConfigError:
        return render(
            request,
            "error.html",
            {"status": 503, "message": N_("The PDF could not be printed: Chromium is missing.")},
            status=503,
            principal=principal,
        )
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="MDT-{case_id}.pdf"'},
    )


# ---- MDT indicators (QC-13..QC-15) --------------------------------------------------------------


QualityUser = Annotated[Principal, Depends(deps.require(Permission.QUALITY))]


@router.get("/api/quality/mdt", include_in_schema=True, tags=["quality"])
def quality_mdt_json(
    request: Request,
    context: Context,
    principal: QualityUser,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """QC-13 (days trigger → decision), QC-14 (days decision → implementation) and QC-15
    (referrals to a regional centre by city tier) of the caller's hospitals (docs/quality.md)."""
    from bonepath.population.mdt_quality import mdt_indicators
    from bonepath.web.quality_pages import scope

    day_to = end or context.today()
    day_from = start or dt.date(day_to.year, 1, 1)
    if day_from > day_to:
        raise InputError("the period's start is after its end")
    hospitals = scope(principal, hospital or None)
    deps.audit(request, principal, "quality.read", hospital=hospital, detail="mdt indicators")
    return mdt_indicators(context.store.engine, day_from, day_to, hospitals).to_json()
