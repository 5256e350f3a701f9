"""Saved worklist views (issue 15 item 1): a user keeps the filters they use every day under a
name and opens them with one click from the worklist page. Each user sees only their own
(:mod:`bonepath.store.worklist_views`). A view is the page's query string, re-read through
the worklist's filter parser when opened, so it can hold nothing a user could not type."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from bonepath.api import deps
from bonepath.api.deps import Context
from bonepath.api.params import RowId
from bonepath.errors import InputError
from bonepath.store import worklist_views
from bonepath.store.accounts import Permission, Principal

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]

VIEW_KEYS: Final = frozenset(
    {"kind", "rule", "hospital", "department", "physician", "due_within", "undated"}
)
"""The worklist filters a view keeps; the day is never kept (a view opens on today)."""


def clean_query(query: str) -> str:
    """Only the worklist's filter parameters of ``query``, in a stable order."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k in VIEW_KEYS]
    return urlencode(kept)


@router.post("/worklist/views")
def save_view(
    context: Context,
    principal: Reader,
    name: Annotated[str, Form(max_length=200)] = "",
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Keep the current filters under ``name`` (a view of that name is replaced)."""
    kept = clean_query(query)
    name = " ".join(name.split())
    if not name or len(name) > worklist_views.NAME_MAX:
        return RedirectResponse(f"/worklist?{kept}&view_problem=name", status_code=303)
    try:
        worklist_views.save_view(context.store.engine, principal.username, name, kept)
    except InputError:
        return RedirectResponse(f"/worklist?{kept}&view_problem=count", status_code=303)
    return RedirectResponse(f"/worklist?{kept}&view_saved=1", status_code=303)


@router.post("/worklist/views/{view_id}/delete")
def delete_view(context: Context, principal: Reader, view_id: RowId) -> Response:
    worklist_views.delete_view(context.store.engine, principal.username, view_id)
    return RedirectResponse("/worklist?view_deleted=1", status_code=303)
