"""`bonepath worklist`: what is due, overdue or unsafe across the stored registry (interfaces.md).

The whole registry (or the patients of ``--hospital`` / ``--department``) is evaluated as of
one day by :func:`bonepath.population.registry.evaluate_registry`; the filters then select
findings, never change one. Output: the JSON of interfaces.md, a table, or CSV / Excel for nurses
(:mod:`bonepath.population.export`: CSV in UTF-8 with a byte-order mark so that Excel reads the
Chinese; headers ``中文 / english``; ``xlsx`` needs ``--out``).
Exit codes: 0 done; 2 a refused option (``{"errors": [...]}`` on stdout, as ``evaluate``);
1 the store could not be read.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath.cli.backends import backend_for
from bonepath.cli.evaluate_cmd import _LABELS, _SEVERITY_STYLE, Language, _format_value
from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.errors import BonepathError, Problem
from bonepath.population.export import COLUMNS, worklist_csv_text, worklist_xlsx
from bonepath.population.worklist import WORKLIST_KINDS
from bonepath.vocab import Department, FindingKind

if TYPE_CHECKING:  # the engine is imported only when the command runs
    from bonepath.population.registry import RegistryEvaluation
    from bonepath.population.worklist import WorklistItem


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"


class BackendChoice(StrEnum):
    AUTO = "auto"
    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


CSV_COLUMNS: Final = COLUMNS
"""CSV columns, headed ``中文 / english`` like the import templates."""

_TABLE_TEXT: Final = {
    "zh": {
        "title": "工作清单 · 评估日期 {as_of} · 规则版本 {version} · {count} 项",
        "none": "无待办事项",
        "patient": "患者",
        "hospital": "医院/科室",
    },
    "en": {
        "title": "Worklist · as of {as_of} · rules {version} · {count} items",
        "none": "Nothing on the worklist",
        "patient": "Patient",
        "hospital": "Hospital/department",
    },
}


def _refuse(problem: Problem) -> NoReturn:
    sys.stdout.write(orjson.dumps({"errors": [problem.to_dict()]}).decode() + "\n")
    raise typer.Exit(REFUSED)


def _values_text(item: WorklistItem, separator: str) -> str:
    values = item.to_json()["values"]
    return separator.join(f"{key}={_format_value(value)}" for key, value in values.items())


def csv_text(items: list[WorklistItem], lang: str) -> str:
    """The CSV document (without the byte-order mark) of ``items``."""
    return worklist_csv_text(items, lang)


def render_table(
    items: list[WorklistItem], as_of: dt.date, version: str, lang: str, console: Console
) -> None:
    labels: Any = _LABELS[lang]
    text = _TABLE_TEXT[lang]
    if not items:
        console.print(text["none"])
        return
    table = Table(
        title=text["title"].format(as_of=as_of.isoformat(), version=version, count=len(items)),
        show_lines=True,
        expand=True,
    )
    for header in (
        labels["severity"],
        labels["due"],
        text["patient"],
        text["hospital"],
        labels["rule"],
        labels["kind"],
        labels["what"],
        labels["values"],
    ):
        table.add_column(str(header), overflow="fold")
    for item in items:
        table.add_row(
            f"[{_SEVERITY_STYLE[item.severity]}]{labels['severities'][item.severity.value]}[/]",
            item.due.isoformat() if item.due else "—",
            escape(f"{item.patient}\n{item.source}"),
            escape(f"{item.hospital or '—'}\n{item.department or '—'}"),
            item.rule,
            labels["kinds"][item.kind.value],
            escape(item.finding.title(lang)),
            escape(_values_text(item, "\n") or "—"),
        )
    console.print(table)


def _check_rules(rules: list[str]) -> None:
    from bonepath.rules import load_catalogue

    catalogue = load_catalogue()
    ids = [r.id for r in catalogue]
    families = sorted({rule_id.split("-", 1)[0] for rule_id in ids})
    for rule in rules:
        if rule not in ids and rule not in families:
            _refuse(
                Problem(
                    "--rule",
                    "UNKNOWN_RULE",
                    f"no rule or rule family {rule!r} in the catalogue",
                    (*families, *ids),
                )
            )


def _from_store(
    url: str,
    day: dt.date,
    backend: BackendChoice,
    hospitals: tuple[str, ...],
    departments: tuple[str, ...],
    physicians: tuple[str, ...],
) -> RegistryEvaluation:
    """The registry of the store at ``url`` evaluated on ``backend`` (auto: by its dialect)."""
    from bonepath.population.registry import evaluate_registry
    from bonepath.store.repository import open_store

    with open_store(url) as store:
        chosen = backend_for(backend.value, store.engine.dialect.name)
        if isinstance(chosen, Problem):
            _refuse(chosen)
        return evaluate_registry(
            store,
            day,
            backend="postgres"
            if chosen == "postgres"
            else "spark"
            if chosen == "spark"
            else "duckdb",
            hospitals=hospitals,
            departments=departments,
            physicians=physicians,
        )


def register(app: typer.Typer) -> None:
    @app.command("worklist")
    def worklist_command(
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Evaluate as of this day (YYYY-MM-DD); default today."),
        ] = None,
        kind: Annotated[
            list[FindingKind] | None,
            typer.Option(
                "--kind",
                help="Only findings of this kind (repeatable); default every kind but info.",
            ),
        ] = None,
        rule: Annotated[
            list[str] | None,
            typer.Option(
                "--rule", help="Only this rule id or family, e.g. ADH-03 or ADH (repeatable)."
            ),
        ] = None,
        hospital: Annotated[
            list[str] | None,
            typer.Option("--hospital", help="Only patients of this hospital id (repeatable)."),
        ] = None,
        department: Annotated[
            list[Department] | None,
            typer.Option("--department", help="Only patients of this department (repeatable)."),
        ] = None,
        physician: Annotated[
            list[str] | None,
            typer.Option("--physician", help="Only patients of this physician id (repeatable)."),
        ] = None,
        due_within: Annotated[
            int | None,
            typer.Option(
                "--due-within",
                min=0,
                help="Only items due within DAYS of the as-of day, overdue ones included "
                "(items without a due day are left out).",
                show_default=False,
            ),
        ] = None,
        output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.JSON,
        lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
        backend: Annotated[
            BackendChoice,
            typer.Option(
                "--backend",
                help="duckdb: read the tables and evaluate in process; postgres: evaluate "
                "inside the PostgreSQL store; spark: read the tables and evaluate with Spark SQL "
                "(local session; needs bonepath[spark]); auto: postgres for a PostgreSQL store, "
                "else duckdb.",
            ),
        ] = BackendChoice.AUTO,
        out: Annotated[
            Path | None,
            typer.Option("--out", "-o", help="Write to this file instead of standard output."),
        ] = None,
        snapshot: Annotated[
            Path | None,
            typer.Option(
                "--snapshot",
                help="Evaluate this registry snapshot (written by bonepath snapshot) instead of "
                "reading the store; backend duckdb (auto) or spark.",
            ),
        ] = None,
    ) -> None:
        """The registry-wide list of what is due, overdue or unsafe, most urgent first."""
        try:
            day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        except ValueError:
            _refuse(Problem("--as-of", "INVALID_DATE", f"not a date: {as_of!r}", ("YYYY-MM-DD",)))
        if rule:
            _check_rules(rule)
        if output is OutputFormat.XLSX and out is None:
            _refuse(
                Problem(
                    "--out",
                    "OUT_REQUIRED",
                    "an Excel workbook is binary: name a file with --out",
                    ("--out worklist.xlsx",),
                )
            )

        if snapshot is not None and backend is BackendChoice.POSTGRES:
            _refuse(
                Problem(
                    "--backend",
                    "BACKEND_UNAVAILABLE",
                    "a snapshot is evaluated by duckdb or spark, not inside PostgreSQL",
                    ("duckdb", "spark", "auto"),
                )
            )

        from bonepath.population.registry import evaluate_snapshot
        from bonepath.population.worklist import WorklistFilter, worklist_json
        from bonepath.settings import Settings

        errors = Console(stderr=True, soft_wrap=True, highlight=False)
        hospitals = tuple(hospital or ())
        departments = tuple(d.value for d in department or ())
        physicians = tuple(physician or ())
        try:
            if snapshot is not None:
                registry = evaluate_snapshot(
                    snapshot,
                    day,
                    backend="spark" if backend is BackendChoice.SPARK else "duckdb",
                    hospitals=hospitals,
                    departments=departments,
                )
            else:
                registry = _from_store(
                    Settings().database_url, day, backend, hospitals, departments, physicians
                )
        except BonepathError as exc:
            errors.print(f"bonepath worklist: {exc}", markup=False)
            raise typer.Exit(FAILURE) from None
        items = registry.items(
            WorklistFilter(
                kinds=frozenset(kind or WORKLIST_KINDS),
                rules=tuple(rule or ()),
                hospitals=hospitals,
                departments=departments,
                physicians=physicians,
                due_within_days=due_within,
            )
        )
        if output is OutputFormat.JSON:
            data = (
                orjson.dumps(
                    worklist_json(day, registry.rules_version, items), option=orjson.OPT_INDENT_2
                )
                + b"\n"
            )
        elif output is OutputFormat.CSV:
            # the byte-order mark makes Excel read the file as UTF-8 (Chinese titles)
            data = csv_text(items, lang.value).encode("utf-8-sig")
        elif output is OutputFormat.XLSX:
            data = worklist_xlsx(items, day, registry.rules_version, lang.value)
        else:
            buffer = io.StringIO()
            console = Console(
                file=buffer, width=180, force_terminal=out is None and sys.stdout.isatty()
            )
            render_table(items, day, registry.rules_version, lang.value, console)
            data = buffer.getvalue().encode()
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            try:
                out.write_bytes(data)
            except OSError as exc:
                errors.print(f"bonepath worklist: cannot write {out}: {exc.strerror}", markup=False)
                raise typer.Exit(FAILURE) from None
