"""`bonepath evaluate`: one patient, one day, by the guideline (interfaces.md)."""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.engine.findings import Evaluation, Finding
from bonepath.errors import Problem, RecordRefused
from bonepath.record.model import Record
from bonepath.record.parse import parse_json
from bonepath.vocab import Severity


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


_LABELS = {
    "zh": {
        "title": "患者 {patient} · 评估日期 {as_of} · 规则版本 {version}",
        "severity": "紧急程度",
        "rule": "规则",
        "kind": "类型",
        "what": "内容",
        "due": "截止",
        "values": "数值",
        "sources": "依据",
        "none": "无提示",
        "deceased": "患者已故（死亡日期不晚于评估日）：不再给出任何提示（VAL-09）",
        "kinds": {
            "action": "待办",
            "reminder": "提醒",
            "alert": "警示",
            "data_needed": "需补录",
            "info": "信息",
        },
        "severities": {"critical": "危急", "high": "高", "medium": "中", "low": "低"},
    },
    "en": {
        "title": "Patient {patient} · as of {as_of} · rules {version}",
        "severity": "Severity",
        "rule": "Rule",
        "kind": "Kind",
        "what": "What",
        "due": "Due",
        "values": "Values",
        "sources": "Sources",
        "none": "No findings",
        "deceased": "Patient deceased (death date on or before the day): no findings (VAL-09)",
        "kinds": {
            "action": "action",
            "reminder": "reminder",
            "alert": "alert",
            "data_needed": "data needed",
            "info": "info",
        },
        "severities": {"critical": "critical", "high": "high", "medium": "medium", "low": "low"},
    },
}

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "dim",
}


def _format_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_table(evaluation: Evaluation, lang: str, console: Console) -> None:
    """The readable form: most urgent first, every line with its source."""
    labels = _LABELS[lang]
    table = Table(
        title=str(labels["title"]).format(
            patient=evaluation.patient,
            as_of=evaluation.as_of.isoformat(),
            version=evaluation.rules_version,
        ),
        show_lines=True,
        expand=True,
    )
    for key in ("severity", "rule", "kind", "what", "due", "values", "sources"):
        table.add_column(str(labels[key]), overflow="fold")
    findings: list[Finding] = sorted(evaluation.findings, key=Finding.urgency_key)
    for f in findings:
        values = "\n".join(f"{k}={_format_value(v)}" for k, v in f.to_json()["values"].items())
        table.add_row(
            f"[{_SEVERITY_STYLE[f.severity]}]{labels['severities'][f.severity.value]}[/]",  # type: ignore[index]
            f.rule,
            labels["kinds"][f.kind.value],  # type: ignore[index]
            escape(f.title(lang)),
            f.due.isoformat() if f.due else "—",
            escape(values or "—"),
            escape("\n".join(f.sources)),
        )
    if evaluation.deceased:
        console.print(str(labels["deceased"]))
    elif not findings:
        console.print(str(labels["none"]))
    console.print(table)


def _refuse(problems: list[Problem] | tuple[Problem, ...]) -> None:
    sys.stdout.write(orjson.dumps({"errors": [p.to_dict() for p in problems]}).decode() + "\n")
    raise typer.Exit(REFUSED)


def _load_record(path: Path) -> Record:
    try:
        data = path.read_bytes()
    except OSError as exc:
        sys.stderr.write(f"bonepath: cannot read {path}: {exc.strerror}\n")
        raise typer.Exit(FAILURE) from exc
    try:
        return parse_json(data)
    except RecordRefused as refused:
        _refuse(refused.problems)
        raise  # unreachable: _refuse exits


def _load_stored(source: str | None, patient: str) -> Record:
    """The stored patient ``patient``: of ``source`` when given, else of the one source that
    holds that id (two sources holding it: the user is asked for ``--source``)."""
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    with open_store(Settings().database_url) as store:
        if source is None:
            sources = store.sources_of(patient)
            if len(sources) > 1:
                sys.stderr.write(
                    f"bonepath: patient id {patient!r} is held by {len(sources)} sources "
                    f"({', '.join(sources)}); name one with --source\n"
                )
                raise typer.Exit(FAILURE)
            if not sources:
                sys.stderr.write(f"bonepath: no stored patient with id {patient!r}\n")
                raise typer.Exit(FAILURE)
            source = sources[0]
        record = store.get_record(source, patient)
    if record is None:
        sys.stderr.write(f"bonepath: no stored patient {source}/{patient}\n")
        raise typer.Exit(FAILURE)
    return record


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        record_file: Annotated[
            Path | None, typer.Argument(help="A record file (format v1 JSON).", show_default=False)
        ] = None,
        patient: Annotated[
            str | None, typer.Option("--patient", help="A stored patient's id instead of a file.")
        ] = None,
        source: Annotated[
            str | None,
            typer.Option(
                "--source",
                help="The stored patient's source system (needed only when two sources hold "
                "the id).",
                show_default=False,
            ),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Evaluate as of this day (YYYY-MM-DD); default today."),
        ] = None,
        output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.JSON,
        lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
    ) -> None:
        """Evaluate one patient by the rule catalogue: what is due, overdue or unsafe, and why."""
        try:
            day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        except ValueError:
            _refuse([Problem("--as-of", "INVALID_DATE", f"not a date: {as_of!r}", ("YYYY-MM-DD",))])
        if (record_file is None) == (patient is None):
            sys.stderr.write("bonepath: give either a RECORD file or --patient ID\n")
            raise typer.Exit(FAILURE)
        record = _load_record(record_file) if record_file else _load_stored(source, patient or "")

        from bonepath.engine.evaluate import evaluate

        evaluation = evaluate(record, day)
        if output is OutputFormat.JSON:
            sys.stdout.write(
                orjson.dumps(evaluation.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n"
            )
        else:
            render_table(evaluation, lang.value, Console(width=160))
