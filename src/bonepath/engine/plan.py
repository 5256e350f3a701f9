"""The compiled guideline: every rule of the catalogue as two queries over the record tables.

Phase 1 derives the facts table (one row per living patient and as-of day); phase 2 runs every
rule over the facts and the scoped tables and unions the firings into one long table whose
typed slot columns carry the ``values`` (see :func:`slot_columns`). The plan is built once per catalogue and compiled once per SQL
dialect, then executed many times (one patient) or once (a registry).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import ibis
import ibis.expr.types as ir

from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import VALUE_TYPES, Catalogue, Rule
from bonepath.rules.expr import ARG_REDUCTIONS, aggregate_latest, lit, null
from bonepath.rules.facts import derive_facts
from bonepath.rules.frame import Frame, living_context, scope, unbound_sources

FACTS_TABLE = "facts"

FINDING_COLUMNS = ("pk", "rule", "item", "due", "kind", "severity")


def rule_keys(r: Rule) -> tuple[str, ...]:
    """Every values key a rule can emit, in declaration order (values, then kind forms)."""
    keys = list(r.values)
    for _, more in r.kind_values:
        keys += [k for k in more if k not in keys]
    return tuple(keys)


def slot_columns(r: Rule) -> dict[str, str]:
    """Where each values key of ``r`` travels in the long table: ``v_<type>_<n>``.

    Keys share a few typed slot columns (the n-th string key of a rule in ``v_string_n``)
    instead of one column per key of the whole catalogue: every union branch then projects
    a couple of dozen columns, not a hundred, which keeps the findings query small.
    """
    counts: dict[str, int] = {}
    slots: dict[str, str] = {}
    for key in rule_keys(r):
        typ = VALUE_TYPES[key]
        n = counts.get(typ.name, 0)
        counts[typ.name] = n + 1
        slots[key] = f"v_{typ.name.lower()}_{n}"
    return slots


def slot_schema(catalogue: Catalogue) -> dict[str, str]:
    """Every slot column of the long table with its ibis type, in a stable order."""
    width: dict[str, int] = {}
    for r in catalogue:
        for column in slot_columns(r).values():
            typ, n = column[2:].rsplit("_", 1)
            width[typ] = max(width.get(typ, 0), int(n) + 1)
    types = {t.name.lower(): t.sql_type for t in VALUE_TYPES.values()}
    return {f"v_{typ}_{i}": types[typ] for typ in sorted(width) for i in range(width[typ])}


def _project(out: ir.Table, r: Rule, schema: dict[str, str]) -> ir.Table:
    """One rule's firings in the common long schema."""
    cols = set(out.columns)
    slots = slot_columns(r)
    missing = sorted(k for k in slots if k != "due" and f"v_{k}" not in cols)
    if missing:
        raise ValueError(f"{r.id}: logic does not produce values {missing}")
    due = out.due.cast("date") if "due" in cols else null("date")
    selected = {
        "pk": out.pk.cast("int64"),
        "rule": lit(r.id),
        "item": out.item.cast("string") if "item" in cols else null("string"),
        "due": due,
        "kind": out.kind.cast("string") if "kind" in cols else lit(r.kind.value),
        "severity": out.severity.cast("string") if "severity" in cols else lit(r.severity.value),
    }
    by_slot = {column: key for key, column in slots.items()}
    for column, typ in schema.items():
        key = by_slot.get(column)
        if key is None:
            selected[column] = null(typ)
        elif key == "due":
            selected[column] = due
        else:
            selected[column] = out[f"v_{key}"].cast(typ)
    return out.select(**selected)


