"""The worklist of the caller's hospitals: JSON, CSV (UTF-8 with BOM) and Excel exports.

Every list writes one audit row per patient it names (``worklist.read``, ``worklist.export``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from bonepath.api import deps, services
from bonepath.api.deps import Context
from bonepath.api.params import LIST_MAX, Key, RuleId
from bonepath.population.export import worklist_csv, worklist_xlsx
from bonepath.population.worklist import WORKLIST_KINDS, WorklistFilter, WorklistItem, worklist_json
from bonepath.store import accounts
from bonepath.store.accounts import Permission, Principal
from bonepath.vocab import Department, FindingKind

router = APIRouter(prefix="/api/worklist", tags=["worklist"])

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Exporter = Annotated[Principal, Depends(deps.require(Permission.EXPORT))]

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def worklist_filter(
    kind: Annotated[list[FindingKind] | None, Query()] = None,
    rule: Annotated[
        list[RuleId] | None, Query(max_length=LIST_MAX, description="rule id or family, e.g. ADH")
    ] = None,
    hospital: Annotated[list[Key] | None, Query(max_length=LIST_MAX)] = None,
    department: Annotated[list[Department] | None, Query()] = None,
    physician: Annotated[
        list[Key] | None,
        Query(max_length=LIST_MAX, description="the physician's id (physician.id)"),
    ] = None,
    due_within: Annotated[int | None, Query(ge=0, le=3650)] = None,
    include_undated: Annotated[
        bool, Query(description="with due_within: keep items without a due day")
    ] = False,
) -> WorklistFilter:
    """The filters of ``bonepath worklist`` as query parameters."""
    return WorklistFilter(
        kinds=frozenset(kind or WORKLIST_KINDS),
        rules=tuple(rule or ()),
        hospitals=tuple(hospital or ()),
        departments=tuple(d.value for d in department or ()),
        physicians=tuple(physician or ()),
        due_within_days=due_within,
        keep_undated=include_undated,
    )


Filter = Annotated[WorklistFilter, Depends(worklist_filter)]


def _items(
    context: deps.AppContext, principal: Principal, as_of: dt.date | None, chosen: WorklistFilter
) -> tuple[dt.date, str, list[WorklistItem]]:
    day = as_of or context.today()
    version, items = services.worklist(
        context.store, principal, day, chosen, cache=context.worklists
    )
    return day, version, items


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
    request: Request,
    context: Context,
    principal: Reader,
    chosen: Filter,
    as_of: Annotated[dt.date | None, Query(description="default: today")] = None,
) -> dict[str, Any]:
    """The items of interfaces.md, most urgent first."""
    day, version, items = _items(context, principal, as_of, chosen)
    _audit_export(request, context, principal, items, action="worklist.read")
    return worklist_json(day, version, items)


@router.get("/export.csv", response_class=Response)
def export_csv(
    request: Request,
    context: Context,
    principal: Exporter,
    chosen: Filter,
    as_of: Annotated[dt.date | None, Query()] = None,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    day, _version, items = _items(context, principal, as_of, chosen)
    _audit_export(request, context, principal, items)
    return Response(
        worklist_csv(items, lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="worklist-{day}.csv"'},
    )


@router.get("/export.xlsx", response_class=Response)
def export_xlsx(
    request: Request,
    context: Context,
    principal: Exporter,
    chosen: Filter,
    as_of: Annotated[dt.date | None, Query()] = None,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    day, version, items = _items(context, principal, as_of, chosen)
    _audit_export(request, context, principal, items)
    return Response(
        worklist_xlsx(items, day, version, lang),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="worklist-{day}.xlsx"'},
    )
