"""`bonepath mdt …`: the MDT for scripting (issue 16 item 6).

- ``bonepath mdt cases [--state S]... [--hospital H]... --format json|table``: the cases, oldest
  due first; JSON ``{"cases": [{"id", "patient", "hospital", "state", "question", "triggers",
  "referred_to", "meeting_date", "decisions"}]}``;
- ``bonepath mdt case ID``: one case in detail (summary, decision, quorum, tasks, history);
- ``bonepath mdt create --patient ID [--source S] [--question Q --text T] --by USER``: a case
  from the patient's MDT-01 finding (its triggers and due date), or by hand with a question;
- ``bonepath mdt meetings [--from DAY] [--to DAY]``; ``bonepath mdt tasks [--role R]
  [--status open|done|all]``; ``bonepath mdt responsibilities --format json|table``.

The command line acts as an MDT coordinator of every hospital, under the name given by
``--by`` (audited like a web user). Exit codes: 0 done; 2 refused (``{"errors": [...]}`` on
stdout: an unknown state, a case that cannot be made); 1 the store failed.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.errors import BonepathError, NotFound, Problem, RecordRefused

app = typer.Typer(help="The MDT: cases, meetings, tasks (issue 16).", no_args_is_help=True)


class Format(StrEnum):
    JSON = "json"
    TABLE = "table"


def _print_json(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _refuse(problems: Sequence[Problem]) -> NoReturn:
    _print_json({"errors": [p.to_dict() for p in problems]})
    raise typer.Exit(REFUSED)


def _fail(command: str, exc: Exception) -> NoReturn:
    Console(stderr=True, soft_wrap=True, highlight=False).print(
        f"bonepath mdt {command}: {exc}", markup=False
    )
    raise typer.Exit(FAILURE)


def _day(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _refuse([Problem(option, "INVALID_DATE", f"not a date: {value!r}", ("YYYY-MM-DD",))])


def _principal(by: str) -> Any:
    from bonepath.store.accounts import ALL_HOSPITALS, Principal, Role

    name = by.strip()
    if not name or len(name) > 64:
        _refuse([Problem("--by", "MISSING_FIELD", "who acts (1 to 64 characters)")])
    return Principal(
        user_id=0,
        username=name,
        role=Role.MDT_COORDINATOR,
        hospitals=frozenset({ALL_HOSPITALS}),
        via="cli",
    )


def _store() -> Any:
    from bonepath.settings import Settings
    from bonepath.store.repository import open_store

    return open_store(Settings().database_url)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console = Console(highlight=False)
    if console.width < 160:  # a pipe or a narrow terminal: the ids stay whole
        console = Console(highlight=False, width=160)
    console.print(table)


@app.command("cases")
def cases(
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="proposed, scheduled, discussed, decided, implemented, "
            "withdrawn (repeatable; default all).",
        ),
    ] = None,
    hospital: Annotated[list[str] | None, typer.Option("--hospital", help="Hospital id.")] = None,
    format: Annotated[Format, typer.Option("--format")] = Format.TABLE,  # noqa: A002
) -> None:
    """The MDT cases, oldest due first."""
    from bonepath.mdt import CaseState
    from bonepath.store import mdt as repo

    problems = [
        Problem(
            f"--state/{i}",
            "UNKNOWN_CODE",
            f"unknown state {s!r}",
            tuple(c.value for c in CaseState),
        )
        for i, s in enumerate(state or ())
        if s not in {c.value for c in CaseState}
    ]
    if problems:
        _refuse(problems)
    try:
        with _store() as store:
            found = repo.list_cases(
                store.engine,
                states=[CaseState(s) for s in state] if state else None,
                hospitals=tuple(hospital) if hospital else None,
            )
    except BonepathError as exc:
        _fail("cases", exc)
    listing = [c.listing() for c in found]
    if format is Format.JSON:
        _print_json({"cases": listing})
        return
    _table(
        f"MDT cases ({len(listing)})",
        (
            "id",
            "patient",
            "hospital",
            "state",
            "question",
            "triggers",
            "referred_to",
            "meeting_date",
            "decisions",
        ),
        [
            (
                c["id"],
                c["patient"],
                c["hospital"],
                c["state"],
                c["question"],
                ",".join(c["triggers"]),
                c["referred_to"],
                c["meeting_date"],
                ",".join(c["decisions"]),
            )
            for c in listing
        ],
    )


@app.command("case")
def case(case_id: int) -> None:
    """One case in detail (JSON): summary, decision, quorum, tasks, history."""
    from bonepath.api import mdt_service as svc

    try:
        with _store() as store:
            view = svc.case_view(store, _principal("cli"), case_id)
            document = svc.case_json(view)
    except NotFound as exc:
        _refuse([Problem("CASE_ID", "NOT_FOUND", str(exc))])
    except BonepathError as exc:
        _fail("case", exc)
    _print_json(document)


@app.command("create")
def create(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id.")],
    by: Annotated[str, typer.Option("--by", help="Who submits the case (audited).")],
    source: Annotated[str, typer.Option("--source")] = "manual",
    question: Annotated[
        str | None,
        typer.Option(
            "--question",
            help="By hand: diagnosis, bta, radiotherapy, "
            "surgery_intervention, onj, pain, other (default: from MDT-01).",
        ),
    ] = None,
    text: Annotated[str, typer.Option("--text", help="The question in words.")] = "",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The referral day (default today).")
    ] = None,
) -> None:
    """A case in one step, from the patient's MDT-01 finding or by hand (JSON)."""
    from bonepath.api import mdt_service as svc
    from bonepath.mdt import QuestionType

    chosen = None
    if question is not None:
        if question not in {q.value for q in QuestionType}:
            _refuse(
                [
                    Problem(
                        "--question",
                        "UNKNOWN_CODE",
                        f"unknown question {question!r}",
                        tuple(q.value for q in QuestionType),
                    )
                ]
            )
        chosen = QuestionType(question)
    day = _day(as_of, "--as-of") or dt.date.today()
    principal = _principal(by)
    try:
        with _store() as store:
            made = svc.create_case(
                store,
                principal,
                source,
                patient,
                today=day,
                question=chosen,
                question_text=text,
                from_finding=chosen is None,
                client="cli",
            )
            document = svc.case_json(svc.case_view(store, principal, made.id))
    except RecordRefused as exc:
        _refuse(exc.problems)
    except NotFound as exc:
        _refuse([Problem("--patient", "NOT_FOUND", str(exc))])
    except BonepathError as exc:
        _fail("create", exc)
    _print_json(document)