@dataclass(frozen=True)
class Plan:
    """The query stages of a catalogue, over unbound tables named like the store's.

    ``stages`` are (table name, expression) pairs run in order, each result registered under
    its name for the next; the last one, :data:`FINDINGS`, is the long findings table. They
    are portable; DuckDB's SQL is compiled from the same rules built with
    :func:`~bonepath.rules.expr.aggregate_latest` (the same stages and columns, "latest per
    patient" as a grouped ``arg_max`` instead of a window).
    """

    catalogue: Catalogue
    stages: tuple[tuple[str, ir.Table], ...]
    _sql: dict[str, tuple[tuple[str, str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def sql(self, dialect: str) -> tuple[tuple[str, str], ...]:
        """(name, SQL) of every stage for ``dialect``, compiled once."""
        if dialect not in self._sql:
            # the facts stage nests one join per derived fact: deeper than Python's default
            # recursion limit in sqlglot's generator
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 20_000))
            try:
                stages = self.stages
                if dialect in AGGREGATE_LATEST_DIALECTS:
                    with aggregate_latest(dialect):
                        stages = build_plan(self.catalogue).stages
                with _sqlite_for_compiler(dialect), spark_options(dialect):
                    compiled = tuple(
                        (name, ibis.to_sql(expr, dialect=dialect, pretty=False))
                        for name, expr in stages
                    )
                self._sql[dialect] = compiled
            finally:
                sys.setrecursionlimit(limit)
        return self._sql[dialect]


FINDINGS = "findings"

AGGREGATE_LATEST_DIALECTS = frozenset(ARG_REDUCTIONS)
"""Dialects whose plan takes "latest per patient" as an aggregate over a packed key (DuckDB's
``arg_max``, Spark's ``max_by``; see :class:`Plan`) and several selections from one table as
one grouped pass (:class:`~bonepath.rules.facts.Pieces`)."""


@contextmanager
def spark_options(dialect: str) -> Iterator[None]:
    """ibis's Spark SQL compiler reads the PySpark backend's options, which exist only once
    that backend (and PySpark) is imported; compiling needs neither, so supply the defaults."""
    if dialect != "pyspark" or ibis.options.pyspark is not None:
        yield
        return

    class _SparkOptions(ibis.config.Config):  # type: ignore[misc]
        treat_nan_as_null: bool = False

    ibis.options.pyspark = _SparkOptions()
    try:
        yield
    finally:
        ibis.options.pyspark = None


@contextmanager
def _sqlite_for_compiler(dialect: str) -> Iterator[None]:
    """Compile SQLite SQL for the SQLite we execute on (sqlean, ≥ 3.46), not the system one.

    ibis chooses date-arithmetic modifiers by the version of the stdlib ``sqlite3`` module; the
    point-of-care executor runs on the bundled newer SQLite, whose ``floor`` modifier clamps
    calendar months to month end exactly as VAL-06 requires.
    """
    if dialect != "sqlite":
        yield
        return
    import sqlite3

    import sqlean

    saved = (sqlite3.sqlite_version_info, sqlite3.sqlite_version)
    # the compiler reads these two attributes of the stdlib module at compile time
    sqlite3.sqlite_version_info = sqlean.sqlite_version_info  # type: ignore[misc]
    sqlite3.sqlite_version = sqlean.sqlite_version
    try:
        yield
    finally:
        sqlite3.sqlite_version_info, sqlite3.sqlite_version = saved  # type: ignore[misc]


def build_plan(catalogue: Catalogue) -> Plan:
    sources = unbound_sources()
    stages: list[tuple[str, ir.Table]] = []

    def stage(expr: ir.Table, name: str | None = None) -> ir.Table:
        name = name or f"{FACTS_TABLE}_{len(stages)}"
        stages.append((name, expr))
        return ibis.table(expr.schema(), name=name)

    # the scoped tables are materialized once: every fact and rule reads them, and inlining
    # their joins at each use would multiply the SQL the database has to parse and bind
    # VAL-09: the deceased get no finding, so only the living are scoped and derived
    living = stage(living_context(sources), "living_context")
    scoped = {name: stage(expr, f"scoped_{name}") for name, expr in scope(sources, living).items()}
    facts_table = derive_facts(scoped, stage)
    frame = Frame(facts_table, scoped, materialize=stage)
    schema = slot_schema(catalogue)
    parts = [_project(r.logic(frame), r, schema) for r in catalogue]
    stages.append((FINDINGS, ibis.union(*parts)))
    return Plan(catalogue, tuple(stages))


@cache
def default_plan() -> Plan:
    """The plan of the packaged catalogue (built on first use, then reused)."""
    return build_plan(load_catalogue())


def _fingerprint(dialect: str) -> str:
    """A hash of everything the compiled SQL depends on: rule code, tables, library versions."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    files = sorted(
        [*root.joinpath("rules").rglob("*.py"), *root.joinpath("rules").rglob("*.json")]
    ) + [root / "engine" / "plan.py", root / "record" / "columns.py"]
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    for dist in ("ibis-framework", "sqlglot"):
        digest.update(f"{dist}={version(dist)}".encode())
    digest.update(dialect.encode())
    return digest.hexdigest()[:24]


@cache
def compiled_stages(dialect: str) -> tuple[tuple[str, str], ...]:
    """The SQL of every stage of the packaged plan, cached on disk between processes.

    Building and compiling the plan takes seconds; the cache file is keyed by a hash of the
    rule code and library versions, so a changed rule can never run stale SQL.
    """
    import json
    import os
    import tempfile
    from pathlib import Path

    from platformdirs import user_cache_dir

    directory = Path(os.environ.get("BONEPATH_CACHE_DIR") or user_cache_dir("bonepath", False))
    path = directory / f"plan-{dialect}-{_fingerprint(dialect)}.json"
    try:
        stages = json.loads(path.read_text(encoding="utf-8"))
        return tuple((name, sql) for name, sql in stages)
    except (OSError, ValueError):
        pass
    compiled = default_plan().sql(dialect)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="utf-8") as tmp:
            json.dump(compiled, tmp)
        os.replace(tmp.name, path)
    except OSError:
        pass  # a read-only cache directory only costs the compile time
    return compiled


def last_uses(stages: Sequence[tuple[str, str]]) -> dict[str, int]:
    """The index of the last stage that reads each stage's result (its own index when none
    does): after it, a runner may let the result go. A stage is taken to be read wherever its
    name appears as a word in a later stage's SQL — at worst a result is kept longer than
    needed, never released early. Cached per plan (≈ 0.1 s of regular expressions over the
    quality pass's SQL, which runs it for every part)."""
    return dict(_last_uses(tuple(stages)))


@cache
def _last_uses(stages: tuple[tuple[str, str], ...]) -> tuple[tuple[str, int], ...]:
    import re

    out: list[tuple[str, int]] = []
    for i, (name, _) in enumerate(stages):
        word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
        last = max([i, *(j for j in range(i + 1, len(stages)) if word.search(stages[j][1]))])
        out.append((name, last))
    return tuple(out)


def finished(held: Iterable[str], uses: Mapping[str, int], step: int) -> list[str]:
    """The results among ``held`` that no stage after ``step`` reads (by :func:`last_uses`; a
    name it does not know, such as an input table, is never finished)."""
    return [name for name in held if uses.get(name, step + 1) <= step]
