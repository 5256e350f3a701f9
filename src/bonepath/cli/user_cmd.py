"""`bonepath user ...`: accounts of the web application.

``add`` creates a user (role, grants of hospitals known to the store; the password from ``--password`` or asked
for), ``list`` prints them, ``password`` sets a new one (ends sessions, revokes tokens),
``disable``/``enable`` (disabling revokes tokens; enabling revives none), ``token`` creates an
API bearer token for an integration (printed once), lists them (``--list``: created, last use)
or revokes them (``--revoke [--id N]``); ``locks`` lists the user names and addresses locked
by failed logins and ``unlock`` lifts one; ``hospital`` registers a hospital (name, tier,
type, departments) before its first import. Exit codes: 0 done, 2 refused input (taken name,
unknown role, short password, unknown hospital, user or token), 1 the store failed.
"""

from __future__ import annotations

import datetime as dt
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
        typer.Option("--role", help="clinician, nurse, mdt_coordinator, quality_manager, admin or radiologist."),
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
    """Create a user with a role and hospital grants (each hospital known to the store)."""
    from bonepath.store import accounts, hospitals

    try:
        with _store() as store:
            hospitals.require_known(store.engine, hospital)
    except BonepathError as exc:
        _fail(exc)
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with _store() as store:
            accounts.create_user(store.engine, username, secret, role, hospital, display_name=name)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"user {username} ({role}) created; hospitals: {', '.join(sorted(hospital))}")


@app.command("hospital")
def hospital_command(
    hospital_id: Annotated[str, typer.Argument(help="Hospital id (as in the records).")],
    name: Annotated[str, typer.Option("--name", help="The hospital's name.")],
    tier: Annotated[
        str | None, typer.Option("--tier", help="City tier: tier1-2 or tier3-4.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--type", help="general or cancer.")] = None,
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="A department it runs (repeatable), e.g. oncology."),
    ] = None,
) -> None:
    """Register a hospital (or change a registered one) so users can be granted it before its
    first import."""
    from bonepath.store import hospitals

    try:
        with _store() as store:
            hospitals.save_hospital(
                store.engine,
                hospital_id,
                name,
                city_tier=tier,
                type=kind,
                departments=department or (),
            )
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"hospital {hospital_id} ({name}) saved")


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
    """Set a new password (ends the user's sessions, revokes their API tokens)."""
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
    """Disable a user (ends sessions, revokes API tokens for good)."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            accounts.set_active(store.engine, username, False)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"{username} disabled; sessions ended, API tokens revoked")


@app.command("enable")
def enable_command(username: str) -> None:
    """Enable a user again (revoked tokens stay revoked: create new ones)."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            accounts.set_active(store.engine, username, True)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"{username} enabled")


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@app.command("token")
def token_command(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "integration",
    list_: Annotated[
        bool, typer.Option("--list", help="List USERNAME's tokens (created, last use, state).")
    ] = False,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke USERNAME's tokens (all, or --id).")
    ] = False,
    token_id: Annotated[
        int | None, typer.Option("--id", help="With --revoke: only this token (see --list).")
    ] = None,
) -> None:
    """Create an API bearer token acting as USERNAME (printed once; store it safely); with
    --list, list their tokens; with --revoke, revoke them (all, or the one of --id)."""
    from bonepath.store import accounts

    if list_ and revoke:
        _fail(InputError("--list and --revoke: choose one"))
    if token_id is not None and not revoke:
        _fail(InputError("--id names the token to revoke: use it with --revoke"))
    try:
        with _store() as store:
            if list_:
                tokens = accounts.list_api_tokens(store.engine, username)
            elif revoke:
                count = accounts.revoke_api_tokens(store.engine, username, token_id)
            else:
                token = accounts.create_api_token(store.engine, username, name)
    except BonepathError as exc:
        _fail(exc)
    if list_:
        now = dt.datetime.now(dt.UTC)
        typer.echo("id\tname\tcreated\tlast used\texpires\tstate")
        for t in tokens:
            typer.echo(
                f"{t.id}\t{t.name}\t{_when(t.created_at)}\t{_when(t.last_used_at)}"
                f"\t{_when(t.expires_at)}\t{t.state(now)}"
            )
    elif revoke:
        typer.echo(f"{count} token(s) of {username} revoked")
    else:
        typer.echo(token)


@app.command("locks")
def locks_command() -> None:
    """User names and client addresses locked by failed logins, and until when."""
    from bonepath.store import accounts

    try:
        with _store() as store:
            locks = accounts.list_login_locks(store.engine)
    except BonepathError as exc:
        _fail(exc)
    typer.echo("scope\tkey\tfailures\tuntil")
    for lock in locks:
        typer.echo(f"{lock.scope.value}\t{lock.key}\t{lock.failures}\t{_when(lock.until)}")


@app.command("unlock")
def unlock_command(
    key: Annotated[str, typer.Argument(help="The user name (or, with --address, the address).")],
    address: Annotated[
        bool, typer.Option("--address", help="KEY is a client address, not a user name.")
    ] = False,
) -> None:
    """Lift the lock of a user name (or client address) after failed logins."""
    from bonepath.store import accounts

    scope = accounts.ThrottleScope.ADDRESS if address else accounts.ThrottleScope.ACCOUNT
    try:
        with _store() as store:
            lifted = accounts.lift_login_lock(store.engine, scope, key)
    except BonepathError as exc:
        _fail(exc)
    typer.echo(f"{scope.value} {key}: " + ("lock lifted" if lifted else "no failed logins"))
