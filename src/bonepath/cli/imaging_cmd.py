"""`bonepath imaging check-report`: what one CT report says about bone (interfaces.md).

Reads the report's text (UTF-8, a file or ``-`` for stdin) and prints the checker's answer
(:mod:`bonepath.imaging.report`) as JSON (default) or a table in ``--lang``. Exit codes as
``evaluate``: 0 done; 2 refused input (empty text, unreadable or not UTF-8, too long) with
``{"errors": [...]}`` on stdout; 1 any other failure.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath.cli.exit_codes import REFUSED
from bonepath.cli.imaging_aid_cmd import candidates_cmd
from bonepath.errors import InputError
from bonepath.imaging.report import ReportCheck, check_report

app = typer.Typer(help="CT imaging: the report checker.", no_args_is_help=True)
app.command("candidates")(candidates_cmd)  # the candidate-lesion aid (cli/imaging_aid_cmd.py)


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "described": "报告已描述骨骼（骨窗）",
        "not_described": "报告未描述骨骼",
        "evidence": "依据",
        "site": "部位",
        "level": "椎体",
        "side": "侧别",
        "finding": "所见",
        "certainty": "确定性",
        "text": "原文",
        "none": "无骨病变描述",
        "aid": "未经验证的辅助判读，仅供参考",
        "positive": "明确",
        "suspicious": "可疑",
        "negated": "否定",
        "left": "左",
        "right": "右",
    },
    "en": {
        "described": "The report describes the bones (bone window)",
        "not_described": "The report says nothing about the bones",
        "evidence": "Evidence",
        "site": "Site",
        "level": "Level",
        "side": "Side",
        "finding": "Finding",
        "certainty": "Certainty",
        "text": "Text",
        "none": "No bone abnormality stated",
        "aid": "An unvalidated reading aid",
        "positive": "stated",
        "suspicious": "suspicious",
        "negated": "negated",
        "left": "left",
        "right": "right",
    },
}


def _refuse(path: str, code: str, problem: str) -> None:
    body = {"errors": [{"path": path, "code": code, "problem": problem}]}
    sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    raise typer.Exit(REFUSED)


def _read(source: str) -> str:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        _refuse("", "UNREADABLE_FILE", f"无法读取 / cannot read {source}: {exc.strerror}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse("", "NOT_UTF8", "报告不是UTF-8文本 / the report is not UTF-8 text")
    raise AssertionError("unreachable")


def render_table(check: ReportCheck, lang: str, console: Console) -> None:
    labels = _LABELS[lang]
    console.print(f"[bold]{labels[check.bone_window]}[/]  [dim]({labels['aid']})[/]")
    for sentence in check.evidence:
        console.print(f"  {labels['evidence']}: {escape(sentence)}")
    if not check.findings:
        console.print(labels["none"])
        return
    table = Table(show_lines=True, expand=True)
    for key in ("site", "level", "side", "finding", "certainty", "text"):
        table.add_column(labels[key], overflow="fold")
    for f in check.findings:
        table.add_row(
            f.site,
            f.level or "—",
            labels[f.side] if f.side else "—",
            f.finding,
            labels[f.certainty],
            escape(f.text),
        )
    console.print(table)


@app.command("check-report")
def check_report_cmd(
    file: Annotated[str, typer.Argument(help="The report's text file (UTF-8), or - for stdin.")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="json or table.")
    ] = OutputFormat.JSON,
    lang: Annotated[Language, typer.Option("--lang", help="zh or en (table).")] = Language.ZH,
) -> None:
    """Whether one CT report describes the bones, with its bone findings (interfaces.md)."""
    text = _read(file)
    try:
        check = check_report(text)
    except InputError as exc:
        _refuse("", getattr(exc, "code", "INVALID_REPORT"), str(exc))
    if output is OutputFormat.JSON:
        sys.stdout.write(orjson.dumps(check.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render_table(check, lang.value, Console(soft_wrap=False))
