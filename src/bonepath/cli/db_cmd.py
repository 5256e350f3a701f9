"""`bonepath db ...` (stub, being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply the Alembic migrations to the configured store."""
    raise typer.Exit(1)
