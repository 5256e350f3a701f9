"""`bonepath db ...`: maintenance of the configured store (BONEPATH_DATABASE_URL)."""

from __future__ import annotations

import typer
from rich.console import Console

from bonepath.cli.exit_codes import FAILURE
from bonepath.errors import BonepathError
from bonepath.settings import Settings

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply the migrations to the configured store (creating it when new)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bonepath.store import migrate
    from bonepath.store.db import create_store_engine

    try:
        engine = create_store_engine(Settings().database_url)
        try:
            before = migrate.upgrade(engine)
        finally:
            engine.dispose()
    except (BonepathError, SQLAlchemyError) as exc:
        Console(stderr=True, soft_wrap=True, highlight=False).print(
            f"bonepath db upgrade: {exc}", markup=False
        )
        raise typer.Exit(FAILURE) from None
    head = migrate.head_revision()
    if before == head:
        typer.echo(f"store already at revision {head}")
    else:
        typer.echo(f"store upgraded from {before or 'empty'} to revision {head}")


@app.command("current")
def current() -> None:
    """Print the store's schema revision and the newest one this version ships."""
    from sqlalchemy.exc import SQLAlchemyError

    from bonepath.store import migrate
    from bonepath.store.db import create_store_engine

    try:
        engine = create_store_engine(Settings().database_url)
        try:
            with engine.connect() as conn:
                revision = migrate.current_revision(conn)
        finally:
            engine.dispose()
    except (BonepathError, SQLAlchemyError) as exc:
        Console(stderr=True, soft_wrap=True, highlight=False).print(
            f"bonepath db current: {exc}", markup=False
        )
        raise typer.Exit(FAILURE) from None
    typer.echo(f"revision {revision or 'none (empty store)'}; newest {migrate.head_revision()}")
