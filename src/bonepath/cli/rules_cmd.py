"""`bonepath rules`: the rule catalogue as a document (docs/rules.md is its output)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("rules")
    def rules_command(
        write: Annotated[
            Path | None, typer.Option("--write", help="Write the Markdown to this file.")
        ] = None,
    ) -> None:
        """Print (or write) the rule catalogue with logic and sources, in zh and en."""
        from bonepath.rules import load_catalogue
        from bonepath.rules.doc import render_markdown

        text = render_markdown(load_catalogue())
        if write is None:
            sys.stdout.write(text)
        else:
            write.write_text(text, encoding="utf-8")
