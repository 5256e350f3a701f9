"""E-mail through a real SMTP server (aiosmtpd in process): Chinese text, the rule, the due
day, the stable Message-ID, the identifier policy, and refusals that are retried."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bonepath.errors import DeliveryFailed
from bonepath.reminders import add_recipient, deliver, list_tasks, run_reminders, sync_tasks
from bonepath.reminders.channels import OutgoingMessage
from bonepath.reminders.mail import SmtpAdapter, build_email
from bonepath.reminders.outbox import BACKOFF
from bonepath.store.repository import Store
from bonepath.store.tasks import reminder_messages
from population.support import AS_OF
from reminders.support import (
    NOW,
    NURSE_H01,
    SENDER,
    SmtpServer,
    email_channels,
    evaluated,
    message_keys,
)


def test_nurse_email_is_chinese_names_rule_and_due_and_masks_the_patient(
    store: Store, smtp_server: SmtpServer
) -> None:
    add_recipient(store, "email", NURSE_H01, hospital="H01", rules=["ADH-03"], now=NOW)
    report = run_reminders(
        store, AS_OF, email_channels(smtp_server.host, smtp_server.port), now=NOW
    )
    assert report.delivery is not None and len(report.delivery.sent) == 1
    [mail] = smtp_server.journal.messages
    [task] = [t for t in list_tasks(store) if t.rule == "ADH-03" and t.hospital == "H01"]
    assert (
        mail["Subject"]
        == f"[bonepath] 任务#{task.id} ADH-03 逾期超过4周：主动随访（截止 2026-08-24）"
    )
    assert mail["From"] == SENDER and mail["To"] == NURSE_H01
    assert mail["X-Bonepath-Rule"] == "ADH-03" and mail["X-Bonepath-Due"] == "2026-08-24"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    assert "规则：ADH-03（待办，紧急程度：高）" in body
    assert "截止日期：2026-08-24" in body
    assert "医院/科室：H01 / oncology" in body
    # identifier policy: the record id only masked; no name, birth date or clinical values
    assert "患者：***01" in body
    assert "P0001" not in body and "P0001" not in mail["Subject"]
    assert "1960" not in body and "denosumab" not in body and "37" not in body
    [key] = message_keys(store)
    assert mail["Message-ID"] == f"<{key}@bonepath.invalid>"


def test_english_recipient_gets_english(store: Store, smtp_server: SmtpServer) -> None:
    add_recipient(store, "email", "ward@h02.example", lang="en", hospital="H02", rules=["SAFE-05"])
    run_reminders(store, AS_OF, email_channels(smtp_server.host, smtp_server.port), now=NOW)
    [mail] = smtp_server.journal.messages
    assert "SAFE-05" in mail["Subject"] and "task #" in mail["Subject"]
    body = mail.get_content()
    assert "Rule: SAFE-05 (alert, severity: " in body
    assert "Patient: ***02" in body and "P0002" not in body


def test_a_refused_message_is_retried_after_backoff_then_failed(
    sqlite_store: Store, smtp_server: SmtpServer
) -> None:
    store = sqlite_store
    add_recipient(store, "email", NURSE_H01, hospital="H01", rules=["ADH-03"], now=NOW)
    sync_tasks(store, evaluated(store), now=NOW)
    channels = email_channels(smtp_server.host, smtp_server.port)
    smtp_server.journal.refuse = True
    first = deliver(store, channels, now=NOW, max_attempts=2)
    assert len(first.retry_later) == 1 and smtp_server.journal.messages == []
    # not before the back-off: nothing is tried
    assert deliver(store, channels, now=NOW + BACKOFF / 2, max_attempts=2).to_json()["failed"] == 0
    second = deliver(store, channels, now=NOW + BACKOFF, max_attempts=2)
    assert len(second.failed) == 1
    with store.engine.connect() as conn:
        state, attempts, error = conn.execute(
            select(
                reminder_messages.c.state,
                reminder_messages.c.attempts,
                reminder_messages.c.last_error,
            )
        ).one()
    assert (state, attempts) == ("failed", 2) and "554" in error
    smtp_server.journal.refuse = False
    assert deliver(store, channels, now=NOW + dt.timedelta(days=1)).sent == []


def test_unreachable_server_is_a_refusal_not_an_uncertain_send() -> None:
    adapter = SmtpAdapter("127.0.0.1", 9, SENDER, timeout_s=2)  # discard port: nothing listens
    message = OutgoingMessage(
        1, "k" * 32, "email", NURSE_H01, "zh", "staff", "主题", "正文", None, "ADH-01", AS_OF, 1
    )
    with pytest.raises(DeliveryFailed, match="cannot reach"):
        adapter.send(message)
    assert adapter.lookup(message) is None  # SMTP alone cannot tell what arrived


def test_message_id_and_headers_are_stable_across_attempts() -> None:
    message = OutgoingMessage(
        7,
        "a" * 32,
        "email",
        NURSE_H01,
        "zh",
        "staff",
        "骨改良药物逾期未用",
        "正文",
        None,
        "ADH-02",
        dt.date(2026, 8, 24),
        3,
    )
    first = build_email(message, SENDER, "h01.example")
    second = build_email(message, SENDER, "h01.example")
    assert first["Message-ID"] == second["Message-ID"] == f"<{'a' * 32}@h01.example>"
    assert first["X-Bonepath-Task"] == "3"
    # the subject is RFC 2047-encoded on the wire and decodes to the Chinese text
    wire = first.as_bytes()
    assert b"=?utf-8?" in wire and "骨改良药物逾期未用".encode() not in wire
