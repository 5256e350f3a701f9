""" "Latest per patient" two ways: DuckDB's plan takes it as a grouped ``arg_max`` over a packed
key, every other dialect as a ``row_number()`` window. Both must choose the same row: the
latest (or, with ``first``, the earliest) by date, then by position in the record, a row
without a date last either way."""

from __future__ import annotations

import datetime as dt
from functools import cache

import duckdb
import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonepath.rules.expr import aggregate_latest, latest_per_patient

TABLE = ibis.table({"pk": "int64", "seq": "int64", "date": "date", "value": "float64"}, name="t")

ROWS = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))),
        st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
    ),
    max_size=30,
)


@cache
def _sql(*, first: bool, aggregate: bool) -> str:
    if aggregate:
        with aggregate_latest():
            return ibis.to_sql(latest_per_patient(TABLE, first=first), dialect="duckdb")
    return ibis.to_sql(latest_per_patient(TABLE, first=first), dialect="duckdb")


def _chosen(
    rows: list[tuple[int, dt.date | None, float | None]], *, first: bool, aggregate: bool
) -> set[tuple[object, ...]]:
    table = pa.table(
        {
            "pk": [pk for pk, _, _ in rows],
            # a position in the record list: unique per patient, as seq is
            "seq": list(range(len(rows))),
            "date": [day for _, day, _ in rows],
            "value": [value for _, _, value in rows],
        },
        schema=pa.schema(
            [
                ("pk", pa.int64()),
                ("seq", pa.int64()),
                ("date", pa.date32()),
                ("value", pa.float64()),
            ]
        ),
    )
    con = duckdb.connect(":memory:")
    con.register("t", table)
    result = con.sql(_sql(first=first, aggregate=aggregate)).to_arrow_table()
    assert result.column_names == list(TABLE.columns)
    return set(zip(*(result[c].to_pylist() for c in result.column_names), strict=True))


@settings(max_examples=100, deadline=None)
@given(ROWS, st.booleans())
def test_the_aggregate_chooses_the_rows_the_window_chooses(
    rows: list[tuple[int, dt.date | None, float | None]], first: bool
) -> None:
    assert _chosen(rows, first=first, aggregate=True) == _chosen(rows, first=first, aggregate=False)


def test_same_day_the_later_item_wins_and_a_row_without_a_date_comes_last() -> None:
    day = dt.date(2026, 5, 1)
    rows = [(1, day, 1.0), (1, day, 2.0), (1, None, 3.0), (2, None, 4.0), (2, None, 5.0)]
    latest = {(pk, value) for pk, _, _, value in _chosen(rows, first=False, aggregate=True)}
    earliest = {(pk, value) for pk, _, _, value in _chosen(rows, first=True, aggregate=True)}
    # patient 1: the second item of the day; patient 2 has no dated row: its last item
    assert latest == {(1, 2.0), (2, 5.0)}
    assert earliest == {(1, 1.0), (2, 4.0)}


FLAGGED = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2020, 3, 31))),
        st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
        st.one_of(st.none(), st.sampled_from(["a", "b"])),
    ),
    max_size=30,
)
FLAGGED_TABLE = ibis.table(
    {"pk": "int64", "seq": "int64", "date": "date", "value": "float64", "kind": "string"},
    name="t",
)


@cache
def _pieces_sql(*, aggregate: bool) -> str:
    """Four selections from one table through :class:`Pieces`: one grouped pass in DuckDB's
    plan, four pieces (windows and a distinct) in every other dialect's."""
    from bonepath.rules.facts import Pieces

    def build() -> str:
        t = FLAGGED_TABLE
        pieces = Pieces()
        pieces.add_latest(t, t.kind == "a", a_value="value", a_date="date")
        pieces.add_latest(t, t.value.notnull(), first=True, first_value="value")
        pieces.add_latest(t, last_date="date", last_kind="kind")
        pieces.add_any(t, (t.kind == "b") & (t.value > 0), "fracture_or_mscc")
        base = t.select("pk").distinct()
        return ibis.to_sql(pieces.attach_all(base).order_by("pk"), dialect="duckdb")

    if aggregate:
        with aggregate_latest():
            return build()
    return build()


@settings(max_examples=100, deadline=None)
@given(FLAGGED)
def test_selections_sharing_one_grouped_pass_choose_what_separate_pieces_choose(
    rows: list[tuple[int, dt.date | None, float | None, str | None]],
) -> None:
    table = pa.table(
        {
            "pk": [r[0] for r in rows],
            "seq": list(range(len(rows))),
            "date": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "kind": [r[3] for r in rows],
        },
        schema=pa.schema(
            [
                ("pk", pa.int64()),
                ("seq", pa.int64()),
                ("date", pa.date32()),
                ("value", pa.float64()),
                ("kind", pa.string()),
            ]
        ),
    )
    con = duckdb.connect(":memory:")
    con.register("t", table)
    fused = con.sql(_pieces_sql(aggregate=True)).to_arrow_table().to_pylist()
    separate = con.sql(_pieces_sql(aggregate=False)).to_arrow_table().to_pylist()
    # "none" and "false" alike read as false (facts.py: _FALSE_IF_NULL)
    for row in (*fused, *separate):
        row["fracture_or_mscc"] = bool(row["fracture_or_mscc"])
    assert fused == separate
    assert "GROUP BY" in _pieces_sql(aggregate=True)
    assert _pieces_sql(aggregate=True).count("JOIN") == 1


def test_a_flag_that_would_read_null_as_unknown_is_refused() -> None:
    from bonepath.rules.facts import Pieces

    t = FLAGGED_TABLE
    with pytest.raises(ValueError, match="read as false"):
        Pieces().add_any(t, t.kind == "b", "b_seen")
