"""The MDT module's domain (issue 16): cases, meetings, quorum, decisions, responsibility.

Pure domain: imports no web framework, ORM or FHIR library (tests/test_architecture.py). The
store is :mod:`bonepath.store.mdt`, the services :mod:`bonepath.api.mdt_service`; the module's
API for other layers is described in docs/mdt.md.
"""

from bonepath.mdt.decisions import apply_decision, check_decision, mdt_item
from bonepath.mdt.model import (
    ATTACHMENT_KINDS,
    OPEN_STATES,
    OWNER_ROLES,
    TRANSITIONS,
    TRIGGER_QUESTION,
    Attachment,
    Attendance,
    Case,
    CaseDecision,
    CaseState,
    Decision,
    DecisionType,
    FindingRef,
    Meeting,
    MeetingHost,
    MeetingState,
    QuestionType,
    Specialty,
    Task,
    TaskStatus,
    check_transition,
    question_for_triggers,
)
from bonepath.mdt.quorum import QuorumCheck, check_quorum, quorum, quorum_table
from bonepath.mdt.responsibility import (
    PlannedTask,
    Responsibility,
    default_table,
    tasks_for,
    validate_row,
)

__all__ = [
    "ATTACHMENT_KINDS",
    "OPEN_STATES",
    "OWNER_ROLES",
    "TRANSITIONS",
    "TRIGGER_QUESTION",
    "Attachment",
    "Attendance",
    "Case",
    "CaseDecision",
    "CaseState",
    "Decision",
    "DecisionType",
    "FindingRef",
    "Meeting",
    "MeetingHost",
    "MeetingState",
    "PlannedTask",
    "QuestionType",
    "QuorumCheck",
    "Responsibility",
    "Specialty",
    "Task",
    "TaskStatus",
    "apply_decision",
    "check_decision",
    "check_quorum",
    "check_transition",
    "default_table",
    "mdt_item",
    "question_for_triggers",
    "quorum",
    "quorum_table",
    "tasks_for",
    "validate_row",
]
