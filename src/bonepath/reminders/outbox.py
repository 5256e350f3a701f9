"""The outbox sender: deliver each queued message once, surviving concurrency, crashes and kills.

States of a message (``reminder_messages.state``; docs/reminders.md draws the machine)::

    pending ──claim──▶ sending ──send ok, recorded──▶ sent
       ▲                 │ │
       │   DeliveryFailed│ └─lease expired (process died or hung)──▶ reconcile:
       └──(attempts left)┘       channel.lookup(key) finds it ──▶ sent   (not sent again)
                 │               else ──▶ pending (sent again with the same key)
                 └─(no attempts left)──▶ failed
    pending ──task closed──▶ cancelled

- **claim**: one short write transaction sets ``state = sending``, a random ``claim_token``
  and ``lease_until = now + lease`` — only ``WHERE state = 'pending'`` (or an expired
  ``sending`` being reconciled), so of two senders racing for a message exactly one gets it;
  the attempt is logged in ``delivery_attempts`` in the same transaction. Messages are
  claimed ``batch`` at a time (default :data:`CLAIM_BATCH`), each with its own token, in one
  transaction: one commit per batch instead of one per message. A message of the batch is sent
  only while at least half its lease remains (else it and the rest of the batch are handed
  back and claimed afresh), and when the run ends by an exception the batch's messages not yet
  handed to the channel are handed back at once (*unclaimed*: ``pending``, the attempt undone —
  nothing was sent). A process killed outright leaves them claimed until the lease expires;
  reconciliation then finds them not delivered and queues them again (sent once, late).
- **send** happens outside any transaction, carrying the message's idempotency key.
- **record**: ``state = sent`` only ``WHERE claim_token = <ours>``.
- ``DeliveryFailed`` (nothing left) returns the message to ``pending`` with a back-off, or to
  ``failed`` after ``max_attempts``. ``DeliveryUncertain`` — and any other exception, which
  also ends the run — leaves the claim in place: only reconciliation, after the lease, decides.
- **reconcile** runs first in every delivery: for each ``sending`` message whose lease expired
  it asks the adapter's ``lookup`` whether the key arrived; yes → ``sent`` without sending;
  no (or the channel cannot tell, like SMTP) → ``pending``, to be sent again with the same key.

The lease must outlast one send (SMTP timeout 60 s; lease default 300 s): a sender still
sending when its lease ran out could otherwise be reconciled under it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import SQLAlchemyError

from bonepath.errors import DeliveryFailed, DeliveryUncertain, StoreError
from bonepath.reminders.channels import ChannelRegistry, DeliveryReceipt, OutgoingMessage
from bonepath.store.bulk import DRIVER_ERRORS
from bonepath.store.db import write_transaction
from bonepath.store.repository import Store
from bonepath.store.tasks import delivery_attempts, reminder_messages, reminder_tasks

DEFAULT_LEASE: Final = dt.timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS: Final = 5
CLAIM_BATCH: Final = 50
"""Messages claimed per write transaction by :func:`deliver` (one commit for the batch)."""
BACKOFF: Final = dt.timedelta(minutes=2)
"""Wait before the next attempt after a refused one: BACKOFF × 2^(attempts − 1)."""

_ERRORS: Final[tuple[type[Exception], ...]] = (SQLAlchemyError, *DRIVER_ERRORS)
_m = reminder_messages


@dataclass
class DeliveryReport:
    """What one :func:`deliver` did (message ids)."""

    sent: list[int] = field(default_factory=list)
    confirmed_by_lookup: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    retry_later: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, int]:
        return {
            "sent": len(self.sent),
            "confirmed_by_lookup": len(self.confirmed_by_lookup),
            "requeued_after_lease": len(self.requeued),
            "retry_later": len(self.retry_later),
            "failed": len(self.failed),
            "uncertain": len(self.uncertain),
        }


def _engine(store: Store | Engine) -> Engine:
    return store.engine if isinstance(store, Store) else store


def _outgoing(row: RowMapping) -> OutgoingMessage:
    return OutgoingMessage(
        id=int(row["id"]),
        idempotency_key=row["idempotency_key"],
        channel=row["channel"],
        address=row["address"],
        lang=row["lang"],
        audience=row["audience"],
        subject=row["subject"],
        body=row["body"],
        payload=row["payload"],
        rule=row["rule"],
        due=row["due"],
        task_id=int(row["task_id"]),
    )


def _select_messages() -> Any:
    return select(_m, reminder_tasks.c.rule, reminder_tasks.c.due).join(
        reminder_tasks, reminder_tasks.c.id == _m.c.task_id
    )


def _finish_attempt(
    conn: Connection, message_id: int, token: str, now: dt.datetime, outcome: str, detail: str
) -> None:
    conn.execute(
        update(delivery_attempts)
        .where(
            delivery_attempts.c.message_id == message_id,
            delivery_attempts.c.claim_token == token,
        )
        .values(finished_at=now, outcome=outcome, detail=detail[:2000])
    )


def _claim(
    engine: Engine, message_ids: Sequence[int], now: dt.datetime, lease: dt.timedelta
) -> list[tuple[str, OutgoingMessage]]:
    """Claim the still-pending of ``message_ids`` for sending, in one write transaction.

    Returns ``(claim token, message)`` for each message this sender got, in the order given;
    a message another sender has (or that is gone or not yet due) is left out.
    """
    claimed: list[tuple[str, int]] = []
    with write_transaction(engine) as conn:
        for message_id in message_ids:
            token = secrets.token_hex(16)
            got = conn.execute(
                update(_m)
                .where(_m.c.id == message_id, _m.c.state == "pending", _m.c.not_before <= now)
                .values(
                    state="sending",
                    claim_token=token,
                    lease_until=now + lease,
                    attempts=_m.c.attempts + 1,
                )
            ).rowcount
            if got == 1:
                claimed.append((token, message_id))
        if not claimed:
            return []
        rows = {
            int(row["id"]): row
            for row in conn.execute(
                _select_messages().where(_m.c.id.in_([message_id for _, message_id in claimed]))
            ).mappings()
        }
        conn.execute(
            insert(delivery_attempts),
            [
                {
                    "message_id": message_id,
                    "attempt": rows[message_id]["attempts"],
                    "claim_token": token,
                    "claimed_at": now,
                }
                for token, message_id in claimed
            ],
        )
    return [(token, _outgoing(rows[message_id])) for token, message_id in claimed]


def _unclaim(engine: Engine, claims: Sequence[tuple[str, OutgoingMessage]]) -> None:
    """Hand back claimed messages that were never given to a channel: the claim is undone."""
    if not claims:
        return
    with write_transaction(engine) as conn:
        for token, message in claims:
            undone = conn.execute(
                update(_m)
                .where(_m.c.id == message.id, _m.c.claim_token == token, _m.c.state == "sending")
                .values(
                    state="pending",
                    claim_token=None,
                    lease_until=None,
                    attempts=_m.c.attempts - 1,
                )
            ).rowcount
            if undone == 1:
                conn.execute(
                    delete(delivery_attempts).where(
                        delivery_attempts.c.message_id == message.id,
                        delivery_attempts.c.claim_token == token,
                    )
                )


def _record_sent(
    engine: Engine, message: OutgoingMessage, token: str, receipt: DeliveryReceipt, now: dt.datetime
) -> bool:
    with write_transaction(engine) as conn:
        done = conn.execute(
            update(_m)
            .where(_m.c.id == message.id, _m.c.claim_token == token, _m.c.state == "sending")
            .values(
                state="sent",
                sent_at=receipt.accepted_at,
                receipt_ref=receipt.reference,
                lease_until=None,
                last_error=None,
            )
        ).rowcount
        outcome = "confirmed" if receipt.confirmed_by_lookup else "sent"
        _finish_attempt(conn, message.id, token, now, outcome, receipt.reference)
    return done == 1


def _release(
    engine: Engine,
    message: OutgoingMessage,
    token: str,
    now: dt.datetime,
    error: str,
    max_attempts: int,
) -> str:
    """Return a refused message to ``pending`` with a back-off, or mark it ``failed``."""
    with write_transaction(engine) as conn:
        attempts = conn.execute(select(_m.c.attempts).where(_m.c.id == message.id)).scalar_one()
        state = "failed" if attempts >= max_attempts else "pending"
        conn.execute(
            update(_m)
            .where(_m.c.id == message.id, _m.c.claim_token == token, _m.c.state == "sending")
            .values(
                state=state,
                claim_token=None,
                lease_until=None,
                not_before=now + BACKOFF * (2 ** max(attempts - 1, 0)),
                last_error=error[:2000],
            )
        )
        _finish_attempt(conn, message.id, token, now, "refused", error)
    return state


def reconcile(
    store: Store | Engine,
    channels: ChannelRegistry,
    *,
    now: dt.datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    report: DeliveryReport | None = None,
) -> DeliveryReport:
    """Settle every ``sending`` message whose lease has expired (module docstring)."""
    engine = _engine(store)
    moment = now or dt.datetime.now(dt.UTC)
    report = report if report is not None else DeliveryReport()
    with engine.connect() as conn:
        expired = list(
            conn.execute(
                _select_messages().where(
                    _m.c.state == "sending",
                    _m.c.lease_until < moment,
                    _m.c.channel.in_(channels.names()),
                )
            ).mappings()
        )
    for row in expired:
        message = _outgoing(row)
        token = row["claim_token"]
        adapter = channels.get(message.channel)
        if adapter is None:
            continue
        receipt = adapter.lookup(message)
        if receipt is not None:
            if _record_sent(engine, message, token, receipt, moment):
                report.confirmed_by_lookup.append(message.id)
            continue
        state = "failed" if row["attempts"] >= max_attempts else "pending"
        with write_transaction(engine) as conn:
            changed = conn.execute(
                update(_m)
                .where(_m.c.id == message.id, _m.c.claim_token == token, _m.c.state == "sending")
                .values(
                    state=state,
                    claim_token=None,
                    lease_until=None,
                    not_before=moment,
                    last_error="lease expired without a recorded outcome; the channel cannot "
                    "confirm delivery: sending again with the same idempotency key",
                )
            ).rowcount
            if changed == 1:
                _finish_attempt(
                    conn, message.id, token, moment, "lease_expired", "not confirmed by channel"
                )
        if changed == 1:
            (report.failed if state == "failed" else report.requeued).append(message.id)
    return report


def deliver(
    store: Store | Engine,
    channels: ChannelRegistry,
    *,
    only: Collection[str] = (),
    now: dt.datetime | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    limit: int | None = None,
    batch: int = CLAIM_BATCH,
) -> DeliveryReport:
    """Reconcile, then send every due pending message of the channels in ``channels``
    (``only``: of these channel names), oldest first, claiming ``batch`` at a time.

    Raises whatever an adapter raises that is not a :class:`~bonepath.errors.DeliveryError`
    (the claim then stays for reconciliation), and :class:`StoreError` when the store fails.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    engine = _engine(store)

    def clock() -> dt.datetime:
        # each claim's lease starts when it is taken, not when a long run started
        return now if now is not None else dt.datetime.now(dt.UTC)

    moment = clock()
    names = [name for name in channels.names() if not only or name in only]
    report = DeliveryReport()
    try:
        reconcile(engine, channels, now=moment, max_attempts=max_attempts, report=report)
        with engine.connect() as conn:
            statement = (
                select(_m.c.id)
                .where(
                    _m.c.state == "pending",
                    _m.c.not_before <= moment,
                    _m.c.channel.in_(names),
                )
                .order_by(_m.c.id)
            )
            if limit is not None:
                statement = statement.limit(limit)
            candidates = [int(id_) for id_ in conn.execute(statement).scalars()]
        queue = deque(candidates)
        while queue:
            claimed_at = clock()
            ids = [queue.popleft() for _ in range(min(batch, len(queue)))]
            unsent = deque(_claim(engine, ids, claimed_at, lease))
            # a send must start with at least half its lease left (the lease outlasts a send);
            # the first of a batch always goes: its claim was just taken
            send_by = claimed_at + lease / 2
            first = True
            try:
                while unsent and (first or clock() <= send_by):
                    first = False
                    token, message = unsent.popleft()
                    _send_one(engine, channels, token, message, clock, max_attempts, report)
            except BaseException:
                # the run ends: hand back what no channel was given (best effort; a killed
                # process leaves them to reconciliation after the lease)
                with contextlib.suppress(*_ERRORS):
                    _unclaim(engine, unsent)
                raise
            # out of lease time: hand the rest back and claim them afresh
            _unclaim(engine, unsent)
            queue.extendleft(reversed([message.id for _, message in unsent]))
    except _ERRORS as exc:
        raise StoreError(f"delivering reminders failed: {exc}") from exc
    return report


def _send_one(
    engine: Engine,
    channels: ChannelRegistry,
    token: str,
    message: OutgoingMessage,
    clock: Callable[[], dt.datetime],
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    """Send one claimed message and record the outcome (module docstring)."""
    adapter = channels.get(message.channel)
    assert adapter is not None  # candidates are of registered channels only
    try:
        receipt = adapter.send(message)
    except DeliveryFailed as exc:
        state = _release(engine, message, token, clock(), str(exc), max_attempts)
        (report.failed if state == "failed" else report.retry_later).append(message.id)
        return
    except DeliveryUncertain as exc:
        with write_transaction(engine) as conn:
            _finish_attempt(conn, message.id, token, clock(), "uncertain", str(exc))
            conn.execute(update(_m).where(_m.c.id == message.id).values(last_error=str(exc)[:2000]))
        report.uncertain.append(message.id)
        return
    if _record_sent(engine, message, token, receipt, clock()):
        report.sent.append(message.id)


def pending_counts(store: Store | Engine) -> dict[str, int]:
    """Messages per state (for the job's summary and monitoring)."""
    with _engine(store).connect() as conn:
        rows = conn.execute(select(_m.c.state, func.count()).group_by(_m.c.state)).all()
    return {state: int(count) for state, count in rows}
