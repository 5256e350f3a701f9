"""The whole job once: evaluate, tasks and outbox, delivery; each run recorded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from bonepath.reminders import ChannelRegistry, add_recipient, run_reminders
from bonepath.reminders.sms import SpoolSmsAdapter
from bonepath.store.repository import Store
from bonepath.store.tasks import reminder_runs
from population.support import AS_OF
from reminders.support import NOW


def test_runs_are_recorded_and_a_second_run_queues_nothing(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    add_recipient(store, "sms", "+8613800000000", patient=("his-a", "P0001"), now=NOW)
    channels = ChannelRegistry()
    channels.register(SpoolSmsAdapter(tmp_path))
    first = run_reminders(store, AS_OF, channels, now=NOW).to_json()
    second = run_reminders(store, AS_OF, channels, now=NOW).to_json()
    assert first["patients"] == 5 and first["messages_queued"] == 2
    assert first["delivery"]["sent"] == 2
    assert second["tasks"]["opened"] == 0 and second["messages_queued"] == 0
    assert second["delivery"]["sent"] == 0
    assert second["tasks"]["open"] == first["tasks"]["opened"]
    with store.engine.connect() as conn:
        runs = conn.execute(
            select(
                reminder_runs.c.as_of,
                reminder_runs.c.finished_at,
                reminder_runs.c.tasks_opened,
                reminder_runs.c.messages_sent,
            ).order_by(reminder_runs.c.id)
        ).all()
    assert [(r[0], r[1], r[3]) for r in runs] == [(AS_OF, NOW, 2), (AS_OF, NOW, 0)]
    assert runs[0][2] == first["tasks"]["opened"] > 0


def test_go_live_without_messages_then_new_due_events_are_messaged(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    add_recipient(store, "sms", "+8613800000000", patient=("his-a", "P0001"), now=NOW)
    channels = ChannelRegistry()
    channels.register(SpoolSmsAdapter(tmp_path))
    # go-live on 08-21: the ADH-01 reminder (due 08-24) is a task, but nobody is messaged
    backlog = run_reminders(store, dt.date(2026, 8, 21), channels, queue_messages=False)
    assert backlog.sync.opened > 0 and backlog.sync.messages_queued == 0
    assert list(tmp_path.glob("*.json")) == []
    # 08-25: the overdue alert (ADH-02) is a new due event, messaged as usual
    later = run_reminders(store, dt.date(2026, 8, 25), channels)
    assert later.sync.messages_queued == 1
    [sms] = tmp_path.glob("*.json")
    assert "2026-08-24到期" in sms.read_text(encoding="utf-8")
