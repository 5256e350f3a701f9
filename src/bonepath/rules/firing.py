"""The shape every rule's logic returns, built by one helper."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from bonepath.rules.expr import is_true


def fire(
    table: ir.Table,
    when: ir.BooleanValue,
    *,
    due: ir.DateValue | None = None,
    item: ir.StringValue | None = None,
    kind: ir.StringValue | None = None,
    severity: ir.StringValue | None = None,
    **values: Any,
) -> ir.Table:
    """Rows of ``table`` where ``when`` is true, as (pk, [item, due, kind, severity], values…).

    Value columns are prefixed ``v_`` so that a values key may share a name with a finding
    field; the values key ``due`` is filled by the engine from the finding's ``due``.
    """
    hits = table.filter(is_true(when))
    extra: dict[str, Any] = {}
    for name, expr in (("item", item), ("due", due), ("kind", kind), ("severity", severity)):
        if expr is not None:
            extra[name] = expr
    return hits.select(pk=hits.pk, **extra, **{f"v_{k}": v for k, v in values.items()})
