"""Benchmark the reminder job's own steps on a stored synthetic registry.

Usage::

    .venv/bin/python bench/remind_bench.py [--patients 10000] [--seed 0] \\
        [--as-of 2026-11-01] [--db sqlite postgresql] [--pg-url URL]

The store is the one of ``bench/registry_bench.py`` (imported once by ``bonepath import``,
reused); the reminder tables are emptied first. One staff SMS recipient per hospital takes the
ADH and SAFE tasks (messages to a spool directory, so the sender's own cost is measured, not a
mail server's). Timed, in one process:

1. evaluate the registry as of the day (the backend ``bonepath remind`` chooses);
2. ``sync_tasks`` of that evaluation into an empty task table (every task and message new);
3. ``deliver`` every queued message (claims 50 per write transaction, then per message the
   spool write + fsync and the record, one transaction);
4. ``sync_tasks`` of the same evaluation again (nothing new: the idempotent rerun);
5. evaluate the next day and ``sync_tasks`` it (the daily steady state).

The last lines are the Markdown rows of the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_bench import DEFAULT_PG_URL, _prepare  # noqa: E402


def _clear(store: Any) -> None:
    from sqlalchemy import delete

    from bonepath.store.db import write_transaction
    from bonepath.store.tasks import REMINDER_TABLES

    with write_transaction(store.engine) as conn:
        for table in reversed(REMINDER_TABLES):
            conn.execute(delete(table))


def _run(url: str, as_of: dt.date, batch: int) -> dict[str, Any]:
    from sqlalchemy import select

    from bonepath.population.registry import evaluate_registry
    from bonepath.reminders import ChannelRegistry, add_recipient, deliver, sync_tasks
    from bonepath.reminders.sms import SpoolSmsAdapter
    from bonepath.store.repository import open_store
    from bonepath.store.schema import patients

    store = open_store(url)
    backend = "postgres" if store.engine.dialect.name == "postgresql" else "duckdb"
    _clear(store)
    with store.engine.connect() as conn:
        hospitals = list(conn.execute(select(patients.c.hospital_id).distinct()).scalars())
    for hospital in hospitals:
        add_recipient(store, "sms", f"+86-{hospital}", hospital=hospital, rules=["ADH", "SAFE"])
    row: dict[str, Any] = {"database": store.engine.dialect.name, "backend": backend}

    start = time.perf_counter()
    registry = evaluate_registry(store, as_of, backend=backend)
    row["evaluate_s"] = time.perf_counter() - start
    row["patients"] = len(registry.patients)
    row["findings"] = registry.finding_count

    start = time.perf_counter()
    first = sync_tasks(store, registry)
    row["sync_first_s"] = time.perf_counter() - start
    row["tasks"] = first.opened
    row["messages"] = first.messages_queued

    channels = ChannelRegistry()
    with tempfile.TemporaryDirectory() as spool:
        channels.register(SpoolSmsAdapter(Path(spool)))
        start = time.perf_counter()
        report = deliver(store, channels, batch=batch)
        row["deliver_s"] = time.perf_counter() - start
        row["sent"] = len(report.sent)

    start = time.perf_counter()
    again = sync_tasks(store, registry)
    row["sync_again_s"] = time.perf_counter() - start
    assert again.opened == 0 and again.messages_queued == 0

    start = time.perf_counter()
    next_day = evaluate_registry(store, as_of + dt.timedelta(days=1), backend=backend)
    row["evaluate_next_s"] = time.perf_counter() - start
    start = time.perf_counter()
    daily = sync_tasks(store, next_day)
    row["sync_next_s"] = time.perf_counter() - start
    row["next_opened"], row["next_closed"] = daily.opened, daily.closed
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument(
        "--batch", type=int, default=50, help="messages claimed per transaction (deliver)"
    )
    args = parser.parse_args()
    rows = []
    for database in args.db:
        url = _prepare(database, args.patients, args.seed, args.pg_url, False)
        row = _run(url, args.as_of, args.batch)
        print(row, flush=True)
        rows.append(row)
    for r in rows:
        print(
            f"| {r['database']} ({r['backend']}) | {r['patients']:,} | {r['tasks']:,} | "
            f"{r['messages']:,} | {r['evaluate_s']:.1f} | {r['sync_first_s']:.1f} | "
            f"{r['deliver_s']:.1f} ({r['sent'] / r['deliver_s']:.0f}/s) | "
            f"{r['sync_again_s']:.1f} | {r['sync_next_s']:.1f} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
