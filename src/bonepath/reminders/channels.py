"""Channel adapters: the one interface every way of sending a reminder implements.

An adapter turns an :class:`OutgoingMessage` (already rendered, with its idempotency key) into
a delivery and says so with a :class:`DeliveryReceipt`::

    class ChannelAdapter(Protocol):
        name: str                                           # "email", "sms", "wechat", …
        def send(self, message) -> DeliveryReceipt: ...      # deliver, or raise DeliveryError
        def lookup(self, message) -> DeliveryReceipt | None: ...  # did this key arrive before?

Contract (docs/reminders.md):

- ``send`` raises :class:`~bonepath.errors.DeliveryFailed` when nothing left (connection
  refused, recipient refused) and :class:`~bonepath.errors.DeliveryUncertain` when the message
  may have left; any other exception is treated as uncertain too.
- ``send`` passes ``message.idempotency_key`` to the receiving side where it can deduplicate
  (the e-mail ``Message-ID``, WeChat's ``client_msg_id``, the SMS vendor's out-id), so a
  message sent twice after a crash arrives once at a receiver that deduplicates.
- ``lookup`` answers "was this key already delivered?" from the receiving side when the
  channel can tell (a spool file, a vendor's status query); ``None`` means "not delivered or
  cannot tell". Reconciliation calls it before sending a message whose earlier attempt was cut
  off.

:class:`ChannelRegistry` holds the adapters of a run by name. The spool adapters (SMS, WeChat)
write each message as one JSON file named by its key into a directory (atomically), which a
gateway process — or a test — picks up; a vendor HTTP client is another adapter behind the
same interface.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from bonepath.errors import ConfigError, DeliveryUncertain


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message of the outbox, as an adapter sees it (content fixed when it was queued)."""

    id: int
    idempotency_key: str
    channel: str
    address: str
    lang: str
    audience: str
    subject: str
    body: str
    payload: Mapping[str, Any] | None
    rule: str
    due: dt.date | None
    task_id: int


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What a channel says about a delivered message.

    ``reference`` is the channel's name for it (the e-mail Message-ID, the spool file name, a
    vendor's message id); ``confirmed_by_lookup`` marks a receipt that reconciliation obtained
    from :meth:`ChannelAdapter.lookup` rather than from a send.
    """

    channel: str
    idempotency_key: str
    reference: str
    accepted_at: dt.datetime
    confirmed_by_lookup: bool = False


@runtime_checkable
class ChannelAdapter(Protocol):
    """A way of delivering reminders (see the module docstring for the contract)."""

    name: str

    def send(self, message: OutgoingMessage) -> DeliveryReceipt: ...

    def lookup(self, message: OutgoingMessage) -> DeliveryReceipt | None: ...


@dataclass
class ChannelRegistry:
    """The adapters of one run, by channel name."""

    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)

    def register(self, adapter: ChannelAdapter) -> None:
        if not isinstance(adapter, ChannelAdapter):
            raise ConfigError(f"{adapter!r} does not implement ChannelAdapter")
        self.adapters[adapter.name] = adapter

    def get(self, name: str) -> ChannelAdapter | None:
        return self.adapters.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.adapters))

    def __iter__(self) -> Iterator[ChannelAdapter]:
        return iter(self.adapters.values())


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SpoolDirectory:
    """A directory of delivered messages, one ``<idempotency key>.json`` file each.

    A file is written to a temporary name and renamed into place (atomic on one file system),
    so a reader sees a whole message or none, and writing the same key twice leaves one file:
    the spool is its own deduplicating receiver.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def write(self, key: str, document: Mapping[str, Any]) -> Path:
        target = self.path_of(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            raise DeliveryUncertain(f"writing {target} failed: {exc}") from exc
        return target

    def read(self, key: str) -> dict[str, Any] | None:
        path = self.path_of(key)
        if not path.is_file():
            return None
        document: dict[str, Any] = orjson.loads(path.read_bytes())
        return document

    def accepted_at(self, key: str) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.path_of(key).stat().st_mtime, dt.UTC)
