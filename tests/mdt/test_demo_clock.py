"""Walk of ``bonepath demo`` (2026-12): the demo's day is pinned but the MDT case history,
meetings and tasks its seeding stored were stamped with the real date (2026-12-07 on a demo
dated 2026-11-01). Each step is now stamped on its day in the story (bonepath.clock)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bonepath.cli.demo_mdt import demo_mdt
from bonepath.clock import ZONE
from bonepath.engine.evaluate import evaluate_many
from bonepath.mdt import CaseState
from bonepath.store import mdt as repo
from bonepath.store.repository import open_store

from .support import REFERRAL_DAY, SUSPECTED, UNSTABLE, record

DEMO_DAY = REFERRAL_DAY  # 2026-10-21: past, so never the real day the test runs on


def _day(at: dt.datetime) -> dt.date:
    return at.astimezone(ZONE).date()


def test_the_demo_mdt_seeding_stamps_on_the_demo_day_not_the_real_date(tmp_path: Path) -> None:
    records = [record(SUSPECTED, id=f"S{i}") for i in range(5)]
    records += [record(UNSTABLE, id=f"U{i}") for i in range(4)]
    submitted, discussed = DEMO_DAY - dt.timedelta(days=12), DEMO_DAY - dt.timedelta(days=7)
    with open_store(f"sqlite:///{tmp_path / 'demo.sqlite3'}") as store:
        store.upsert_records(records, import_source="demo")
        demo_mdt(store, DEMO_DAY, evaluate_many([(r, DEMO_DAY) for r in records]))
        cases = repo.list_cases(store.engine)
        assert cases
        first = {_day(repo.case_history(store.engine, c.id)[0]["at"]) for c in cases}
        assert first == {submitted}, first
        implemented = repo.list_cases(store.engine, states=[CaseState.IMPLEMENTED])[0]
        history = repo.case_history(store.engine, implemented.id)
        by_state = {h["to"]: _day(h["at"]) for h in history}
        assert by_state["proposed"] == submitted and by_state["scheduled"] == submitted
        assert by_state["discussed"] == discussed and by_state["decided"] == discussed
        assert by_state["implemented"] == DEMO_DAY
        tasks = repo.list_tasks(store.engine, case_id=implemented.id)
        assert tasks and {_day(t.done_at) for t in tasks if t.done_at} == {DEMO_DAY}
        withdrawn = repo.list_cases(store.engine, states=[CaseState.WITHDRAWN])[0]
        assert {_day(h["at"]) for h in repo.case_history(store.engine, withdrawn.id)} <= {
            submitted,
            DEMO_DAY,
        }
