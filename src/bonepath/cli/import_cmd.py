"""`bonepath import` (stub, being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("import")
    def _stub() -> None:
        raise typer.Exit(1)
