"""Pages of the MDT (issue 16 items 1-3, 6): the coordinator's case board, calendar and
agendas with quorum, the case page (frozen summary, findings with sources, scheduling, the
decision form, tasks), the specialists' "my cases" and the responsibility table.

- ``GET /mdt``: open cases by state (proposed, scheduled, discussed, decided);
- ``POST /mdt/cases/new``: a case from the patient's MDT-01 finding ("提交MDT" on the worklist
  row and the patient page) or by hand (``question``);
- ``GET /mdt/cases/{id}``; ``POST /mdt/cases/{id}/{schedule|unschedule|withdraw|decision|attach}``;
- ``GET /mdt/calendar`` (meetings; a new meeting), ``POST /mdt/meetings``;
- ``GET /mdt/meetings/{id}`` (agenda: quorum before, recorded after);
  ``POST /mdt/meetings/{id}/attendance``;
- ``GET /mdt/mine`` (cases on the caller's meetings and the caller's role's tasks);
  ``POST /mdt/tasks/{id}/done``;
- ``GET|POST /mdt/responsibilities`` (责任分工表; administrators change it).

Everything goes through :mod:`bonepath.api.mdt_service`; a refused input re-renders the page
with each problem said in the page's language (``problem_fix``), nothing written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bonepath.api import deps
from bonepath.api import mdt_service as svc
from bonepath.api.deps import Context
from bonepath.engine.findings import Finding
from bonepath.errors import NotFound, Problem, RecordRefused
from bonepath.mdt import (
    OPEN_STATES,
    OWNER_ROLES,
    Attendance,
    CaseState,
    DecisionType,
    MeetingState,
    QuestionType,
    Specialty,
    validate_row,
)
from bonepath.population import readable
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal
from bonepath.vocab import Drug, FindingKind, Severity, StopReason
from bonepath.web import clinical, mdt_package
from bonepath.web.pages import ENV, N_, render, request_lang

router = APIRouter(include_in_schema=False, tags=["mdt"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Caller = Annotated[Principal, Depends(deps.current_principal)]

STATE_LABELS: Final = {
    "proposed": N_("Proposed"),
    "scheduled": N_("Scheduled"),
    "discussed": N_("Discussed"),
    "decided": N_("Decided"),
    "implemented": N_("Implemented"),
    "withdrawn": N_("Withdrawn"),
}
QUESTION_LABELS: Final = {
    "diagnosis": N_("Diagnosis"),
    "bta": N_("Bone-targeted agent"),
    "radiotherapy": N_("Radiotherapy"),
    "surgery_intervention": N_("Surgery or intervention"),
    "onj": N_("Osteonecrosis of the jaw"),
    "pain": N_("Pain"),
    "other": N_("Other question"),
}
SPECIALTY_LABELS: Final = {
    "oncology": N_("Oncology"),
    "respiratory": N_("Respiratory medicine"),
    "thoracic_surgery": N_("Thoracic surgery"),
    "orthopaedics_spine": N_("Orthopaedics / spine"),
    "radiotherapy": N_("Radiotherapy"),
    "radiology": N_("Radiology"),
    "nuclear_medicine": N_("Nuclear medicine"),
    "pain": N_("Pain medicine"),
    "nursing": N_("Nursing"),
    "oral_surgery": N_("Oral surgery"),
}
DECISION_LABELS: Final = {
    "bm_confirmed": N_("Bone metastasis confirmed"),
    "bm_excluded": N_("Bone metastasis excluded"),
    "biopsy": N_("Biopsy"),
    "bta_start": N_("Start a bone-targeted agent"),
    "bta_continue": N_("Continue the bone-targeted agent"),
    "bta_stop": N_("Stop the bone-targeted agent"),
    "rt_single_8gy": N_("Radiotherapy 8 Gy × 1"),
    "rt_sbrt": N_("SBRT"),
    "rt_postoperative": N_("Post-operative radiotherapy"),
    "surgery_fixation": N_("Surgical fixation"),
    "surgery_decompression": N_("Decompression surgery"),
    "rfa_cementoplasty": N_("Radiofrequency ablation with cementoplasty"),
    "arthroplasty": N_("Arthroplasty"),
    "pain_plan": N_("Pain plan"),
    "follow_up": N_("Follow-up"),
}
TRIGGER_LABELS: Final = {
    "DX-04": N_("Uncertain single lesion: biopsy"),
    "SURG-01": N_("Mirels ≥ 8"),
    "SURG-02": N_("SINS ≥ 7"),
    "SURG-03": N_("Tokuhashi ≥ 9"),
    "RT-05": N_("Suspected cord compression"),
    "SAFE-11": N_("Osteonecrosis of the jaw"),
    "PAIN": N_("Severe pain on a strong opioid"),
}
OWNER_LABELS: Final = {
    "clinician": N_("Clinician"),
    "nurse": N_("Nurse"),
    "mdt_coordinator": N_("MDT coordinator"),
}
NOTE_LABELS: Final = {
    "quorum met": N_("quorum met"),
    "all tasks done": N_("all tasks done"),
    "no tasks": N_("no tasks"),
}
HISTOLOGY_LABELS: Final = {
    "adenocarcinoma": N_("adenocarcinoma"),
    "squamous": N_("squamous cell carcinoma"),
    "large_cell": N_("large cell carcinoma"),
    "nsclc_nos": N_("NSCLC, not otherwise specified"),
    "sclc": N_("small cell lung cancer"),
    "other": N_("other histology"),
}
SETTING_LABELS: Final = {
    "resected": N_("resected"),
    "locally_advanced": N_("locally advanced"),
    "advanced": N_("advanced or metastatic"),
}
BONE_STATUS_LABELS: Final = {
    "none": N_("no bone metastasis"),
    "suspected": N_("suspected"),
    "confirmed": N_("confirmed"),
}
DRIVER_LABELS: Final = {
    "positive": N_("positive"),
    "negative": N_("negative"),
    "unknown": N_("unknown"),
}
LESION_KIND_LABELS: Final = {
    "lytic": N_("lytic"),
    "blastic": N_("blastic"),
    "mixed": N_("mixed"),
}


def site_label(code: str | None, lang: str) -> str:
    """A site code in the page's language (``pelvis`` -> 骨盆)."""
    if not code:
        return "—"
    pair = readable.SITES.get(code)
    return readable.text(pair, lang) if pair else code


