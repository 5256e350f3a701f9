"""The reminder tables' constraints are the last guard of "once per due event": a second task
for the same event key, or a second message for the same task and recipient, is refused by the
database itself (SQLite and PostgreSQL); messages go with their task."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bonepath.store.repository import open_store
from bonepath.store.tasks import reminder_messages, reminder_recipients, reminder_tasks

NOW = dt.datetime(2026, 9, 30, 7, tzinfo=dt.UTC)


def _task(key: str) -> dict[str, Any]:
    return {
        "event_key": key,
        "source": "his-a",
        "patient_id": "P0001",
        "hospital_id": "H01",
        "department": "oncology",
        "rule": "ADH-03",
        "item": None,
        "due": dt.date(2026, 8, 24),
        "kind": "action",
        "severity": "high",
        "title_zh": "逾期超过4周：主动随访",
        "title_en": "More than 4 weeks overdue: call the patient",
        "finding_values": {},
        "rules_version": "1.0.0",
        "status": "open",
        "opened_at": NOW,
        "opened_as_of": NOW.date(),
        "last_seen_as_of": NOW.date(),
        "reopened": 0,
    }


def _message(task_id: int, recipient_id: int, key: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "recipient_id": recipient_id,
        "idempotency_key": key,
        "channel": "email",
        "address": "a@h01.example",
        "lang": "zh",
        "audience": "staff",
        "subject": "主题",
        "body": "正文",
        "state": "pending",
        "attempts": 0,
        "not_before": NOW,
        "created_at": NOW,
    }


def test_one_task_per_event_and_one_message_per_recipient(db_url: str) -> None:
    with open_store(db_url) as store:
        with store.engine.begin() as conn:
            recipient, other = (
                conn.execute(
                    insert(reminder_recipients).returning(reminder_recipients.c.id),
                    {
                        "channel": "email",
                        "address": address,
                        "lang": "zh",
                        "audience": "staff",
                        "rules": "ADH",
                        "active": True,
                        "created_at": NOW,
                    },
                ).scalar_one()
                for address in ("a@h01.example", "b@h01.example")
            )
            task = conn.execute(
                insert(reminder_tasks).returning(reminder_tasks.c.id), _task("e" * 64)
            ).scalar_one()
            conn.execute(insert(reminder_messages), _message(task, recipient, "k" * 32))
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(insert(reminder_tasks), _task("e" * 64))
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(insert(reminder_messages), _message(task, recipient, "j" * 32))
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(insert(reminder_messages), _message(task, other, "k" * 32))
        with store.engine.begin() as conn:
            conn.execute(reminder_tasks.delete())
            count = conn.execute(select(func.count()).select_from(reminder_messages))
            assert count.scalar_one() == 0
