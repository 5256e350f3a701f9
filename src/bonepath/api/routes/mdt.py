"""The MDT's JSON API (issue 16 item 6): cases, meetings and agendas, decisions, tasks, the
responsibility table. Everything goes through :mod:`bonepath.api.mdt_service` (tenancy, the
record's validation, audit); a case or meeting outside the caller's hospitals is 404.

- ``GET /api/mdt/cases?state=&hospital=`` → ``{"cases": [listing...]}`` (the CLI's JSON)
- ``POST /api/mdt/cases`` → a case from MDT-01 (``from_finding``) or by hand (``question``)
- ``GET /api/mdt/cases/{id}``; ``POST …/schedule``, ``…/unschedule``, ``…/withdraw``,
  ``…/decision``, ``…/attachments``
- ``GET|POST /api/mdt/meetings``; ``GET /api/mdt/meetings/{id}`` (agenda with quorum);
  ``POST /api/mdt/meetings/{id}/attendance``
- ``GET /api/mdt/tasks`` (the caller's role's); ``POST /api/mdt/tasks/{id}/done``
- ``GET /api/mdt/responsibilities``; ``POST`` / ``DELETE`` (administrators)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from bonepath.api import deps
from bonepath.api import mdt_service as svc
from bonepath.api.deps import Context
from bonepath.api.params import RowId
from bonepath.errors import Problem, RecordRefused
from bonepath.mdt import (
    Attendance,
    CaseState,
    MeetingHost,
    QuestionType,
    Specialty,
    validate_row,
)
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/mdt", tags=["mdt"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Caller = Annotated[Principal, Depends(deps.current_principal)]

T = TypeVar("T")


def allowed(call: Callable[[], T]) -> T:
    """Run a service call; a role that may not do it is 403 (the services raise
    ``PermissionError``; tenancy is 404 there already)."""
    try:
        return call()
    except PermissionError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None


def _client(request: Request) -> str:
    return deps.client_address(request)


class CaseIn(BaseModel):
    source: str = Field(default="manual", min_length=1, max_length=64)
    patient: str = Field(min_length=1, max_length=64)
    from_finding: bool = True
    question: QuestionType | None = None
    question_text: str = Field(default="", max_length=svc.MAX_TEXT)


class ScheduleIn(BaseModel):
    meeting_id: int = Field(ge=1)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=svc.MAX_TEXT)


class DecisionItemIn(BaseModel):
    type: str = Field(max_length=32)
    drug: str | None = Field(default=None, max_length=32)
    stop_reason: str | None = Field(default=None, max_length=32)
    site: str | None = Field(default=None, max_length=32)
    confirmed_date: str | None = Field(default=None, max_length=10)
    note: str | None = Field(default=None, max_length=1000)


class DecisionIn(BaseModel):
    decided_on: str | None = Field(default=None, max_length=10)
    decisions: list[DecisionItemIn | Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=16, description="codes, or objects with their details"
    )
    rationale: str = Field(default="", max_length=svc.MAX_TEXT)
    attendees: list[Specialty] = Field(default_factory=list, max_length=16)
    remote: bool = False
    centre: str | None = Field(default=None, max_length=64)


class AttachmentIn(BaseModel):
    kind: str = Field(default="report", max_length=16)
    title: str = Field(max_length=svc.MAX_TITLE)
    text: str | None = Field(default=None, max_length=20000)
    uri: str | None = Field(default=None, max_length=svc.MAX_TITLE)


class PersonIn(BaseModel):
    specialty: Specialty
    name: str = Field(default="", max_length=64)
    username: str | None = Field(
        default=None, max_length=64, description="an account of the hospital (else a guest)"
    )


class MeetingIn(BaseModel):
    host_id: str = Field(min_length=1, max_length=64)
    host: MeetingHost = MeetingHost.HOSPITAL
    date: dt.date
    submission_deadline: dt.date | None = None
    title: str = Field(default="", max_length=svc.MAX_TITLE)
    chair: str | None = Field(default=None, max_length=64)
    recorder: str | None = Field(default=None, max_length=64)
    planned: list[PersonIn] = Field(default_factory=list, max_length=40)


class AttendanceIn(BaseModel):
    attended: list[PersonIn] = Field(max_length=40)


class ResponsibilityIn(BaseModel):
    decision: str = Field(max_length=32)
    task: str = Field(max_length=64)
    owner: str = Field(max_length=32)
    due_days: int
    title_zh: str = Field(max_length=svc.MAX_TITLE)
    title_en: str = Field(max_length=svc.MAX_TITLE)


def _detail(context: deps.AppContext, principal: Principal, case_id: int) -> dict[str, Any]:
    return svc.case_json(svc.case_view(context.store, principal, case_id))


@router.get("/cases")
def get_cases(
    request: Request,
    context: Context,
    principal: Reader,
    state: Annotated[list[CaseState] | None, Query(max_length=6)] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The caller's hospitals' cases, oldest due first: ``{"cases": [...]}``."""
    cases = svc.list_cases(context.store, principal, states=state, hospital=hospital)
    deps.audit(request, principal, "mdt.case.list")
    return {"cases": [c.listing() for c in cases]}


