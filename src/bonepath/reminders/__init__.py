"""Reminders and tasks that survive failure (docs/reminders.md).

Findings become **tasks** (one per due event) on the nurses' worklist and **messages** in a
transactional outbox, delivered once each through pluggable channel adapters (e-mail over
SMTP, SMS and WeChat template messages through a spool). The web app calls the task
functions re-exported here (``list_tasks``, ``close_task``, …).
"""

from bonepath.reminders.channels import (
    ChannelAdapter,
    ChannelRegistry,
    DeliveryReceipt,
    OutgoingMessage,
)
from bonepath.reminders.job import RunReport, run_reminders
from bonepath.reminders.model import (
    ADH03_REASONS,
    CLOSE_REASON_LABELS,
    TASK_KINDS,
    CloseReason,
    Recipient,
    Task,
    TaskQuery,
    TaskStatus,
    reasons_for,
)
from bonepath.reminders.outbox import DeliveryReport, deliver, reconcile
from bonepath.reminders.tasks import (
    MessageStatus,
    add_recipient,
    close_task,
    count_tasks,
    deactivate_recipient,
    get_task,
    list_recipients,
    list_tasks,
    sync_tasks,
    task_messages,
)

__all__ = [
    "ADH03_REASONS",
    "CLOSE_REASON_LABELS",
    "TASK_KINDS",
    "ChannelAdapter",
    "ChannelRegistry",
    "CloseReason",
    "DeliveryReceipt",
    "DeliveryReport",
    "MessageStatus",
    "OutgoingMessage",
    "Recipient",
    "RunReport",
    "Task",
    "TaskQuery",
    "TaskStatus",
    "add_recipient",
    "close_task",
    "count_tasks",
    "deactivate_recipient",
    "deliver",
    "get_task",
    "list_recipients",
    "list_tasks",
    "reasons_for",
    "reconcile",
    "run_reminders",
    "sync_tasks",
    "task_messages",
]
