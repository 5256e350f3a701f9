"""Column-expression vocabulary the rules are written in (ibis, portable across backends).

Every rule and derived fact is an ibis expression, so one definition evaluates one patient at
the point of care and a whole registry in one pass (docs/ARCHITECTURE.md). These helpers hide
the few places where backends differ (date arithmetic returns a timestamp on PostgreSQL) and
name the conventions of rules.md §0 (VAL-06 date arithmetic, VAL-07 "latest", VAL-08 rounding).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

# ---- literals and nulls ----------------------------------------------------------------------


def null(type_: str) -> ir.Value:
    return ibis.null(type_)


def lit(value: Any, type_: str | None = None) -> ir.Value:
    return ibis.literal(value, type=type_) if type_ else ibis.literal(value)


def when(*cases: tuple[ir.BooleanValue, Any], else_: Any = None) -> ir.Value:
    """First matching case, else ``else_`` (SQL CASE WHEN)."""
    return ibis.cases(*cases, else_=else_)


def is_true(expr: ir.BooleanValue) -> ir.BooleanValue:
    """True only when ``expr`` is true (null counts as not true)."""
    return expr.fill_null(False)


# ---- numbers (VAL-08) ------------------------------------------------------------------------


def round_half_up(expr: ir.NumericValue, decimals: int = 1) -> ir.FloatingValue:
    """Round half-up to ``decimals`` places (rules.md: "rounded half-up to 1 decimal").

    The 1e-9 guards against binary representation (43.65 stored as 43.64999…).
    """
    scale = 10**decimals
    return ((expr * scale + 0.5 + 1e-9).floor() / scale).cast("float64")


# ---- dates (VAL-06) --------------------------------------------------------------------------


def days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days ``later - earlier`` (VAL-06: "day counts = D − date in whole days")."""
    return later.delta(earlier, unit="day")


def add_days(day: ir.DateValue, days: int | ir.IntegerValue) -> ir.DateValue:
    if isinstance(days, int):
        # a negative literal is written as a subtraction: SQLite cannot read "+-3 day"
        if days < 0:
            return (day - ibis.interval(days=-days)).cast("date")
        return (day + ibis.interval(days=days)).cast("date")
    return (day + days.as_interval("D")).cast("date")


def add_months(day: ir.DateValue, months: int) -> ir.DateValue:
    """Calendar months clamped to month end (VAL-06: 2026-01-31 + 1 month = 2026-02-28)."""
    if months < 0:
        return (day - ibis.interval(months=-months)).cast("date")
    return (day + ibis.interval(months=months)).cast("date")


def completed_years(birth: ir.DateValue, day: ir.DateValue) -> ir.IntegerValue:
    """Completed years of age on ``day`` (rules.md §0 age_years)."""
    before_birthday = (day.month() < birth.month()) | (
        (day.month() == birth.month()) & (day.day() < birth.day())
    )
    return (day.year() - birth.year() - ibis.ifelse(before_birthday, 1, 0)).cast("int64")


def within_days_before(event: ir.DateValue, day: ir.DateValue, days: int) -> ir.BooleanValue:
    """``event`` dated in the ``days`` days up to and including ``day``."""
    return (event <= day) & (days_between(day, event) <= days)


# ---- lists -----------------------------------------------------------------------------------


LIST_SEPARATOR = ","
"""Code lists travel through SQL as one delimited string (codes never contain commas): every
backend, SQLite included, handles strings the same way, while array support differs."""


def str_list(items: Sequence[tuple[ir.BooleanValue, str]]) -> ir.StringValue:
    """The codes whose condition holds, in the given order (rules.md "sublist of [...]").

    Encoded as ``"a,b,"``; :func:`split_list` decodes it.
    """
    parts = [ibis.ifelse(is_true(cond), lit(code + LIST_SEPARATOR), lit("")) for cond, code in items]
    out = parts[0]
    for part in parts[1:]:
        out = out.concat(part)
    return out


def join_codes(*codes: ir.StringValue) -> ir.StringValue:
    """A list of code expressions in the same encoding as :func:`str_list`."""
    out = codes[0].concat(LIST_SEPARATOR)
    for code in codes[1:]:
        out = out.concat(code, LIST_SEPARATOR)
    return out


def split_list(value: str | None) -> list[str]:
    """Decode a :func:`str_list` value."""
    return [code for code in (value or "").split(LIST_SEPARATOR) if code]


_NO_DATE = ibis.date(9999, 12, 31)


def earliest(*days: ir.DateValue) -> ir.DateValue:
    """The earliest non-null date (null when all are null); backends disagree on whether
    LEAST ignores nulls, so nulls are replaced first."""
    least = ibis.least(*[d.fill_null(_NO_DATE) for d in days])
    return ibis.ifelse(least == _NO_DATE, null("date"), least)


# ---- per-patient selection (VAL-07) ----------------------------------------------------------


_AGGREGATE_LATEST: ContextVar[tuple[str, str] | None] = ContextVar("aggregate_latest", default=None)
"""While set: the dialect's names of "the value at the greatest / least key" aggregates."""

ARG_REDUCTIONS: dict[str, tuple[str, str]] = {
    "duckdb": ("arg_max", "arg_min"),
    "pyspark": ("max_by", "min_by"),
}
"""Dialects whose "value at the greatest / least key" aggregate takes a struct, by name."""

_SEQ_BITS = 21
"""``seq`` (an item's position in its record list) is below 2**21 in every record the
format accepts in practice; the aggregate key packs the day above it."""
_NO_DAY = 10**9
"""Stands for a missing date in the packed key: beyond every real day, on the side that sorts
it as ``NULLS LAST`` does."""


