"""The reminder job (``bonepath remind``): evaluate, synchronize tasks and outbox, deliver.

1. :func:`~bonepath.population.registry.evaluate_registry` as of the day (the same one-pass
   evaluation as ``bonepath worklist``);
2. :func:`~bonepath.reminders.tasks.sync_tasks`: tasks and queued messages, one transaction;
3. :func:`~bonepath.reminders.outbox.deliver`: reconcile expired claims, then send.

Every step may run twice at once or be cut off anywhere; the tables make each due event one
task and each (task, recipient) one delivered message (docs/reminders.md). A run is recorded in
``reminder_runs`` (``finished_at`` stays NULL when it was cut off).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update

from bonepath.population.registry import Backend, evaluate_registry
from bonepath.reminders.channels import ChannelRegistry
from bonepath.reminders.outbox import DEFAULT_LEASE, DeliveryReport, deliver
from bonepath.reminders.tasks import SyncResult, sync_tasks
from bonepath.store.db import write_transaction
from bonepath.store.repository import Store
from bonepath.store.tasks import reminder_runs


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run did."""

    run_id: int
    sync: SyncResult
    delivery: DeliveryReport | None

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "as_of": self.sync.as_of.isoformat(),
            "patients": self.sync.patients,
            "tasks": {
                "opened": self.sync.opened,
                "reopened": self.sync.reopened,
                "closed_resolved_by_record": self.sync.closed - self.sync.superseded,
                "closed_superseded": self.sync.superseded,
                "open": self.sync.open_after,
            },
            "messages_queued": self.sync.messages_queued,
            "delivery": None if self.delivery is None else self.delivery.to_json(),
        }


def run_reminders(
    store: Store,
    as_of: dt.date,
    channels: ChannelRegistry,
    *,
    backend: Backend = "duckdb",
    hospitals: Collection[str] = (),
    send: bool = True,
    queue_messages: bool = True,
    only: Collection[str] = (),
    now: dt.datetime | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> RunReport:
    """Run the whole job once as of ``as_of`` (see the module docstring).

    ``send=False`` queues without delivering; ``queue_messages=False`` opens tasks without
    queuing messages for them (:func:`~bonepath.reminders.tasks.sync_tasks`).
    """
    started = now or dt.datetime.now(dt.UTC)
    with write_transaction(store.engine) as conn:
        run_id = int(
            conn.execute(
                insert(reminder_runs)
                .values(
                    as_of=as_of,
                    started_at=started,
                    patients=0,
                    tasks_opened=0,
                    tasks_reopened=0,
                    tasks_closed=0,
                    messages_queued=0,
                    messages_sent=0,
                    messages_failed=0,
                )
                .returning(reminder_runs.c.id)
            ).scalar_one()
        )
    registry = evaluate_registry(store, as_of, backend=backend, hospitals=hospitals)
    result = sync_tasks(store, registry, now=now, queue_messages=queue_messages)
    report = deliver(store, channels, only=only, now=now, lease=lease) if send else None
    with write_transaction(store.engine) as conn:
        conn.execute(
            update(reminder_runs)
            .where(reminder_runs.c.id == run_id)
            .values(
                finished_at=dt.datetime.now(dt.UTC) if now is None else now,
                patients=result.patients,
                tasks_opened=result.opened,
                tasks_reopened=result.reopened,
                tasks_closed=result.closed,
                messages_queued=result.messages_queued,
                messages_sent=0
                if report is None
                else len(report.sent) + len(report.confirmed_by_lookup),
                messages_failed=0 if report is None else len(report.failed),
            )
        )
    return RunReport(run_id, result, report)
