"""`bonepath demo`: the main job for a new user.

Generates a seeded synthetic cohort, imports it into the configured store (the embedded SQLite
file by default), evaluates every patient by the guideline on the cohort's day and prints the
worklist summary: what is due, overdue or unsafe, by rule, most urgent first; then creates one
demo account per role (fresh passwords each run), prints the logins and the URL, and serves the
web application with its clock pinned to the cohort's day (``--no-serve`` stops before that).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from platformdirs import user_data_dir
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath import clock
from bonepath.cli.demo_mdt import demo_mdt
from bonepath.cli.demo_network import demo_network
from bonepath.cli.evaluate_cmd import _LABELS, Language

if TYPE_CHECKING:
    from bonepath.store.repository import Store


DEMO_ROLES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("clinician", ("*",)),
    ("nurse", ("H01", "H02")),
    ("mdt_coordinator", ("*",)),
    ("quality_manager", ("*",)),
    ("admin", ("*",)),
)
"""One demo account per role (``demo-<role>``); the nurse sees two hospitals only, to show
tenancy, the others every hospital."""


MDT_STATES_ZH: Final = {
    "proposed": "待安排",
    "scheduled": "已排会",
    "discussed": "已讨论",
    "decided": "已决定",
    "implemented": "已执行",
    "withdrawn": "已撤回",
}
"""The MDT case states as the web pages name them in Chinese (web/mdt_pages.STATE_LABELS)."""


def mdt_line(counts: dict[str, int], zh: bool) -> str:
    """``MDT病例：已决定 1、已讨论 1`` (``MDT cases: decided 1, discussed 1``)."""
    if zh:
        shown = [(MDT_STATES_ZH.get(state, state), n) for state, n in sorted(counts.items())]
        return "MDT病例：" + "、".join(f"{state} {n}" for state, n in shown)
    return "MDT cases: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))


def demo_accounts(store: Store) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo accounts; returns (user name, role, password) each."""
    from bonepath.errors import InputError
    from bonepath.store import accounts

    logins = []
    for role, hospitals in DEMO_ROLES:
        username = f"demo-{role.replace('_', '-')}"
        password = secrets.token_urlsafe(9)
        try:
            accounts.create_user(store.engine, username, password, role, hospitals)
        except InputError:  # a previous demo run created it: new password
            accounts.set_password(store.engine, username, password)
        logins.append((username, role, password))
    return logins


def demo_tasks(store: Store, as_of: dt.date) -> int:
    """The reminder job's task step once (``bonepath remind`` without sending, issue 15): the
    demo's nurses find follow-up tasks to close. Returns the tasks opened."""
    from bonepath.population.registry import evaluate_registry
    from bonepath.reminders.tasks import sync_tasks

    registry = evaluate_registry(store, as_of)
    return sync_tasks(store, registry, queue_messages=False).opened


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        patients: Annotated[int, typer.Option("--patients", min=1, max=100_000)] = 2000,
        seed: Annotated[int, typer.Option("--seed")] = 2024,
        lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
        serve: Annotated[
            bool,
            typer.Option("--serve/--no-serve", help="Serve the web application afterwards."),
        ] = True,
        host: Annotated[str | None, typer.Option("--host")] = None,
        port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
    ) -> None:
        """Synthetic cohort -> store -> worklist summary -> demo accounts -> web application."""
        from bonepath.engine.evaluate import evaluate_many
        from bonepath.engine.findings import Finding
        from bonepath.interop.importer import import_paths
        from bonepath.settings import Settings
        from bonepath.store.repository import open_store
        from bonepath.synth import DEFAULT_PARAMS, CohortSpec, write_cohort

        console = Console(stderr=False, width=140)
        settings = Settings()
        as_of: dt.date = DEFAULT_PARAMS.cohort.default_as_of
        cohort = Path(user_data_dir("bonepath", appauthor=False)) / f"demo-{seed}-{patients}.ndjson"
        cohort.parent.mkdir(parents=True, exist_ok=True)
        if not cohort.exists():
            write_cohort(CohortSpec(patients=patients, seed=seed, as_of=as_of), cohort)
        console.print(f"store: {escape(settings.database_url)}")
        with open_store(settings.database_url) as store:
            report = import_paths(store, [cohort], today=as_of)
            console.print(
                f"import: imported {report.imported}, updated {report.updated}, "
                f"unchanged {report.unchanged}, refused {report.refused}"
            )
            records = list(store.iter_records())
        evaluations = evaluate_many([(r, as_of) for r in records])
        by_rule: Counter[str] = Counter()
        titles: dict[str, str] = {}
        urgent: list[tuple[Finding, str]] = []
        for ev in evaluations:
            for f in ev.findings:
                by_rule[f.rule] += 1
                titles[f.rule] = f.title(lang.value)
                if f.kind.value in ("action", "alert", "reminder"):
                    urgent.append((f, ev.patient))
        zh = lang is Language.ZH
        table = Table(
            title=(
                f"工作清单汇总 · {as_of} · {len(records)} 名患者"
                if zh
                else f"Worklist summary · {as_of} · {len(records)} patients"
            ),
        )
        for col in ("规则", "内容", "患者数") if zh else ("Rule", "What", "Patients"):
            table.add_column(col)
        for rule_id, count in by_rule.most_common(20):
            table.add_row(rule_id, escape(titles[rule_id]), str(count))
        console.print(table)
        urgent.sort(key=lambda pair: pair[0].urgency_key())
        top = Table(title="最紧急的10项" if zh else "Ten most urgent items")
        for col in (
            ("患者", "规则", "紧急程度", "截止", "内容")
            if zh
            else ("Patient", "Rule", "Severity", "Due", "What")
        ):
            top.add_column(col)
        for f, patient in urgent[:10]:
            top.add_row(
                patient,
                f.rule,
                str(_LABELS[lang.value]["severities"][f.severity.value]),  # type: ignore[index]
                f.due.isoformat() if f.due else "—",
                escape(f.title(lang.value)),
            )
        console.print(top)
        # what the seeding stores is stamped on the demo's day, not the real date (bonepath.clock)
        with open_store(settings.database_url) as store, clock.on_day(as_of):
            logins = demo_accounts(store)
            logins += demo_network(store)  # regional MDT network: centre + two counties
            mdt_cases = demo_mdt(store, as_of, evaluations)  # MDT cases in every state
            opened = demo_tasks(store, as_of)
        console.print(
            f"随访任务：已同步一次（新开 {opened} 项，不发送消息）"
            if zh
            else f"Follow-up tasks: synchronized once ({opened} opened, no message sent)"
        )
        console.print(mdt_line(dict(mdt_cases), zh))
        url = f"http://{host or settings.host}:{port or settings.port}/"
        console.print(
            "演示账号（每次运行重新生成密码）：" if zh else "Demo logins (new passwords each run):"
        )
        for username, role, password in logins:
            console.print(f"  {username:<22} {role:<16} {password}")
        console.print(
            f"{'网址' if zh else 'URL'}: {url}  ({'评估日期' if zh else 'as of'} {as_of})"
        )
        sys.stdout.flush()
        if serve:
            from bonepath.cli.serve_cmd import run_server

            # the demo's worklist is evaluated while the logins are read
            run_server(
                host or settings.host, port or settings.port, today=as_of, warm_worklists=True
            )
