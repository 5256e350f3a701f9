"""Evaluate records by the guideline: one patient at the point of care, or many at once.

Both paths run the same compiled :class:`~bonepath.engine.plan.Plan`: one patient in an
in-memory SQLite (:mod:`bonepath.engine.sqlite_runner`, milliseconds), many at once in DuckDB
over Arrow tables (:mod:`bonepath.engine.duckdb_runner`, columnar). No rule is evaluated by a
Python walk over patients.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bonepath.engine.findings import Evaluation, Finding
from bonepath.engine.plan import slot_columns
from bonepath.engine.sqlite_runner import SQLiteRunner
from bonepath.record.columns import to_columns
from bonepath.record.model import Record
from bonepath.rules.catalogue import VALUE_TYPES, Catalogue, Rule, ValueType
from bonepath.rules.expr import split_list
from bonepath.vocab import FindingKind, Severity

if TYPE_CHECKING:
    from bonepath.engine.duckdb_runner import DuckDBRunner

# DuckDB and Arrow are imported only when a batch is evaluated: the point-of-care path and the
# command line do not pay for them.
_LAZY = {"DuckDBRunner", "arrow_schema", "context_table", "to_arrow"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from bonepath.engine import duckdb_runner

        return getattr(duckdb_runner, name)
    raise AttributeError(name)


_default_runner: DuckDBRunner | None = None
_runner_lock = threading.Lock()


def default_runner() -> DuckDBRunner:
    from bonepath.engine.duckdb_runner import DuckDBRunner

    global _default_runner
    with _runner_lock:
        if _default_runner is None:
            _default_runner = DuckDBRunner()
        return _default_runner


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):  # SQLite keeps dates as ISO text
        return dt.date.fromisoformat(value[:10])
    return value  # type: ignore[no-any-return]


def _convert(value: Any, typ: ValueType) -> Any:
    if value is None:
        return None
    if typ is ValueType.DATE:
        return _as_date(value)
    if typ is ValueType.FLOAT:
        return round(float(value), 6)
    if typ is ValueType.INT:
        return int(value)
    if typ is ValueType.BOOL:
        return bool(value)
    if typ is ValueType.STRINGS:
        return split_list(value)
    return value


def findings_from_rows(
    rows: Iterable[Mapping[str, Any]], catalogue: Catalogue
) -> dict[int, list[Finding]]:
    """Long-table rows -> findings per patient key, each list in catalogue order.

    What a finding takes from its rule (title, sources, order, which slot column carries which
    values key) is looked up once per rule and kind, not per row: a registry hands over
    hundreds of thousands of rows.
    """
    out: dict[int, list[Finding]] = {}
    templates: dict[tuple[str, str], _Template] = {}
    for row in rows:
        key = (row["rule"], row["kind"])
        template = templates.get(key)
        if template is None:
            template = templates[key] = _template(catalogue, *key)
        r, kind, slots, sources, order = template
        finding = Finding(
            rule=r.id,
            kind=kind,
            severity=Severity(row["severity"]),
            title_zh=r.title.zh,
            title_en=r.title.en,
            due=_as_date(row["due"]),
            values={name: _convert(row[slot], typ) for name, slot, typ in slots},
            sources=sources,
            item=row["item"],
            order=order,
        )
        out.setdefault(int(row["pk"]), []).append(finding)
    for findings in out.values():
        findings.sort(key=Finding.sort_key)
    return out


_Template = tuple[Rule, FindingKind, tuple[tuple[str, str, ValueType], ...], tuple[str, ...], int]


def _template(catalogue: Catalogue, rule_id: str, kind_name: str) -> _Template:
    r = catalogue[rule_id]
    kind = FindingKind(kind_name)
    columns = slot_columns(r)
    slots = tuple((key, columns[key], VALUE_TYPES[key]) for key in r.values_for(kind))
    return r, kind, slots, tuple(r.rendered_sources), catalogue.order(r.id)


_sqlite_runner: SQLiteRunner | None = None


def point_of_care_runner() -> SQLiteRunner:
    global _sqlite_runner
    with _runner_lock:
        if _sqlite_runner is None:
            _sqlite_runner = SQLiteRunner()
        return _sqlite_runner


def is_deceased(record: Record, as_of: dt.date) -> bool:
    """VAL-09: a ``death_date`` on or before the day (the facts leave such a patient out)."""
    return record.death_date is not None and record.death_date <= as_of


def evaluate(record: Record, as_of: dt.date) -> Evaluation:
    """Evaluate one record as it stood on ``as_of`` (rules.md VAL-01), at point-of-care speed.

    Runs the compiled plan in SQLite (:mod:`bonepath.engine.sqlite_runner`); the findings are
    those :func:`evaluate_many` gives for the same pair (tested).
    """
    runner = point_of_care_runner()
    rows = runner.run(to_columns([(1, record)]), [(1, as_of)])
    by_patient = findings_from_rows(rows, runner.catalogue)
    return Evaluation(
        patient=record.id,
        source=record.source,
        as_of=as_of,
        rules_version=runner.catalogue.version,
        findings=tuple(by_patient.get(1, [])),
        deceased=is_deceased(record, as_of),
    )


def evaluate_many(
    items: Sequence[tuple[Record, dt.date]], *, runner: DuckDBRunner | None = None
) -> list[Evaluation]:
    """Evaluate many (record, as_of) pairs in one columnar pass; same results as one by one.

    The same record may appear with several days (replay); each pair is evaluated on its own.
    """
    from bonepath.engine.duckdb_runner import context_table, to_arrow

    runner = runner or default_runner()
    keyed = [(pk, record) for pk, (record, _) in enumerate(items, start=1)]
    tables = to_arrow(to_columns(keyed))
    context = context_table([(pk, day) for pk, (_, day) in enumerate(items, start=1)])
    by_patient = findings_from_rows(runner.run(tables, context).to_pylist(), runner.catalogue)
    return [
        Evaluation(
            patient=record.id,
            source=record.source,
            as_of=day,
            rules_version=runner.catalogue.version,
            findings=tuple(by_patient.get(pk, [])),
            deceased=is_deceased(record, day),
        )
        for pk, (record, day) in enumerate(items, start=1)
    ]