ENV.globals.update(
    MDT_NOTE_LABELS=NOTE_LABELS,
    MDT_HISTOLOGY_LABELS=HISTOLOGY_LABELS,
    MDT_SETTING_LABELS=SETTING_LABELS,
    MDT_BONE_STATUS_LABELS=BONE_STATUS_LABELS,
    MDT_DRIVER_LABELS=DRIVER_LABELS,
    MDT_LESION_KIND_LABELS=LESION_KIND_LABELS,
    mdt_site=site_label,
    MDT_STATE_LABELS=STATE_LABELS,
    MDT_QUESTION_LABELS=QUESTION_LABELS,
    MDT_SPECIALTY_LABELS=SPECIALTY_LABELS,
    MDT_DECISION_LABELS=DECISION_LABELS,
    MDT_TRIGGER_LABELS=TRIGGER_LABELS,
    MDT_OWNER_LABELS=OWNER_LABELS,
    mdt_input=clinical.code_text,  # a missing score input in words (visceral_metastasis -> 内脏转移)
    mdt_when=mdt_package.when,  # a summary date: ISO (case) or day from the referral (package)
)

T = TypeVar("T")


def allowed(call: Callable[[], T]) -> T:
    """A service call; a role that may not do it is 403."""
    try:
        return call()
    except PermissionError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None


def _client(request: Request) -> str:
    return deps.client_address(request)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    form = await request.form()
    single = {k: v for k, v in form.items() if isinstance(v, str)}
    multi: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            multi.setdefault(key, []).append(value)
    return single, multi


def _finding(data: Mapping[str, Any]) -> Finding:
    """A finding frozen in a case summary, as the patient page shows findings."""
    due = data.get("due")
    title = data.get("title") or {}
    return Finding(
        rule=str(data["rule"]),
        kind=FindingKind(data.get("kind", "info")),
        severity=Severity(data.get("severity", "low")),
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        due=dt.date.fromisoformat(due) if due else None,
        values=dict(data.get("values") or {}),
        sources=tuple(data.get("sources") or ()),
    )


