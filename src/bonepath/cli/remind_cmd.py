"""`bonepath remind` (the cron job), `bonepath recipient ...` and `bonepath task ...`.

``remind`` evaluates the registry as of a day, turns the findings into tasks and queued
messages, and delivers the messages through the configured channels (docs/reminders.md); it
prints a JSON summary. Running it twice at once, or again after a crash, sends nothing twice.
Exit codes: 0 done (failed messages are counted in the summary); 2 a refused option
(``{"errors": [...]}`` on stdout); 1 the store or a channel setting failed.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from bonepath.cli.backends import backend_for
from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.errors import BonepathError, InputError, NotFound, Problem


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WECHAT = "wechat"


class Backend(StrEnum):
    AUTO = "auto"
    DUCKDB = "duckdb"
    POSTGRES = "postgres"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def _print_json(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _refuse(problem: Problem) -> NoReturn:
    _print_json({"errors": [problem.to_dict()]})
    raise typer.Exit(REFUSED)


def _fail(command: str, exc: Exception) -> NoReturn:
    Console(stderr=True, soft_wrap=True, highlight=False).print(
        f"bonepath {command}: {exc}", markup=False
    )
    raise typer.Exit(FAILURE)


def _day(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else dt.date.today()
    except ValueError:
        _refuse(Problem("--as-of", "INVALID_DATE", f"not a date: {value!r}", ("YYYY-MM-DD",)))


recipient_app = typer.Typer(help="Who receives reminder messages.", no_args_is_help=True)
task_app = typer.Typer(help="Reminder tasks on the nurses' worklist.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("remind")(remind)
    app.add_typer(recipient_app, name="recipient")
    app.add_typer(task_app, name="task")


def remind(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Evaluate as of this day (YYYY-MM-DD); default today."),
    ] = None,
    channel: Annotated[
        list[Channel] | None,
        typer.Option("--channel", help="Deliver only through this channel (repeatable)."),
    ] = None,
    hospital: Annotated[
        list[str] | None,
        typer.Option("--hospital", help="Only patients of this hospital id (repeatable)."),
    ] = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="Registry evaluation backend.")
    ] = Backend.AUTO,
    send: Annotated[
        bool, typer.Option("--send/--no-send", help="Deliver queued messages after the tasks.")
    ] = True,
    messages: Annotated[
        bool,
        typer.Option(
            "--messages/--no-messages",
            help="Queue messages for the tasks opened by this run (--no-messages: go-live on a "
            "registry with a backlog; the tasks are on the worklist, nobody is messaged).",
        ),
    ] = True,
) -> None:
    """Turn the day's findings into tasks and messages, and send each message once."""
    day = _day(as_of)
    from bonepath.reminders.job import run_reminders
    from bonepath.reminders.settings import ReminderSettings, build_channels
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    wanted = tuple(c.value for c in channel or ())
    try:
        reminder_settings = ReminderSettings()
        channels = build_channels(reminder_settings, wanted) if send else None
        with open_store(Settings().database_url) as store:
            dialect = store.engine.dialect.name
            chosen = backend_for(backend.value, dialect)
            if isinstance(chosen, Problem):
                _refuse(chosen)
            from bonepath.reminders.channels import ChannelRegistry

            report = run_reminders(
                store,
                day,
                channels or ChannelRegistry(),
                backend="postgres" if chosen == "postgres" else "duckdb",
                hospitals=tuple(hospital or ()),
                send=send,
                queue_messages=messages,
                lease=dt.timedelta(seconds=reminder_settings.reminder_lease_s),
            )
    except (BonepathError, ValueError) as exc:
        _fail("remind", exc)
    summary = report.to_json()
    summary["channels"] = list(channels.names()) if channels else []
    _print_json(summary)


