"""`bonepath demo`: the main job for a new user.

Generates a seeded synthetic cohort, imports it into the configured store (the embedded SQLite
file by default), evaluates every patient by the guideline on the cohort's day and prints the
worklist summary: what is due, overdue or unsafe, by rule, most urgent first. (The web
application will be served from here once it exists.)
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from platformdirs import user_data_dir
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath.cli.evaluate_cmd import Language


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        patients: Annotated[int, typer.Option("--patients", min=1, max=100_000)] = 2000,
        seed: Annotated[int, typer.Option("--seed")] = 2024,
        lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
    ) -> None:
        """Synthetic cohort -> store -> guideline evaluation -> worklist summary."""
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
            title=(f"工作清单汇总 · {as_of} · {len(records)} 名患者" if zh else f"Worklist summary · {as_of} · {len(records)} patients"),
        )
        for col in ("规则", "内容", "患者数") if zh else ("Rule", "What", "Patients"):
            table.add_column(col)
        for rule_id, count in by_rule.most_common(20):
            table.add_row(rule_id, escape(titles[rule_id]), str(count))
        console.print(table)
        urgent.sort(key=lambda pair: pair[0].urgency_key())
        top = Table(title="最紧急的10项" if zh else "Ten most urgent items")
        for col in ("患者", "规则", "紧急程度", "截止", "内容") if zh else ("Patient", "Rule", "Severity", "Due", "What"):
            top.add_column(col)
        for f, patient in urgent[:10]:
            top.add_row(
                patient, f.rule, f.severity.value, f.due.isoformat() if f.due else "—", escape(f.title(lang.value))
            )
        console.print(top)
        sys.stdout.flush()
