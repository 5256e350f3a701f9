"""`bonepath user ...`: accounts of the web application.

``add`` creates a user (role, hospital grants; the password from ``--password`` or asked
for), ``list`` prints them, ``password`` sets a new one, ``disable``/``enable``, and
``token`` creates an API bearer token for an integration (printed once). Exit codes: 0 done,
2 refused input (taken name, unknown role, short password), 1 the store failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.errors import BonepathError, InputError, NotFound

if TYPE_CHECKING:
    from bonepath.store.repository import Store

app = typer.Typer(help="Accounts of the web application.", no_args_is_help=True)


def _store() -> Store:
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    return open_store(Settings().database_url)


def _fail(exc: BonepathError) -> None:
    typer.echo(f"bonepath user: {exc}", err=True)
    raise typer.Exit(REFUSED if isinstance(exc, InputError | NotFound) else FAILURE)


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str,
        typer.Option("--role", help="clinician, nurse, mdt_coordinator, quality_manager or admin."),
    ],
    hospital: Annotated[
        list[str],
        typer.Option("--hospital", help="Hospital id granted (repeatable; * for all)."),
    ],
    password: Annotated[
        str | None,
        typer.Option("--password", help="Initial password (asked for when left out)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Create a user with a role and hospital grants."""
    from bonepath.store import accounts

    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with _store() as store:
            accounts.create_user(store.engine, username, secret, role, hospital, display_name=name)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"user {username} ({role}) created; hospitals: {', '.join(sorted(hospital))}")


@app.command("list")
def list_command() -> None:
    """The users, their roles and hospitals."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            users = accounts.list_users(store.engine)
    except BonepathError as exc:
        _fail(exc)
    for user in users:
        state = "" if user.active else "  (disabled)"
        typer.echo(f"{user.username}\t{user.role.value}\t{','.join(user.hospitals)}{state}")


@app.command("password")
def password_command(
    username: str,
    password: Annotated[str | None, typer.Option("--password")] = None,
) -> None:
    """Set a new password (ends the user's sessions)."""
    from bonepath.store import accounts

    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with _store() as store:
            accounts.set_password(store.engine, username, secret)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"password of {username} changed")


@app.command("disable")
def disable_command(username: str) -> None:
    """Disable a user (ends sessions; tokens stop working)."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            accounts.set_active(store.engine, username, False)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"{username} disabled")


@app.command("enable")
def enable_command(username: str) -> None:
    from bonepath.store import accounts

    try:
        with _store() as store:
            accounts.set_active(store.engine, username, True)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"{username} enabled")


@app.command("token")
def token_command(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "integration",
) -> None:
    """Create an API bearer token acting as USERNAME (printed once; store it safely)."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            token = accounts.create_api_token(store.engine, username, name)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(token)
