"""`bonepath import PATH...` and `bonepath template OUT`: files into the store, empty templates out.

Exit codes (interfaces.md): 0 when every record was imported or already present unchanged;
2 when any record was refused (the good ones are still imported and the refusals listed, and
written to a rejects file); 1 when the import could not run (a missing path, an unreachable
store).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bonepath.cli.exit_codes import FAILURE, OK, REFUSED
from bonepath.errors import BonepathError, StoreError

if TYPE_CHECKING:
    from bonepath.interop.importer import ImportReport, Refusal
from bonepath.settings import Settings

SHOWN_REFUSALS = 20
"""Refusals printed in text output; all of them are in the rejects file and in JSON output."""


class OutputFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


class Language(enum.StrEnum):
    ZH = "zh"
    EN = "en"


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("template")(template_command)


def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Record files: .json (one record or a list), .ndjson, .xlsx template "
            "workbooks, template .csv files, FHIR R4 Bundles (.json) or bulk-export NDJSON, "
            "or directories of them.",
            show_default=False,
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="A column mapping (TOML, `bonepath mapping suggest`): PATHS are then the "
            "hospital's own CSV/Excel export files, read as one set.",
            show_default=False,
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Write every refusal to this NDJSON file (default: NAME.rejects.ndjson "
            "beside each input that has refusals).",
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output: a summary or JSON.")
    ] = OutputFormat.TEXT,
    lang: Annotated[
        Language, typer.Option("--lang", help="Language of the refusals in text output.")
    ] = Language.ZH,
    chunk_size: Annotated[
        int,
        typer.Option(min=1, help="Patients per transaction (a kill loses at most one chunk)."),
    ] = 2000,  # store.repository.DEFAULT_CHUNK_SIZE (imported lazily)
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes validating records (default: one per core but one, at most 8; "
            "1 = validate in the importing process). Used for large inputs only.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import patient records into the store (BONEPATH_DATABASE_URL)."""
    errors = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        from bonepath.interop.importer import import_paths
        from bonepath.store.repository import open_store

        store = open_store(Settings().database_url)
    except BonepathError as exc:
        errors.print(f"bonepath import: {exc}", markup=False, highlight=False)
        raise typer.Exit(FAILURE) from None
    try:
        with store, _ProgressBar(errors) as progress:
            report = import_paths(
                store,
                paths,
                rejects=rejects,
                chunk_size=chunk_size,
                jobs=jobs,
                progress=progress,
                mapping=mapping,
            )
    except StoreError as exc:
        errors.print(f"bonepath import: {exc}", markup=False, highlight=False)
        errors.print("bonepath import: stopped; the chunks committed before stay imported.")
        raise typer.Exit(FAILURE) from None
    except (BonepathError, OSError) as exc:  # a missing, unsupported or unreadable path
        errors.print(f"bonepath import: {exc}", markup=False, highlight=False)
        raise typer.Exit(FAILURE) from None
    if output is OutputFormat.JSON:
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_text(report, lang)
    raise typer.Exit(REFUSED if report.refused else OK)


class _ProgressBar:
    """A progress bar on stderr for a terminal; nothing (and no callback) otherwise."""

    def __init__(self, console: Console) -> None:
        self._bar: Progress | None = None
        self._task: Any = None
        self._calls = 0
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )

    def __enter__(self) -> Any:
        if self._bar is None:
            return None
        self._bar.start()
        self._task = self._bar.add_task("importing", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, consumed: int, total: int, report: ImportReport) -> None:
        self._calls += 1
        if self._bar is None or (self._calls % 100 and consumed < total):
            return
        stored = report.imported + report.updated + report.unchanged
        self._bar.update(
            self._task,
            completed=consumed,
            total=total,
            description=f"stored {stored} · refused {report.refused}",
        )


def _print_text(report: ImportReport, lang: Language = Language.ZH) -> None:
    out = Console(highlight=False, soft_wrap=True)
    for refusal in report.refusals[:SHOWN_REFUSALS]:
        print_refusal(out, refusal, lang)
    hidden = report.refused - SHOWN_REFUSALS
    if hidden > 0:
        out.print(f"… and {hidden} more refused records (all in the rejects file)", markup=False)
    summary = (
        f"imported {report.imported}, updated {report.updated}, "
        f"unchanged {report.unchanged}, refused {report.refused}"
    )
    if report.rejects_files:
        summary += " — rejects: " + ", ".join(str(path) for path in report.rejects_files)
    for (kind, reason), count in sorted(report.skipped.items()):
        out.print(f"skipped {count} FHIR {kind}: {reason}", markup=False)
    out.print(summary, markup=False)


def print_refusal(out: Console, refusal: Refusal, lang: Language = Language.ZH) -> None:
    """One refusal: its location, then each error with its code and, in ``lang``, what is
    wrong, what is accepted and what to change (the accepted values said once)."""
    from bonepath.errors import Problem
    from bonepath.record.problem_text import explain

    who = f" ({refusal.source}/{refusal.id})" if refusal.id else ""
    out.print(f"refused {refusal.location}{who}:", markup=False)
    for error in refusal.errors:
        text = explain(Problem.from_dict(error), lang.value, specific_zh=error.get("problem_zh"))
        line = f"  {error['path'] or '/'}  {error['code']}  {text}"
        if error.get("fhir_path"):
            line += f"  (FHIR {error['fhir_path']})"
        if error.get("location"):
            cell = error["location"] + (f", {error['column']}" if error.get("column") else "")
            line += f"  ({cell})"
        out.print(line, markup=False)


def template_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="FILE.xlsx for a workbook, or a directory for one CSV file per sheet.",
            show_default=False,
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write empty import templates (bilingual headers: 中文 / english)."""
    from bonepath.interop.tabular import SHEETS, write_csv_set, write_workbook

    targets = (
        [out]
        if out.suffix.lower() == ".xlsx"
        else [out / f"{name}.csv" for name in SHEETS] + [out / "readme.csv"]
    )
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        Console(stderr=True, soft_wrap=True, highlight=False).print(
            f"bonepath template: {existing[0]} exists; use --force to overwrite", markup=False
        )
        raise typer.Exit(FAILURE)
    if out.suffix.lower() == ".xlsx":
        write_workbook(out)
    else:
        write_csv_set(out)
    typer.echo(f"wrote {len(targets)} template file(s) to {out}")
