"""The worklist of the caller's hospitals: JSON, CSV (UTF-8 with BOM) and Excel exports.

Filters are read as the web page reads them (:mod:`bonepath.api.worklist_query`). Every list
writes one audit row per request naming the patients it returned (``worklist.read``,
``worklist.export``; :func:`bonepath.store.accounts.audit_many`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import StringConstraints

from bonepath.api import deps, services, worklist_query
from bonepath.api.deps import Context
from bonepath.api.params import LIST_MAX, Key, RuleId
from bonepath.api.worklist_query import FilterProblem
from bonepath.population import readable
from bonepath.population.export import worklist_csv, worklist_xlsx
from bonepath.population.worklist import WORKLIST_KINDS, WorklistFilter, WorklistItem, worklist_json
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal

router = APIRouter(prefix="/api/worklist", tags=["worklist"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Exporter = Annotated[Principal, Depends(deps.require(Permission.EXPORT))]

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


Text = Annotated[str, StringConstraints(max_length=32)]


@dataclass(frozen=True, slots=True)
class Asked:
    """The worklist a request asks for, read by :func:`worklist_query.parse_filters` as the
    web page reads it: ``as_of``, the filter, the problems of values not used, and whether
    every hospital asked for is unknown (then the list is empty, never everyone's)."""

    as_of: dt.date
    chosen: WorklistFilter
    problems: tuple[FilterProblem, ...]
    nothing: bool
    lang: str
    with_identity: bool


def asked(
    request: Request,
    context: Context,
    principal: Reader,
    as_of: Annotated[str | None, Query(max_length=32, description="default: today")] = None,
    kind: Annotated[list[Text] | None, Query(max_length=8)] = None,
    rule: Annotated[
        list[RuleId] | None, Query(max_length=LIST_MAX, description="rule id or family, e.g. ADH")
    ] = None,
    hospital: Annotated[list[Key] | None, Query(max_length=LIST_MAX)] = None,
    department: Annotated[
        list[Key] | None, Query(max_length=LIST_MAX, description="code, or its zh/en name")
    ] = None,
    physician: Annotated[
        list[Key] | None,
        Query(max_length=LIST_MAX, description="the physician's id (physician.id)"),
    ] = None,
    due_within: Annotated[str | None, Query(max_length=16, description="0..3650 days")] = None,
    include_undated: Annotated[
        str | None, Query(max_length=8, description="with due_within: keep undated items")
    ] = None,
    lang: Annotated[str | None, Query(max_length=8, description="zh (default) or en")] = None,
    identity: Annotated[
        str | None, Query(max_length=8, description="exports: names and phones unmasked")
    ] = None,
) -> Asked:
    """The filters of ``bonepath worklist`` as query parameters, read as typed (issue 15):
    empty is no filter, codes are case-insensitive; a value that cannot be used is left out
    and named in ``filter_problems`` (never a bare 422)."""
    from bonepath.rules import load_catalogue

    language = "en" if (lang or "").strip().lower() == "en" else "zh"
    if lang is None:
        language = "en" if request.cookies.get(deps.LANG_COOKIE) == "en" else "zh"
    parsed = worklist_query.parse_filters(
        today=context.today(),
        default_kinds=WORKLIST_KINDS,
        known_hospitals=worklist_query.known_hospitals(context.store, principal),
        known_rules=(r.id for r in load_catalogue()),
        as_of=as_of,
        kind=kind,
        rule=rule,
        hospital=hospital,
        physician=physician,
        due_within=due_within,
        undated=include_undated,
        department=department,
        department_labels=readable.DEPARTMENTS,
    )
    chosen = WorklistFilter(
        kinds=parsed.kinds,
        rules=parsed.rules,
        hospitals=parsed.hospitals,
        departments=parsed.departments,
        physicians=parsed.physicians,
        due_within_days=parsed.due_within,
        keep_undated=parsed.keep_undated,
    )
    return Asked(
        parsed.as_of,
        chosen,
        tuple(parsed.problems),
        parsed.unknown_hospital,
        language,
        (identity or "").strip().lower() in {"1", "true", "yes", "on"},
    )


Asking = Annotated[Asked, Depends(asked)]


def _items(
    context: deps.AppContext, principal: Principal, ask: Asked
) -> tuple[dt.date, str, list[WorklistItem]]:
    if ask.nothing:
        from bonepath.rules import load_catalogue

        return ask.as_of, str(load_catalogue().version), []
    version, items = services.worklist(
        context.store, principal, ask.as_of, ask.chosen, cache=context.worklists
    )
    return ask.as_of, version, items


def _people(
    context: deps.AppContext, principal: Principal, ask: Asked, items: list[WorklistItem]
) -> dict[str, Any]:
    """What the exports say of the patients: contacts (masked unless asked) and hospital names."""
    return {
        "contacts": worklist_query.contacts(context.store, principal, items, ask.as_of),
        "with_identity": ask.with_identity,
        "hospital_names": worklist_query.hospital_directory(context.store)[1],
    }


def _audit_export(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    items: list[WorklistItem],
    *,
    action: str = "worklist.export",
) -> None:
    """One audit row per patient the list names (one row without a patient when empty)."""
    patients = list(dict.fromkeys((i.source, i.patient, i.hospital) for i in items))
    if not patients:
        deps.audit(request, principal, action)
        return
    accounts.audit_many(
        context.store.engine, principal, action, patients, client=deps.client_address(request)
    )


@router.get("")
def get_worklist(
    request: Request, context: Context, principal: Reader, ask: Asking
) -> dict[str, Any]:
    """The items of interfaces.md, most urgent first; ``filter_problems`` (only when a filter
    value was not used): each with ``path`` (``/query/due_within``), ``value``, ``code`` and
    ``problem`` in ``lang`` (default: the page language cookie, else Chinese)."""
    day, version, items = _items(context, principal, ask)
    _audit_export(request, context, principal, items, action="worklist.read")
    body = worklist_json(day, version, items)
    if ask.problems:
        body["filter_problems"] = [p.to_dict(ask.lang) for p in ask.problems]
    return body


@router.get("/export.csv", response_class=Response)
def export_csv(request: Request, context: Context, principal: Exporter, ask: Asking) -> Response:
    """The CSV in ``lang``: names and phones masked unless ``identity=true``."""
    day, _version, items = _items(context, principal, ask)
    _audit_export(request, context, principal, items)
    return Response(
        worklist_csv(items, ask.lang, **_people(context, principal, ask, items)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="worklist-{day}.csv"'},
    )


@router.get("/export.xlsx", response_class=Response)
def export_xlsx(request: Request, context: Context, principal: Exporter, ask: Asking) -> Response:
    """The Excel workbook in ``lang``: names and phones masked unless ``identity=true``."""
    day, version, items = _items(context, principal, ask)
    _audit_export(request, context, principal, items)
    return Response(
        worklist_xlsx(items, day, version, ask.lang, **_people(context, principal, ask, items)),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="worklist-{day}.xlsx"'},
    )