@router.post("/cases", status_code=201)
def post_case(
    request: Request, context: Context, principal: Caller, body: CaseIn
) -> dict[str, Any]:
    case = allowed(
        lambda: svc.create_case(
            context.store,
            principal,
            body.source,
            body.patient,
            today=context.today(),
            question=body.question,
            question_text=body.question_text,
            from_finding=body.from_finding,
            client=_client(request),
        )
    )
    return _detail(context, principal, case.id)


@router.get("/cases/{case_id}")
def get_case(
    request: Request, context: Context, principal: Reader, case_id: RowId
) -> dict[str, Any]:
    detail = _detail(context, principal, case_id)
    deps.audit(
        request,
        principal,
        "mdt.case.read",
        patient=(detail["source"], detail["patient"]),
        hospital=detail["hospital"],
    )
    return detail


@router.post("/cases/{case_id}/schedule")
def post_schedule(
    request: Request, context: Context, principal: Caller, case_id: RowId, body: ScheduleIn
) -> dict[str, Any]:
    allowed(
        lambda: svc.schedule(
            context.store,
            principal,
            case_id,
            body.meeting_id,
            today=context.today(),
            client=_client(request),
        )
    )
    return _detail(context, principal, case_id)


@router.post("/cases/{case_id}/unschedule")
def post_unschedule(
    request: Request, context: Context, principal: Caller, case_id: RowId
) -> dict[str, Any]:
    allowed(lambda: svc.unschedule(context.store, principal, case_id, client=_client(request)))
    return _detail(context, principal, case_id)


@router.post("/cases/{case_id}/withdraw")
def post_withdraw(
    request: Request, context: Context, principal: Caller, case_id: RowId, body: ReasonIn
) -> dict[str, Any]:
    allowed(
        lambda: svc.withdraw(
            context.store, principal, case_id, body.reason, client=_client(request)
        )
    )
    return _detail(context, principal, case_id)


@router.post("/cases/{case_id}/decision")
def post_decision(
    request: Request, context: Context, principal: Caller, case_id: RowId, body: DecisionIn
) -> dict[str, Any]:
    """Record the decision: 422 with the record's problems (nothing written) when the record
    would be invalid, e.g. a confirmation dated in the future."""
    today = context.today()
    decision = svc.parse_decision_form(body.model_dump(), today=today)
    allowed(
        lambda: svc.decide(
            context.store, principal, case_id, decision, today=today, client=_client(request)
        )
    )
    return _detail(context, principal, case_id)


@router.post("/cases/{case_id}/attachments", status_code=201)
def post_attachment(
    request: Request, context: Context, principal: Caller, case_id: RowId, body: AttachmentIn
) -> dict[str, Any]:
    allowed(
        lambda: svc.add_attachment(
            context.store,
            principal,
            case_id,
            kind=body.kind,
            title=body.title,
            text=body.text,
            uri=body.uri,
            client=_client(request),
        )
    )
    return _detail(context, principal, case_id)