def _citations(rule: str, lang: str) -> list[clinical.ShownCitation]:
    try:
        return clinical.citations(rule, lang)
    except KeyError:
        return []


# ---- the board ----------------------------------------------------------------------------------


@router.get("/mdt", response_class=HTMLResponse)
def board_page(
    request: Request,
    context: Context,
    principal: Reader,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The coordinator's board: the open cases in columns by state, oldest due first."""
    chosen = (hospital or "").strip() or None
    columns = svc.board(context.store, principal, hospital=chosen)
    cases = [c for cs in columns.values() for c in cs]
    accounts.audit_many(
        context.store.engine,
        principal,
        "mdt.case.list",
        [(c.patient_source, c.patient_id, c.hospital_id) for c in cases],
        client=_client(request),
    )
    return render(
        request,
        "mdt_board.html",
        {
            "columns": [(s, columns[s]) for s in OPEN_STATES],
            "hospital": chosen or "",
            "can_coordinate": svc.can_coordinate(principal),
        },
    )


@router.post("/mdt/cases/new", response_model=None)
async def new_case(request: Request, context: Context, principal: Caller) -> Response:
    """A case in one step: from the patient's MDT-01 finding, or by hand with a question."""
    form, _ = await _form(request)
    source = form.get("source", "").strip()
    patient = form.get("patient", "").strip()
    question = form.get("question", "").strip()
    by_hand = bool(question)
    try:
        chosen = QuestionType(question) if question else None
    except ValueError:
        chosen = None
    try:
        case = allowed(
            lambda: svc.create_case(
                context.store,
                principal,
                source,
                patient,
                today=context.today(),
                question=chosen,
                question_text=form.get("question_text", ""),
                from_finding=not by_hand,
                client=_client(request),
            )
        )
    except NotFound:
        deps.audit_denied(request, principal, "mdt.case.create", patient=(source, patient))
        raise
    except RecordRefused as exc:
        existing = next((p for p in exc.problems if p.code == "MDT_CASE_EXISTS"), None)
        if existing is not None and existing.accepted:
            return _see_other(f"/mdt/cases/{existing.accepted[0]}?exists=1")
        return render(
            request,
            "mdt_new_case.html",
            {"problems": list(exc.problems), "source": source, "patient": patient, "form": form},
            status=422,
        )
    return _see_other(f"/mdt/cases/{case.id}?created=1")


@router.get("/mdt/cases/new", response_class=HTMLResponse)
def new_case_page(
    request: Request,
    principal: Reader,  # noqa: ARG001 - only readers see the form
    source: Annotated[str, Query(max_length=64)] = "",
    patient: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    return render(request, "mdt_new_case.html", {"source": source, "patient": patient, "form": {}})


# ---- the case page ------------------------------------------------------------------------------


def _case_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    case_id: int,
    extra: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = request_lang(request)
    view = svc.case_view(context.store, principal, case_id)
    case = view.case
    findings = [_finding(f) for f in case.summary.get("findings") or ()]
    today = context.today()
    meetings = []
    if case.state is CaseState.PROPOSED and svc.can_coordinate(principal):
        meetings = [
            m
            for m in svc.list_meetings(context.store, principal, date_from=today)
            if m.state is MeetingState.PLANNED
            and m.submission_deadline >= today
            and m.host_id in (case.hospital_id, case.referred_to)
        ]
    page: dict[str, Any] = {
        "view": view,
        "case": case,
        "s": case.summary,
        "findings": findings,
        "values": {f.rule: clinical.finding_values(f, lang) for f in findings},
        "citations": {f.rule: _citations(f.rule, lang) for f in findings},
        "dues": mdt_package.iso_dues(findings),
        "meetings": meetings,
        "can_coordinate": svc.can_coordinate(principal),
        "can_write": principal.can(Permission.WRITE_EVENTS),
        "decision_codes": [d.value for d in DecisionType],
        "drugs": [d.value for d in Drug],
        "stop_reasons": [r.value for r in StopReason],
        "specialties": [s.value for s in Specialty],
        "created": request.query_params.get("created"),
        "exists": request.query_params.get("exists"),
        "problems": [],
        "form": {},
        "role": principal.role.value,
        "local": lambda at: at.astimezone(context.settings.zone).strftime("%Y-%m-%d %H:%M"),
    }
    page.update(extra or {})
    return render(request, "mdt_case.html", page, status=status)


@router.get("/mdt/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, context: Context, principal: Reader, case_id: int) -> HTMLResponse:
    page = _case_page(request, context, principal, case_id)
    case = svc.visible_case(context.store, principal, case_id)
    deps.audit(
        request,
        principal,
        "mdt.case.read",
        patient=(case.patient_source, case.patient_id),
        hospital=case.hospital_id,
    )
    return page


def _decision_input(multi: Mapping[str, list[str]], form: Mapping[str, str]) -> dict[str, Any]:
    """The decision form's fields as the service reads them: one entry per ticked decision,
    with its drug, stop reason, site or confirmation date when the form gives one."""
    decisions = []
    for code in multi.get("decision", []):
        entry: dict[str, Any] = {"type": code}
        if code == "bta_start":
            entry["drug"] = form.get("drug", "")
        if code == "bta_stop":
            entry["stop_reason"] = form.get("stop_reason", "")
        if code == "bm_confirmed":
            entry["confirmed_date"] = form.get("confirmed_date", "")
        if form.get("site"):
            entry["site"] = form.get("site")
        decisions.append(entry)
    return {
        "decided_on": form.get("decided_on", ""),
        "decisions": decisions,
        "rationale": form.get("rationale", ""),
        "attendees": multi.get("attendee", []),
    }


@router.post("/mdt/cases/{case_id}/{action}", response_model=None)
async def case_action(
    request: Request, context: Context, principal: Caller, case_id: int, action: str
) -> Response:
    form, multi = await _form(request)
    store, today, client = context.store, context.today(), _client(request)
    try:
        if action == "schedule":
            try:
                meeting_id = int(form.get("meeting_id", ""))
            except ValueError:
                raise RecordRefused(
                    [Problem("/meeting_id", "MISSING_FIELD", "choose a meeting")]
                ) from None
            allowed(
                lambda: svc.schedule(
                    store, principal, case_id, meeting_id, today=today, client=client
                )
            )
        elif action == "unschedule":
            allowed(lambda: svc.unschedule(store, principal, case_id, client=client))
        elif action == "withdraw":
            allowed(
                lambda: svc.withdraw(
                    store, principal, case_id, form.get("reason", ""), client=client
                )
            )
        elif action == "decision":
            decision = svc.parse_decision_form(_decision_input(multi, form), today=today)
            allowed(
                lambda: svc.decide(store, principal, case_id, decision, today=today, client=client)
            )
        elif action == "attach":
            allowed(
                lambda: svc.add_attachment(
                    store,
                    principal,
                    case_id,
                    kind=form.get("kind", "report"),
                    title=form.get("title", ""),
                    text=form.get("text") or None,
                    uri=form.get("uri") or None,
                    client=client,
                )
            )
        else:
            raise NotFound(action)
    except RecordRefused as exc:
        deps.audit(
            request, principal, f"mdt.case.{action}", outcome="refused", detail=f"case {case_id}"
        )
        return _case_page(
            request,
            context,
            principal,
            case_id,
            {
                "problems": list(exc.problems),
                "form": form,
                "ticked": multi.get("decision", []),
                "open_form": action,
            },
            status=422,
        )
    return _see_other(f"/mdt/cases/{case_id}?done={action}")


# ---- meetings -----------------------------------------------------------------------------------


@router.get("/mdt/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    context: Context,
    principal: Reader,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
) -> HTMLResponse:
    """The meetings of the caller's hospitals (and centres) from ``from`` (default 30 days
    ago) for 90 days, each with its agenda size; a coordinator plans a new one here."""
    today = context.today()
    first = start or today - dt.timedelta(days=30)
    meetings = svc.list_meetings(
        context.store, principal, date_from=first, date_to=first + dt.timedelta(days=120)
    )
    hospitals = _host_choices(context, principal)
    page = _calendar(meetings, hospitals, today, svc.can_coordinate(principal), first)
    page["users"] = _users(context, hospitals)
    return render(request, "mdt_calendar.html", page)


def _host_choices(context: deps.AppContext, principal: Principal) -> list[str]:
    """The hospitals a meeting may be planned for: those granted, every known one (registered
    or named by a stored patient) for an all-hospitals (``*``) grant."""
    from bonepath.api.worklist_query import known_hospitals

    return known_hospitals(context.store, principal)


def _users(context: deps.AppContext, hospitals: list[str]) -> list[tuple[str, str]]:
    """(username, label) of the accounts who may attend the meetings of ``hospitals``."""
    seen: dict[str, str] = {}
    for hospital in hospitals:
        for u in svc.hospital_users(context.store, hospital):
            seen.setdefault(
                u.username, f"{u.display_name} ({u.username})" if u.display_name else u.username
            )
    return sorted(seen.items())


def _attendance(form: Mapping[str, str], code: str) -> tuple[str, str | None]:
    """A specialty's (guest name, account) from the form: ``user_<code>`` names an account,
    ``name_<code>`` a guest without one."""
    return form.get(f"name_{code}", "").strip(), form.get(f"user_{code}", "").strip() or None


def _calendar(
    meetings: list[Any], hospitals: list[str], today: dt.date, can: bool, first: dt.date
) -> dict[str, Any]:
    return {
        "meetings": meetings,
        "hospitals": hospitals,
        "users": [],
        "can_coordinate": can,
        "specialties": [s.value for s in Specialty],
        "first": first,
        "default_date": today + dt.timedelta(days=7),
        "problems": [],
        "form": {},
    }


@router.post("/mdt/meetings", response_model=None)
async def new_meeting(request: Request, context: Context, principal: Caller) -> Response:
    form, multi = await _form(request)
    today = context.today()
    problems: list[Problem] = []
    day = deadline = None
    try:
        day = dt.date.fromisoformat(form.get("date", ""))
    except ValueError:
        problems.append(
            Problem("/date", "INVALID_DATE", "the meeting date is not a date", ("YYYY-MM-DD",))
        )
    if form.get("submission_deadline"):
        try:
            deadline = dt.date.fromisoformat(form["submission_deadline"])
        except ValueError:
            problems.append(
                Problem(
                    "/submission_deadline",
                    "INVALID_DATE",
                    "the deadline is not a date",
                    ("YYYY-MM-DD",),
                )
            )
    planned = []
    for code in multi.get("specialty", []):
        try:
            specialty = Specialty(code)
        except ValueError:
            problems.append(
                Problem(
                    "/specialty",
                    "UNKNOWN_CODE",
                    f"unknown specialty {code!r}",
                    tuple(s.value for s in Specialty),
                )
            )
            continue
        planned.append(Attendance(specialty, *_attendance(form, code)))
    try:
        if problems:
            raise RecordRefused(problems)
        assert day is not None
        meeting = allowed(
            lambda: svc.create_meeting(
                context.store,
                principal,
                host_id=form.get("host_id", "").strip(),
                date=day,
                submission_deadline=deadline,
                title=form.get("title", ""),
                chair=form.get("chair"),
                recorder=form.get("recorder"),
                planned=planned,
                today=today,
                client=_client(request),
            )
        )
    except RecordRefused as exc:
        meetings = svc.list_meetings(
            context.store, principal, date_from=today - dt.timedelta(days=30)
        )
        page = _calendar(
            meetings,
            _host_choices(context, principal),
            today,
            svc.can_coordinate(principal),
            today - dt.timedelta(days=30),
        )
        page.update(problems=list(exc.problems), form=form)
        page["users"] = _users(context, page["hospitals"])
        return render(request, "mdt_calendar.html", page, status=422)
    return _see_other(f"/mdt/meetings/{meeting.id}")


@router.get("/mdt/meetings/{meeting_id}", response_class=HTMLResponse)
def agenda_page(
    request: Request, context: Context, principal: Reader, meeting_id: int
) -> HTMLResponse:
    return _agenda_page(request, context, principal, meeting_id)


def _agenda_page(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    meeting_id: int,
    extra: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    agenda = svc.agenda(context.store, principal, meeting_id)
    page: dict[str, Any] = {
        "agenda": agenda,
        "meeting": agenda.meeting,
        "specialties": [s.value for s in Specialty],
        "planned": {a.specialty.value: a.name for a in agenda.meeting.attendance},
        "attended": {a.specialty.value: a.name for a in agenda.attended.attendance},
        "planned_users": {a.specialty.value: a.username for a in agenda.meeting.attendance},
        "attended_users": {a.specialty.value: a.username for a in agenda.attended.attendance},
        "users": _users(context, [agenda.meeting.host_id]),
        "can_coordinate": svc.can_coordinate(principal),
        "problems": [],
    }
    page.update(extra or {})
    return render(request, "mdt_meeting.html", page, status=status)


@router.post("/mdt/meetings/{meeting_id}/attendance", response_model=None)
async def attendance(
    request: Request, context: Context, principal: Caller, meeting_id: int
) -> Response:
    form, multi = await _form(request)
    people = []
    for code in multi.get("specialty", []):
        try:
            people.append(Attendance(Specialty(code), *_attendance(form, code)))
        except ValueError:
            continue
    try:
        allowed(
            lambda: svc.record_attendance(
                context.store, principal, meeting_id, people, client=_client(request)
            )
        )
    except RecordRefused as exc:
        return _agenda_page(
            request, context, principal, meeting_id, {"problems": list(exc.problems)}, 422
        )
    return _see_other(f"/mdt/meetings/{meeting_id}?recorded=1")


# ---- specialists and owners ---------------------------------------------------------------------


@router.get("/mdt/mine", response_class=HTMLResponse)
def mine_page(request: Request, context: Context, principal: Reader) -> HTMLResponse:
    today = context.today()
    return render(
        request,
        "mdt_mine.html",
        {
            "cases": svc.my_cases(context.store, principal, today=today),
            "tasks": svc.my_tasks(context.store, principal),
        },
    )


@router.post("/mdt/tasks/{task_id}/done", response_model=None)
async def task_done(
    request: Request, context: Context, principal: Caller, task_id: int
) -> Response:
    form, _ = await _form(request)
    with contextlib.suppress(RecordRefused):  # done already: the list shows it
        allowed(
            lambda: svc.complete_task(
                context.store, principal, task_id, client=_client(request), today=context.today()
            )
        )
    back = form.get("next", "")
    return _see_other(back if back.startswith("/") and not back.startswith("//") else "/mdt/mine")


def worklist_tasks(context: deps.AppContext, principal: Principal) -> list[Any]:
    """The caller's role's open MDT tasks, for the worklist page (overdue first by due)."""
    return svc.my_tasks(context.store, principal)


# ---- the responsibility table -------------------------------------------------------------------


@router.get("/mdt/responsibilities", response_class=HTMLResponse)
def responsibilities_page(request: Request, context: Context, principal: Reader) -> HTMLResponse:
    return _responsibilities(request, context, principal)


def _responsibilities(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    extra: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    page: dict[str, Any] = {
        "rows": svc.responsibilities(context.store, principal),
        "can_edit": principal.can(Permission.ADMIN),
        "decision_codes": [d.value for d in DecisionType],
        "owners": OWNER_ROLES,
        "problems": [],
        "form": {},
    }
    page.update(extra or {})
    return render(request, "mdt_responsibilities.html", page, status=status)


@router.post("/mdt/responsibilities", response_model=None)
async def save_responsibility(request: Request, context: Context, principal: Caller) -> Response:
    form, _ = await _form(request)
    try:
        if form.get("delete"):
            allowed(
                lambda: svc.delete_responsibility(
                    context.store,
                    principal,
                    form.get("decision", ""),
                    form.get("task", ""),
                    form.get("owner", ""),
                    client=_client(request),
                )
            )
        else:
            row = validate_row(
                form.get("decision", ""),
                form.get("task", ""),
                form.get("owner", ""),
                form.get("due_days", ""),
                form.get("title_zh", ""),
                form.get("title_en", ""),
            )
            allowed(
                lambda: svc.save_responsibility(
                    context.store, principal, row, client=_client(request)
                )
            )
    except RecordRefused as exc:
        return _responsibilities(
            request, context, principal, {"problems": list(exc.problems), "form": form}, 422
        )
    return _see_other("/mdt/responsibilities?saved=1")
