"""Shared scenario pieces: the small registry in a store, recipients, the day's clock."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from bonepath.population.registry import RegistryEvaluation, evaluate_registry
from bonepath.reminders.channels import ChannelRegistry
from bonepath.reminders.mail import DeliveredLookup, SmtpAdapter
from bonepath.reminders.sms import SpoolSmsAdapter
from bonepath.store.repository import Store
from bonepath.store.tasks import delivery_attempts, reminder_messages
from population.support import AS_OF, small_registry_records, stored

NOW = dt.datetime(2026, 9, 30, 7, 0, tzinfo=dt.UTC)
"""The job's clock on AS_OF (2026-09-30): 07:00 UTC, 15:00 in Beijing."""
SENDER = "bonepath@h01.example"
NURSE_H01 = "nurse-station@h01.example"

# On AS_OF, hospital H01 has P0001 of his-a (denosumab 37 days overdue: ADH-02 + ADH-03, due
# 2026-08-24); H02 has P0002 of his-a (SAFE-05 hold, SAFE-14) and P0001 of his-b (ADH-02).
H01_ADH_TASKS = {("his-a", "P0001", "ADH-02"), ("his-a", "P0001", "ADH-03")}


def registry_store(url: str) -> Store:
    """A store holding the five patients of tests/population/support.py."""
    return stored(url, small_registry_records())


def evaluated(store: Store, day: dt.date = AS_OF) -> RegistryEvaluation:
    return evaluate_registry(store, day)


def email_channels(
    host: str, port: int, delivered: DeliveredLookup | None = None, spool: Path | None = None
) -> ChannelRegistry:
    channels = ChannelRegistry()
    channels.register(SmtpAdapter(host, port, SENDER, timeout_s=10, delivered=delivered))
    if spool is not None:
        channels.register(SpoolSmsAdapter(spool))
    return channels


def message_states(store: Store) -> dict[str, int]:
    m = reminder_messages
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.c.state)).scalars().all()
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


def message_keys(store: Store) -> dict[str, str]:
    """idempotency key -> state, of every outbox message."""
    m = reminder_messages
    with store.engine.connect() as conn:
        return {str(k): str(s) for k, s in conn.execute(select(m.c.idempotency_key, m.c.state))}


def attempt_outcomes(store: Store) -> list[tuple[int, int, str | None]]:
    """(message id, attempt, outcome) of every delivery attempt, in order."""
    a = delivery_attempts
    with store.engine.connect() as conn:
        rows = conn.execute(select(a.c.message_id, a.c.attempt, a.c.outcome).order_by(a.c.id))
        return [(int(m), int(n), o) for m, n, o in rows]


@dataclass
class SmtpJournal:
    """Every message the server accepted, in arrival order (thread-safe)."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 refused by the test"
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def has(self, message_id: str) -> bool:
        return message_id in self.message_ids()


@dataclass
class SmtpServer:
    host: str
    port: int
    journal: SmtpJournal
    controller: Controller


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that journals every message it accepts."""
    journal = SmtpJournal()
    port = _free_port()
    controller = Controller(journal, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, journal, controller)
    finally:
        controller.stop()