@router.get("/meetings")
def get_meetings(
    context: Context,
    principal: Reader,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    meetings = svc.list_meetings(context.store, principal, date_from=date_from, date_to=date_to)
    return {"meetings": [m.to_json() for m in meetings]}


@router.post("/meetings", status_code=201)
def post_meeting(
    request: Request, context: Context, principal: Caller, body: MeetingIn
) -> dict[str, Any]:
    meeting = allowed(
        lambda: svc.create_meeting(
            context.store,
            principal,
            host_id=body.host_id,
            host=body.host,
            date=body.date,
            submission_deadline=body.submission_deadline,
            title=body.title,
            chair=body.chair,
            recorder=body.recorder,
            planned=[Attendance(p.specialty, p.name, p.username) for p in body.planned],
            today=context.today(),
            client=_client(request),
        )
    )
    return svc.agenda_json(svc.agenda(context.store, principal, meeting.id))


@router.get("/meetings/{meeting_id}")
def get_agenda(context: Context, principal: Reader, meeting_id: RowId) -> dict[str, Any]:
    """The agenda: each case with its quorum (planned before the meeting, recorded after)."""
    return svc.agenda_json(svc.agenda(context.store, principal, meeting_id))


@router.post("/meetings/{meeting_id}/attendance")
def post_attendance(
    request: Request, context: Context, principal: Caller, meeting_id: RowId, body: AttendanceIn
) -> dict[str, Any]:
    allowed(
        lambda: svc.record_attendance(
            context.store,
            principal,
            meeting_id,
            [Attendance(p.specialty, p.name, p.username) for p in body.attended],
            client=_client(request),
        )
    )
    return svc.agenda_json(svc.agenda(context.store, principal, meeting_id))


@router.get("/tasks")
def get_tasks(
    context: Context,
    principal: Reader,
    include_done: bool = False,
) -> dict[str, Any]:
    """The open tasks of the caller's role in the caller's hospitals, by due date, with
    ``overdue`` as of today."""
    today = context.today()
    tasks = svc.my_tasks(context.store, principal, include_done=include_done)
    return {"tasks": [t.to_json() | {"overdue": t.overdue(today)} for t in tasks]}


@router.post("/tasks/{task_id}/done")
def post_task_done(
    request: Request, context: Context, principal: Caller, task_id: RowId
) -> dict[str, Any]:
    task = allowed(
        lambda: svc.complete_task(
            context.store, principal, task_id, client=_client(request), today=context.today()
        )
    )
    return task.to_json()


@router.get("/responsibilities")
def get_responsibilities(context: Context, principal: Reader) -> dict[str, Any]:
    return {"rows": [r.to_json() for r in svc.responsibilities(context.store, principal)]}


@router.post("/responsibilities")
def post_responsibility(
    request: Request, context: Context, principal: Caller, body: ResponsibilityIn
) -> dict[str, Any]:
    row = validate_row(
        body.decision, body.task, body.owner, body.due_days, body.title_zh, body.title_en
    )
    allowed(lambda: svc.save_responsibility(context.store, principal, row, client=_client(request)))
    return {"rows": [r.to_json() for r in svc.responsibilities(context.store, principal)]}


@router.delete("/responsibilities")
def delete_responsibility(
    request: Request,
    context: Context,
    principal: Caller,
    decision: Annotated[str, Query(max_length=32)],
    task: Annotated[str, Query(max_length=64)],
    owner: Annotated[str, Query(max_length=32)],
) -> dict[str, Any]:
    removed = allowed(
        lambda: svc.delete_responsibility(
            context.store, principal, decision, task, owner, client=_client(request)
        )
    )
    if not removed:
        raise RecordRefused([Problem("/", "UNKNOWN_CODE", "no such responsibility row")])
    return {"rows": [r.to_json() for r in svc.responsibilities(context.store, principal)]}
