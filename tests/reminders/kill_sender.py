"""Run the outbox sender in a real process that SIGKILLs itself right after the first send.

``python kill_sender.py STORE_URL SMTP_PORT NOW_ISO``: the first message goes through the real
SMTP adapter to the test's server; the moment the server has accepted it — before the outbox
records it — the process is killed (SIGKILL: no ``finally``, no rollback handler, no atexit).
Not a test module: ``tests/reminders/test_outbox.py`` starts it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys

from bonepath.reminders.channels import ChannelRegistry, DeliveryReceipt, OutgoingMessage
from bonepath.reminders.mail import SmtpAdapter
from bonepath.reminders.outbox import deliver
from bonepath.store.repository import open_store


class KilledAfterSend:
    """The real SMTP adapter; the process dies as soon as the server accepted the message."""

    name = "email"

    def __init__(self, adapter: SmtpAdapter) -> None:
        self.adapter = adapter

    def send(self, message: OutgoingMessage) -> DeliveryReceipt:
        self.adapter.send(message)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    def lookup(self, message: OutgoingMessage) -> DeliveryReceipt | None:
        return self.adapter.lookup(message)


def main() -> None:
    url, port, now = sys.argv[1], int(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3])
    channels = ChannelRegistry()
    channels.register(KilledAfterSend(SmtpAdapter("127.0.0.1", port, "bonepath@h01.example")))
    store = open_store(url)
    deliver(store, channels, now=now)


if __name__ == "__main__":
    main()
