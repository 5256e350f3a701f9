"""The evaluation frame: the record tables as they stood on each patient's as-of day.

Evaluation is point-in-time (rules.md VAL-01): every patient comes with an ``as_of`` day in a
``context`` table (``pk``, ``as_of``), and every event table is seen only up to that day. The
same frame serves one patient (one context row) and a registry (one row per patient, or several
days per patient for replay), so rules never know which they are evaluating.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps

import ibis
import ibis.expr.types as ir

from bonepath.record.columns import TABLES, ColumnType

_IBIS_TYPES: dict[ColumnType, str] = {
    "int64": "int64",
    "float64": "float64",
    "string": "string",
    "date": "date",
    "boolean": "boolean",
}

CONTEXT_SCHEMA = ibis.schema({"pk": "int64", "as_of": "date"})

# Event tables with their own date; child tables take the date of their parent event.
DATED_TABLES: tuple[str, ...] = tuple(
    name for name, spec in TABLES.items() if "date" in spec.column_names
)
CHILD_TABLES: dict[str, str] = {"imaging_sites": "imaging", "symptom_sites": "symptoms"}


def table_schema(name: str) -> ibis.Schema:
    """The ibis schema of record table ``name`` (from :data:`bonepath.record.columns.TABLES`)."""
    return ibis.schema({col: _IBIS_TYPES[typ] for col, typ in TABLES[name].columns})


def unbound_sources() -> dict[str, ir.Table]:
    """Unbound ibis tables named like the record tables, plus ``context``."""
    tables = {name: ibis.table(table_schema(name), name=name) for name in TABLES}
    tables["context"] = ibis.table(CONTEXT_SCHEMA, name="context")
    return tables


def living_context(sources: Mapping[str, ir.Table]) -> ir.Table:
    """The context rows (``pk``, ``as_of``) of patients alive on their as-of day.

    VAL-09: a patient with a ``death_date`` on or before D gets no finding, so no table of
    theirs needs scoping or deriving; dropping them here keeps every later stage to the
    living (in a registry most rows can belong to the deceased). A context row with no
    patient row stays (it has nothing to evaluate either way).
    """
    context, people = sources["context"], sources["patients"]
    deaths = people.filter(people.death_date.notnull())
    deaths = deaths.select(_pk=deaths.pk, _death=deaths.death_date)
    joined = context.left_join(deaths, context.pk == deaths._pk)
    alive = joined.filter(joined._death.isnull() | (joined._death > joined.as_of))
    return alive.select("pk", "as_of")


def scope(sources: Mapping[str, ir.Table], context: ir.Table) -> dict[str, ir.Table]:
    """Every table restricted to the patients in ``context`` and to events dated <= as_of.

    Each scoped table carries ``as_of``. Child tables get their parent event's columns (date,
    modality, result, …) so a site row can be judged on its own.
    """
    ctx = context.select(_pk=context.pk, as_of=context.as_of)
    scoped: dict[str, ir.Table] = {}
    for name in TABLES:
        if name in CHILD_TABLES:
            continue
        table = sources[name]
        joined = table.join(ctx, table.pk == ctx._pk).drop("_pk")
        if name in DATED_TABLES:
            joined = joined.filter(joined.date <= joined.as_of)
        scoped[name] = joined
    for child, parent in CHILD_TABLES.items():
        rows = sources[child]
        par = scoped[parent]
        par_cols = {f"p_{c}": par[c] for c in par.columns if c not in ("pk", "seq")}
        par_sel = par.select(_pk=par.pk, _seq=par.seq, **par_cols)
        joined = rows.join(par_sel, (rows.pk == par_sel._pk) & (rows.seq == par_sel._seq))
        joined = joined.drop("_pk", "_seq")
        renamed = {c[2:]: joined[c] for c in joined.columns if c.startswith("p_")}
        # a child row's own value (an imaging site's result derived from the report,
        # clarifications C-28) wins over its parent's; null takes the parent's
        own = [c for c in rows.columns if c not in ("pk", "seq", "site")]
        for c in own:
            renamed[c] = ibis.coalesce(joined[c], renamed[c]) if c in renamed else joined[c]
        scoped[child] = joined.select("pk", "seq", "site", **renamed)
    return scoped


Materialize = Callable[[ir.Table, str], ir.Table]


@dataclass(frozen=True)
class Frame:
    """What a rule sees: ``facts`` (one row per living patient) and the scoped tables.

    ``materialize`` (set by the engine) turns a shared intermediate table into a stage that is
    computed once per evaluation; see :func:`shared`.
    """

    facts: ir.Table
    tables: Mapping[str, ir.Table]
    materialize: Materialize | None = None
    shared_tables: dict[str, ir.Table] = field(default_factory=dict, compare=False)

    def __getitem__(self, name: str) -> ir.Table:
        return self.tables[name]

    def on_facts(self, name: str, *columns: str) -> ir.Table:
        """Table ``name`` restricted to patients in ``facts``, with the named fact columns."""
        table = self.tables[name]
        f = self.facts.select(_pk=self.facts.pk, **{c: self.facts[c] for c in columns})
        keep = [c for c in table.columns if c not in columns]
        joined = table.select(*keep).join(f, table.pk == f._pk)
        return joined.drop("_pk")


def shared(fn: Callable[[Frame], ir.Table]) -> Callable[[Frame], ir.Table]:
    """Mark an intermediate table that several rules read (per-lesion scores, per-site imaging,
    MDT triggers): the engine computes it once, as its own stage, instead of once per rule."""
    name = f"shared_{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__.strip('_')}"

    @wraps(fn)
    def cached(frame: Frame) -> ir.Table:
        if name not in frame.shared_tables:
            expr = fn(frame)
            frame.shared_tables[name] = frame.materialize(expr, name) if frame.materialize else expr
        return frame.shared_tables[name]

    return cached