@app.command("meetings")
def meetings(
    date_from: Annotated[str | None, typer.Option("--from")] = None,
    date_to: Annotated[str | None, typer.Option("--to")] = None,
) -> None:
    """The meetings (JSON), by date, with their planned attendance and cases."""
    from bonepath.store import mdt as repo

    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    try:
        with _store() as store:
            found = repo.list_meetings(store.engine, date_from=start, date_to=end)
    except BonepathError as exc:
        _fail("meetings", exc)
    _print_json({"meetings": [m.to_json() for m in found]})


@app.command("tasks")
def tasks(
    role: Annotated[str | None, typer.Option("--role", help="Owner role.")] = None,
    hospital: Annotated[list[str] | None, typer.Option("--hospital")] = None,
    status: Annotated[str, typer.Option("--status", help="open, done or all.")] = "open",
    as_of: Annotated[str | None, typer.Option("--as-of", help="For 'overdue'.")] = None,
) -> None:
    """The tasks decisions gave their owners (JSON), by due date, with ``overdue``."""
    from bonepath.mdt import TaskStatus
    from bonepath.store import mdt as repo

    if status not in ("open", "done", "all"):
        _refuse([Problem("--status", "UNKNOWN_CODE", status, ("open", "done", "all"))])
    day = _day(as_of, "--as-of") or dt.date.today()
    try:
        with _store() as store:
            found = repo.list_tasks(
                store.engine,
                owner_role=role,
                hospitals=tuple(hospital) if hospital else None,
                status=None if status == "all" else TaskStatus(status),
            )
    except BonepathError as exc:
        _fail("tasks", exc)
    _print_json({"tasks": [t.to_json() | {"overdue": t.overdue(day)} for t in found]})


@app.command("responsibilities")
def responsibilities(
    format: Annotated[Format, typer.Option("--format")] = Format.TABLE,  # noqa: A002
) -> None:
    """The responsibility table (责任分工表) in force."""
    from bonepath.store import mdt as repo

    try:
        with _store() as store:
            rows = repo.responsibility_table(store.engine)
    except BonepathError as exc:
        _fail("responsibilities", exc)
    if format is Format.JSON:
        _print_json({"rows": [r.to_json() for r in rows]})
        return
    _table(
        "MDT responsibility table",
        ("decision", "task", "owner", "days", "zh"),
        [(r.decision.value, r.task, r.owner, r.due_days, r.title_zh) for r in rows],
    )