@recipient_app.command("add")
def recipient_add(
    channel: Annotated[Channel, typer.Option("--channel")],
    address: Annotated[
        str, typer.Option("--address", help="E-mail address, phone number or WeChat openid.")
    ],
    hospital: Annotated[
        str | None,
        typer.Option("--hospital", help="Staff of this hospital id (default: every hospital)."),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient", help="SOURCE/ID: the patient's own contact (dose reminders only)."
        ),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang")] = Lang.ZH,
    rules: Annotated[
        str, typer.Option("--rules", help="Rule ids or families, comma-separated; * = all.")
    ] = "ADH",
) -> None:
    """Register a recipient of reminder messages."""
    from bonepath.reminders.tasks import add_recipient
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    who: tuple[str, str] | None = None
    if patient is not None:
        source, _, patient_id = patient.partition("/")
        if not source or not patient_id:
            _refuse(Problem("--patient", "INVALID_PATIENT", "expected SOURCE/ID", ("his-a/P0001",)))
        who = (source, patient_id)
    try:
        with open_store(Settings().database_url) as store:
            added = add_recipient(
                store,
                channel.value,
                address,
                lang=lang.value,
                hospital=hospital,
                patient=who,
                rules=rules.replace(",", " ").split(),
            )
    except InputError as exc:
        _refuse(Problem("--address", "REFUSED", str(exc)))
    except BonepathError as exc:
        _fail("recipient add", exc)
    _print_json({"id": added.id, "channel": added.channel, "rules": list(added.rules)})


@recipient_app.command("list")
def recipient_list() -> None:
    """The active recipients."""
    from bonepath.reminders.tasks import list_recipients
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    try:
        with open_store(Settings().database_url) as store:
            found = list_recipients(store)
    except BonepathError as exc:
        _fail("recipient list", exc)
    _print_json(
        [
            {
                "id": r.id,
                "channel": r.channel,
                "address": r.address,
                "lang": r.lang,
                "audience": r.audience.value,
                "hospital": r.hospital,
                "patient": f"{r.patient_source}/{r.patient}" if r.patient else None,
                "rules": list(r.rules),
            }
            for r in found
        ]
    )


@recipient_app.command("remove")
def recipient_remove(recipient_id: int) -> None:
    """Stop messages to a recipient (its history is kept)."""
    from bonepath.reminders.tasks import deactivate_recipient
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    try:
        with open_store(Settings().database_url) as store:
            deactivate_recipient(store, recipient_id)
    except NotFound as exc:
        _refuse(Problem("RECIPIENT_ID", "NOT_FOUND", str(exc)))
    except BonepathError as exc:
        _fail("recipient remove", exc)


@task_app.command("list")
def task_list(
    hospital: Annotated[list[str] | None, typer.Option("--hospital")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule")] = None,
    status: Annotated[str, typer.Option("--status", help="open, closed or all.")] = "open",
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 500,
) -> None:
    """Tasks, most urgent first (JSON)."""
    from bonepath.reminders.model import TaskQuery, TaskStatus
    from bonepath.reminders.tasks import list_tasks
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    if status not in ("open", "closed", "all"):
        _refuse(Problem("--status", "UNKNOWN_STATUS", status, ("open", "closed", "all")))
    query = TaskQuery(
        status=None if status == "all" else TaskStatus(status),
        hospitals=tuple(hospital) if hospital else None,
        rules=tuple(rule or ()),
        limit=limit,
    )
    try:
        with open_store(Settings().database_url) as store:
            tasks = list_tasks(store, query)
    except BonepathError as exc:
        _fail("task list", exc)
    _print_json([task.to_json() for task in tasks])


@task_app.command("close")
def task_close(
    task_id: int,
    reason: Annotated[str, typer.Option("--reason", help="A close-reason code.")],
    by: Annotated[str, typer.Option("--by", help="Who closes the task.")],
    note: Annotated[str | None, typer.Option("--note")] = None,
) -> None:
    """Close a task with a reason (ADH-03: why the course was interrupted)."""
    from bonepath.reminders.tasks import close_task
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    try:
        with open_store(Settings().database_url) as store:
            closed = close_task(store, task_id, reason, note, by)
    except NotFound as exc:
        _refuse(Problem("TASK_ID", "NOT_FOUND", str(exc)))
    except InputError as exc:
        _refuse(Problem("--reason", "REFUSED", str(exc)))
    except BonepathError as exc:
        _fail("task close", exc)
    _print_json(closed.to_json())
