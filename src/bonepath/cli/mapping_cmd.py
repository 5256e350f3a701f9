"""`bonepath mapping suggest FILE...` and `bonepath mapping check MAP FILE...`: a first column
mapping from a hospital export's headers, and a preview of what an import by it would store
and refuse, and why. Nothing is stored.

Exit codes: 0 when every record of the preview would be accepted, 2 when some would be
refused, 1 when the files or the mapping cannot be read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from bonepath.cli.exit_codes import FAILURE, OK, REFUSED
from bonepath.cli.import_cmd import Language, print_refusal
from bonepath.errors import BonepathError

app = typer.Typer(help="Column mappings of a hospital's own export files.", no_args_is_help=True)

PREVIEW_RECORDS = 3


@app.command("suggest")
def suggest_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="The export's .csv/.xlsx files (or a folder).", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the mapping.")] = Path(
        "mapping.toml"
    ),
    source: Annotated[
        str, typer.Option("--source", help="The patients' source system (e.g. his-county).")
    ] = "his",
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
    lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
) -> None:
    """Write a first mapping from the headers, then preview what importing by it would do."""
    from bonepath.interop.mapping import suggest_mapping, table_files

    errors = Console(stderr=True, soft_wrap=True, highlight=False)
    if out.exists() and not force:
        errors.print(f"bonepath mapping: {out} exists; use --force to overwrite", markup=False)
        raise typer.Exit(FAILURE)
    try:
        suggestion = suggest_mapping(table_files(files), source=source)
    except (BonepathError, OSError, ValueError) as exc:
        errors.print(f"bonepath mapping: {exc}", markup=False)
        raise typer.Exit(FAILURE) from None
    out.write_text(suggestion.toml, encoding="utf-8")
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"wrote {out}; check it, then preview again with: bonepath mapping check {out} FILE...",
        markup=False,
    )
    for note in suggestion.notes:
        console.print(f"note: {note}", markup=False)
    raise typer.Exit(_preview(out, files, lang, console))


@app.command("check")
def check_command(
    mapping: Annotated[Path, typer.Argument(help="The mapping (TOML).", show_default=False)],
    files: Annotated[
        list[Path],
        typer.Argument(help="The export's .csv/.xlsx files (or a folder).", show_default=False),
    ],
    lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
) -> None:
    """Preview the first records and every refusal of an import by MAPPING; store nothing."""
    raise typer.Exit(_preview(mapping, files, lang, Console(highlight=False, soft_wrap=True)))


def _preview(mapping: Path, files: list[Path], lang: Language, console: Console) -> int:
    from bonepath.errors import RecordRefused
    from bonepath.interop.files import read_input
    from bonepath.interop.importer import mapped_input, refusal_of
    from bonepath.record.parse import parse_record

    try:
        source = mapped_input(files, mapping)
        raws = list(read_input(source))
    except (BonepathError, OSError) as exc:
        Console(stderr=True, soft_wrap=True).print(f"bonepath mapping: {exc}", markup=False)
        return FAILURE
    today = dt.date.today()
    accepted = refused = 0
    for raw in raws:
        problems = raw.problems
        if not problems:
            try:
                record = parse_record(raw.data, today=today)
                problems = raw.refusal_problems()
            except RecordRefused as exc:
                problems = raw.refusal_problems(exc.problems)
        if problems:
            refused += 1
            print_refusal(console, refusal_of(raw, problems), lang)
            continue
        accepted += 1
        if accepted <= PREVIEW_RECORDS:
            console.print(f"record {raw.location} ({record.source}/{record.id}):", markup=False)
            text = orjson.dumps(record.to_json_dict())
            console.print("  " + text.decode(), markup=False)
    console.print(
        f"preview: {accepted} record(s) would be stored, {refused} refused (nothing stored)",
        markup=False,
    )
    return REFUSED if refused else OK
