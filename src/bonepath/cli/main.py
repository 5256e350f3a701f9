"""The ``bonepath`` command line: one Typer app, one module per command."""

from __future__ import annotations

import sys

import typer

from bonepath.cli import (
    db_cmd,
    demo_cmd,
    evaluate_cmd,
    export_cmd,
    imaging_cmd,
    import_cmd,
    mapping_cmd,
    mdt_cmd,
    quality_cmd,
    remind_cmd,
    rules_cmd,
    serve_cmd,
    snapshot_cmd,
    synth_cmd,
    user_cmd,
    worklist_cmd,
)
from bonepath.cli.exit_codes import FAILURE
from bonepath.errors import BonepathError

app = typer.Typer(
    name="bonepath",
    help="Care pathways for lung cancer with bone metastasis (2024 Chinese guideline).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evaluate_cmd.register(app)
import_cmd.register(app)
export_cmd.register(app)
synth_cmd.register(app)
rules_cmd.register(app)
demo_cmd.register(app)
worklist_cmd.register(app)
snapshot_cmd.register(app)
remind_cmd.register(app)
quality_cmd.register(app)
app.add_typer(db_cmd.app, name="db")
serve_cmd.register(app)
app.add_typer(user_cmd.app, name="user")
app.add_typer(mapping_cmd.app, name="mapping")
app.add_typer(imaging_cmd.app, name="imaging")
app.add_typer(mdt_cmd.app, name="mdt")


def main() -> None:
    """Console entry point; unexpected errors become exit code 1 with a one-line message."""
    try:
        app()
    except BonepathError as exc:
        sys.stderr.write(f"bonepath: {exc}\n")
        sys.exit(FAILURE)
