"""The demo's MDT has a case in every state (issue 16 item 6), made through the services."""

from __future__ import annotations

from pathlib import Path

from bonepath.cli.demo_mdt import demo_mdt
from bonepath.engine.evaluate import evaluate_many
from bonepath.mdt import CaseState
from bonepath.store import mdt as repo
from bonepath.store.repository import open_store

from .support import REFERRAL_DAY, SUSPECTED, UNSTABLE, record


def test_the_demo_has_a_case_in_every_state(tmp_path: Path) -> None:
    records = [record(SUSPECTED, id=f"S{i}") for i in range(5)]
    records += [record(UNSTABLE, id=f"U{i}") for i in range(4)]
    with open_store(f"sqlite:///{tmp_path / 'demo.sqlite3'}") as store:
        store.upsert_records(records, import_source="demo")
        evaluations = evaluate_many([(r, REFERRAL_DAY) for r in records])
        counts = demo_mdt(store, REFERRAL_DAY, evaluations)
        assert set(counts) == {s.value for s in CaseState}
        assert counts["proposed"] == 3 and counts["scheduled"] == 2
        implemented = repo.list_cases(store.engine, states=[CaseState.IMPLEMENTED])[0]
        assert repo.list_tasks(store.engine, case_id=implemented.id)
        assert all(
            t.status.value == "done" for t in repo.list_tasks(store.engine, case_id=implemented.id)
        )
        # a second run changes nothing
        assert demo_mdt(store, REFERRAL_DAY, evaluations) == counts