@contextmanager
def aggregate_latest(dialect: str = "duckdb") -> Iterator[None]:
    """While active, :func:`latest_per_patient` by ``(date, seq)`` is built as one grouped
    ``arg_max`` over a packed key instead of a ``row_number()`` window.

    The same rows are chosen (the key orders as ``date, seq`` does, a missing date last; ``seq``
    is unique per patient and table, so no two rows tie), at about a third of the CPU in DuckDB.
    Only the dialects of :data:`ARG_REDUCTIONS` have such an aggregate over a struct (DuckDB's
    ``arg_max``, Spark's ``max_by``); every other dialect keeps the portable window.
    """
    token = _AGGREGATE_LATEST.set(ARG_REDUCTIONS[dialect])
    try:
        yield
    finally:
        _AGGREGATE_LATEST.reset(token)


def latest_per_patient(
    table: ir.Table, *, order: Sequence[str] = ("date", "seq"), first: bool = False
) -> ir.Table:
    """One row per ``pk``: the most recent by ``order`` (same day: last in list order).

    ``first=True`` gives the earliest instead.
    """
    if _AGGREGATE_LATEST.get() is not None and tuple(order) == ("date", "seq"):
        return _latest_by_aggregate(table, first=first)
    keys = [table[c].asc() if first else table[c].desc() for c in order]
    window = ibis.window(group_by="pk", order_by=keys)
    ranked = table.mutate(_rank=ibis.row_number().over(window))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _latest_by_aggregate(table: ir.Table, *, first: bool) -> ir.Table:
    """:func:`latest_per_patient` as ``arg_max`` (``arg_min``) of the row as a struct over the
    key ``day * 2**21 + seq``; a missing date sorts last either way, as the window's
    ``NULLS LAST`` does."""
    columns = [c for c in table.columns if c != "pk"]
    grouped = table.group_by("pk").aggregate(_row=latest_reduction(table, columns, first=first))
    return grouped.select("pk", **{c: grouped._row[c] for c in columns}).select(*table.columns)


def latest_is_aggregate() -> bool:
    """Whether :func:`aggregate_latest` is active (DuckDB's or Spark's plan is being built)."""
    return _AGGREGATE_LATEST.get() is not None


def latest_reduction(
    table: ir.Table,
    columns: Sequence[str],
    *,
    where: ir.BooleanValue | None = None,
    first: bool = False,
) -> ir.StructValue:
    """The ``columns`` of the latest (``first``: earliest) row by ``(date, seq)`` among the
    rows where ``where`` holds, as one aggregate of a query grouped by patient (a struct; null
    when no row qualifies). Several of them over one table share one grouped pass — what
    :func:`latest_per_patient` under :func:`aggregate_latest` costs once per selection.
    The dialect's aggregate of :func:`aggregate_latest` (DuckDB's by default)."""
    days = table.date.epoch_days()
    day_key = days.fill_null(_NO_DAY if first else -_NO_DAY)
    key = day_key.cast("int64") * (1 << _SEQ_BITS) + table.seq.cast("int64")
    row = ibis.struct({c: table[c] for c in columns})
    names = _AGGREGATE_LATEST.get() or ARG_REDUCTIONS["duckdb"]
    pick = _arg_reduction(names[1] if first else names[0], row.type())
    reduced: ir.StructValue = pick(row, key, where=where)
    return reduced


@cache
def _arg_reduction(name: str, row: dt.DataType) -> Any:
    """DuckDB's ``arg_max``/``arg_min`` (row struct, int64 key) as an ibis builtin aggregate."""

    def reduction(arg: Any, key: Any) -> Any:
        """DuckDB builtin."""

    reduction.__name__ = name
    reduction.__annotations__ = {"arg": row, "key": dt.int64, "return": row}
    return ibis.udf.agg.builtin(reduction, name=name)


def attach(base: ir.Table, other: ir.Table, **columns: str) -> ir.Table:
    """Left-join per-patient columns of ``other`` onto ``base`` by ``pk``, renamed.

    ``columns`` maps the new name to the column name in ``other``.
    """
    right = other.select(_pk=other.pk, **{new: other[old] for new, old in columns.items()})
    joined = base.left_join(right, base.pk == right._pk)
    return joined.drop("_pk")


def exists_per_patient(base: ir.Table, events: ir.Table, name: str) -> ir.Table:
    """Add a boolean column ``name``: does ``events`` hold a row for the patient."""
    keys = events.select(_pk=events.pk).distinct().mutate(_hit=lit(True))
    joined = base.left_join(keys, base.pk == keys._pk)
    return joined.mutate(**{name: joined._hit.fill_null(False)}).drop("_pk", "_hit")


def with_patient(events: ir.Table, facts: ir.Table, **columns: ir.Value) -> ir.Table:
    """Inner-join per-patient values (expressions over ``facts``) onto each event row by pk."""
    right = facts.select(_pk=facts.pk, **columns)
    return events.join(right, events.pk == right._pk).drop("_pk")


def _keyed(right: ir.Table, keys: Sequence[str]) -> ir.Table:
    return right.select(**{f"_k{i}": right[k] for i, k in enumerate(keys)}).distinct()


def matching(left: ir.Table, right: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Rows of ``left`` with a row of ``right`` on ``keys`` (a semi-join, portably)."""
    r = _keyed(right, keys)
    joined = left.join(r, [left[k] == r[f"_k{i}"] for i, k in enumerate(keys)])
    return joined.select(*left.columns)


def not_matching(left: ir.Table, right: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Rows of ``left`` with no row of ``right`` on ``keys`` (an anti-join, portably: SQLite
    has no ANTI join)."""
    r = _keyed(right, keys).mutate(_hit=lit(True))
    joined = left.left_join(r, [left[k] == r[f"_k{i}"] for i, k in enumerate(keys)])
    return joined.filter(joined._hit.isnull()).select(*left.columns)
