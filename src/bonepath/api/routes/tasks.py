"""Follow-up tasks (:mod:`bonepath.reminders`): list the caller's, close one with a reason.

Tasks are opened by ``bonepath remind`` from the worklist; a person closes one with a reason
(for ADH-03, why the course was interrupted). A task of a patient outside the caller's
hospitals is 404, like the patient. Closing writes an audit row (``task.close``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from bonepath.api import deps
from bonepath.api.deps import Context
from bonepath.api.params import LIST_MAX, Offset, RowId, RuleId
from bonepath.errors import NotFound
from bonepath.reminders.model import Task, TaskQuery, TaskStatus
from bonepath.reminders.tasks import close_task, get_task, list_tasks
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]


class CloseIn(BaseModel):
    reason: str = Field(max_length=64, description="a CloseReason code, e.g. cost")
    note: str | None = Field(default=None, max_length=1000)


def visible_task(context: deps.AppContext, principal: Principal, task_id: int) -> Task:
    """The task, if its patient's hospital is granted to the caller (else NotFound)."""
    task = get_task(context.store, task_id)
    if not principal.sees(task.hospital):
        raise NotFound(f"no task {task_id}")
    return task


def patient_tasks(
    context: deps.AppContext, principal: Principal, source: str, patient_id: str
) -> list[Task]:
    return list_tasks(
        context.store,
        TaskQuery(
            status=TaskStatus.OPEN,
            hospitals=principal.hospital_filter(),
            source=source,
            patient=patient_id,
        ),
    )


def deny_task(
    request: Request, context: deps.AppContext, principal: Principal, task_id: int
) -> None:
    """Audit a refused close of task ``task_id``: the row names the task asked for and the
    hospital of its patient (for that hospital's admins), never the patient (the caller's own
    admins would read it)."""
    try:
        hospital = get_task(context.store, task_id).hospital
    except NotFound:
        hospital = None
    deps.audit_denied(request, principal, "task.close", hospital=hospital, asked=f"task {task_id}")


def close_for(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    task_id: int,
    reason: str,
    note: str | None,
) -> Task:
    try:
        task = visible_task(context, principal, task_id)
    except NotFound:
        deny_task(request, context, principal, task_id)
        raise
    closed = close_task(context.store, task_id, reason, note, principal.username)
    deps.audit(
        request,
        principal,
        "task.close",
        patient=(task.source, task.patient),
        hospital=task.hospital,
        detail=f"{task.rule} task {task_id}: {reason}",
    )
    return closed


@router.get("")
def get_tasks(
    request: Request,
    context: Context,
    principal: Reader,
    status: Annotated[TaskStatus | None, Query()] = TaskStatus.OPEN,
    rule: Annotated[list[RuleId] | None, Query(max_length=LIST_MAX, description="rule id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The caller's tasks, most urgent first."""
    tasks = list_tasks(
        context.store,
        TaskQuery(
            status=status,
            hospitals=principal.hospital_filter(),
            rules=tuple(rule or ()),
            limit=limit,
            offset=offset,
        ),
    )
    deps.audit(request, principal, "task.list")
    return {"tasks": [t.to_json() for t in tasks]}


@router.post("/{task_id}/close")
def post_close(
    request: Request, context: Context, principal: Writer, task_id: RowId, body: CloseIn
) -> dict[str, Any]:
    """Close a task with a reason (422 for a reason not allowed for its rule)."""
    return close_for(request, context, principal, task_id, body.reason, body.note).to_json()
