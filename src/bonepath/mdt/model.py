"""The MDT's domain types: cases, meetings, attendance, decisions (issue 16 items 1-3).

Plain frozen dataclasses and StrEnums, no web framework, ORM or FHIR library (layering test).
The store (:mod:`bonepath.store.mdt`) persists them; the services (:mod:`bonepath.api.mdt_service`)
apply tenancy, write the record and audit every change.

Codes are stable public strings (JSON API, CLI, the record's ``mdt`` item): never renamed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from bonepath.errors import Problem, RecordRefused
from bonepath.vocab import Department, MdtDecision, MdtQuestion


class CaseState(StrEnum):
    """proposed → scheduled → discussed → decided → implemented, or withdrawn (with a reason)."""

    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    DISCUSSED = "discussed"
    DECIDED = "decided"
    IMPLEMENTED = "implemented"
    WITHDRAWN = "withdrawn"


OPEN_STATES: Final[tuple[CaseState, ...]] = (
    CaseState.PROPOSED,
    CaseState.SCHEDULED,
    CaseState.DISCUSSED,
    CaseState.DECIDED,
)
"""States of a case still being worked on (the coordinator's board)."""

TRANSITIONS: Final[Mapping[CaseState, frozenset[CaseState]]] = {
    # put on a meeting's agenda, or withdrawn
    CaseState.PROPOSED: frozenset({CaseState.SCHEDULED, CaseState.WITHDRAWN}),
    # discussed at the meeting; taken off the agenda (back to proposed); withdrawn
    CaseState.SCHEDULED: frozenset({CaseState.DISCUSSED, CaseState.PROPOSED, CaseState.WITHDRAWN}),
    # decided; deferred to another meeting; withdrawn
    CaseState.DISCUSSED: frozenset({CaseState.DECIDED, CaseState.SCHEDULED, CaseState.WITHDRAWN}),
    # every task of the decision done
    CaseState.DECIDED: frozenset({CaseState.IMPLEMENTED}),
    CaseState.IMPLEMENTED: frozenset(),
    CaseState.WITHDRAWN: frozenset(),
}
"""The state machine. A decided case is not withdrawn: its decision is in the record."""


REMOTE_DECIDABLE: Final[frozenset[CaseState]] = frozenset(
    {CaseState.PROPOSED, CaseState.SCHEDULED, CaseState.DISCUSSED}
)
"""The states from which a regional centre's accepted answer decides a case: the centre's
remote consultation replaces the hospital's own meeting (docs/mdt.md "The regional network")."""


def check_transition(
    current: CaseState, target: CaseState, reason: str | None = None, *, remote: bool = False
) -> None:
    """Refuse a state change the machine does not allow, or a withdrawal without a reason.
    ``remote``: the referring hospital accepts a regional centre's answer (any open state not
    yet decided may become decided).

    Raises :class:`~bonepath.errors.RecordRefused` with ``MDT_BAD_TRANSITION`` /
    ``MDT_REASON_REQUIRED`` (described in zh/en in ``record/problem_text.py``).
    """
    allowed = TRANSITIONS[current]
    if remote and target is CaseState.DECIDED and current in REMOTE_DECIDABLE:
        allowed = allowed | {CaseState.DECIDED}
    if target not in allowed:
        raise RecordRefused(
            [
                Problem(
                    "/state",
                    "MDT_BAD_TRANSITION",
                    f"a {current.value} case cannot become {target.value}",
                    tuple(s.value for s in sorted(allowed)),
                )
            ]
        )
    if target is CaseState.WITHDRAWN and not (reason or "").strip():
        raise RecordRefused(
            [Problem("/reason", "MDT_REASON_REQUIRED", "a withdrawal needs a reason")]
        )


class QuestionType(StrEnum):
    """What the MDT is asked (issue 16 item 1)."""

    DIAGNOSIS = "diagnosis"
    BTA = "bta"
    RADIOTHERAPY = "radiotherapy"
    SURGERY_INTERVENTION = "surgery_intervention"
    ONJ = "onj"
    PAIN = "pain"
    OTHER = "other"

    @property
    def record_code(self) -> MdtQuestion:
        """The record's ``mdt.question`` code (record-format.md spells surgery ``surgery``)."""
        if self is QuestionType.SURGERY_INTERVENTION:
            return MdtQuestion.SURGERY
        return MdtQuestion(self.value)


TRIGGER_QUESTION: Final[Mapping[str, QuestionType]] = {
    "DX-04": QuestionType.DIAGNOSIS,
    "SURG-01": QuestionType.SURGERY_INTERVENTION,
    "SURG-02": QuestionType.SURGERY_INTERVENTION,
    "SURG-03": QuestionType.SURGERY_INTERVENTION,
    "RT-05": QuestionType.RADIOTHERAPY,
    "SAFE-11": QuestionType.ONJ,
    "PAIN": QuestionType.PAIN,
}
"""The question a case opened from an MDT-01 finding starts with: its first trigger's."""


def question_for_triggers(triggers: Sequence[str]) -> QuestionType:
    for trigger in triggers:
        if trigger in TRIGGER_QUESTION:
            return TRIGGER_QUESTION[trigger]
    return QuestionType.OTHER


class Specialty(StrEnum):
    """Attendance at a meeting is by specialty (issue 16 item 2)."""

    ONCOLOGY = "oncology"
    RESPIRATORY = "respiratory"
    THORACIC_SURGERY = "thoracic_surgery"
    ORTHOPAEDICS_SPINE = "orthopaedics_spine"
    RADIOTHERAPY = "radiotherapy"
    RADIOLOGY = "radiology"
    NUCLEAR_MEDICINE = "nuclear_medicine"
    PAIN = "pain"
    NURSING = "nursing"
    ORAL_SURGERY = "oral_surgery"

    @property
    def department(self) -> Department:
        """The record's department code for ``mdt.attendees`` (record-format.md)."""
        return SPECIALTY_DEPARTMENT[self]


SPECIALTY_DEPARTMENT: Final[Mapping[Specialty, Department]] = {
    Specialty.ONCOLOGY: Department.ONCOLOGY,
    Specialty.RESPIRATORY: Department.RESPIRATORY,
    Specialty.THORACIC_SURGERY: Department.THORACIC_SURGERY,
    Specialty.ORTHOPAEDICS_SPINE: Department.ORTHOPEDICS,
    Specialty.RADIOTHERAPY: Department.RADIOTHERAPY,
    Specialty.RADIOLOGY: Department.RADIOLOGY,
    Specialty.NUCLEAR_MEDICINE: Department.NUCLEAR_MEDICINE,
    Specialty.PAIN: Department.OTHER,
    Specialty.NURSING: Department.OTHER,
    Specialty.ORAL_SURGERY: Department.OTHER,
}


DecisionType = MdtDecision
"""Structured decisions; the values are the record's ``mdt.decisions`` codes (one vocabulary,
:class:`bonepath.vocab.MdtDecision`)."""


EXCLUSIVE_DECISIONS: Final[tuple[frozenset[DecisionType], ...]] = (
    frozenset({DecisionType.BM_CONFIRMED, DecisionType.BM_EXCLUDED}),
    frozenset({DecisionType.BTA_START, DecisionType.BTA_CONTINUE, DecisionType.BTA_STOP}),
)
"""Decisions that contradict each other within one case."""


class MeetingHost(StrEnum):
    """A meeting belongs to a hospital's own MDT or to a regional centre (remote)."""

    HOSPITAL = "hospital"
    CENTRE = "centre"


class MeetingState(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


OWNER_ROLES: Final[tuple[str, ...]] = ("clinician", "nurse", "mdt_coordinator")
"""Roles a responsibility-table row may name as the owner of a task (store.accounts.Role)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One structured decision of a case, with what it needs.

    ``drug`` (bta_start: a BTA drug code), ``stop_reason`` (bta_stop: a record ``bta_stop``
    reason), ``site`` (RT/surgery/biopsy: a site code), ``confirmed_date`` (bm_confirmed: the
    date the diagnosis was established; default the decision date), ``note``: free text.
    """

    type: DecisionType
    drug: str | None = None
    stop_reason: str | None = None
    site: str | None = None
    confirmed_date: dt.date | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type.value}
        for key in ("drug", "stop_reason", "site", "note"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.confirmed_date is not None:
            out["confirmed_date"] = self.confirmed_date.isoformat()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        confirmed = data.get("confirmed_date")
        return cls(
            type=DecisionType(data["type"]),
            drug=data.get("drug"),
            stop_reason=data.get("stop_reason"),
            site=data.get("site"),
            confirmed_date=dt.date.fromisoformat(confirmed) if confirmed else None,
            note=data.get("note"),
        )


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A guideline finding that was on the case: rule id, title and readable sources."""

    rule: str
    title_zh: str
    title_en: str
    sources: tuple[str, ...]
    due: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "sources": list(self.sources),
            "due": self.due.isoformat() if self.due else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FindingRef:
        title = data.get("title") or {}
        due = data.get("due")
        return cls(
            rule=str(data["rule"]),
            title_zh=str(title.get("zh", "")),
            title_en=str(title.get("en", "")),
            sources=tuple(data.get("sources") or ()),
            due=dt.date.fromisoformat(due) if due else None,
        )


@dataclass(frozen=True, slots=True)
class CaseDecision:
    """What the MDT decided on a case: the decisions, the rationale, who attended, and the
    guideline findings that were on the case (rule ids and sources)."""

    decided_on: dt.date
    decisions: tuple[Decision, ...]
    rationale: str
    attendees: tuple[Specialty, ...]
    findings: tuple[FindingRef, ...] = ()
    meeting_id: int | None = None
    remote: bool = False
    centre: str | None = None
    decided_by: str | None = None

    def codes(self) -> tuple[str, ...]:
        return tuple(d.type.value for d in self.decisions)

    def to_json(self) -> dict[str, Any]:
        return {
            "decided_on": self.decided_on.isoformat(),
            "decisions": [d.to_json() for d in self.decisions],
            "rationale": self.rationale,
            "attendees": [a.value for a in self.attendees],
            "findings": [f.to_json() for f in self.findings],
            "meeting_id": self.meeting_id,
            "remote": self.remote,
            "centre": self.centre,
            "decided_by": self.decided_by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseDecision:
        return cls(
            decided_on=dt.date.fromisoformat(data["decided_on"]),
            decisions=tuple(Decision.from_json(d) for d in data.get("decisions") or ()),
            rationale=str(data.get("rationale") or ""),
            attendees=tuple(Specialty(a) for a in data.get("attendees") or ()),
            findings=tuple(FindingRef.from_json(f) for f in data.get("findings") or ()),
            meeting_id=data.get("meeting_id"),
            remote=bool(data.get("remote")),
            centre=data.get("centre"),
            decided_by=data.get("decided_by"),
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document on a case: a report (text), or a reference to key images (``uri``)."""

    id: int
    case_id: int
    kind: str  # "report" | "image" | "other"
    title: str
    text: str | None = None
    uri: str | None = None
    added_by: str | None = None
    added_at: dt.datetime | None = None


ATTACHMENT_KINDS: Final[tuple[str, ...]] = ("report", "image", "other")


@dataclass(frozen=True, slots=True)
class Case:
    """An MDT case: a patient, a question, the frozen summary, and where it stands."""

    id: int
    patient_source: str
    patient_id: str
    hospital_id: str | None
    state: CaseState
    question: QuestionType
    question_text: str
    triggers: tuple[str, ...]
    trigger_date: dt.date | None
    due: dt.date | None
    """MDT-01's due date when the case came from the finding (discussed by then)."""
    referred_to: str | None
    """The regional centre's hospital id (MDT-02), or None for the hospital's own MDT."""
    summary: Mapping[str, Any]
    """The case summary frozen at referral (:class:`bonepath.mdt.summary.CaseSummary` JSON)."""
    created_on: dt.date
    created_by: str
    meeting_id: int | None = None
    meeting_date: dt.date | None = None
    withdrawn_reason: str | None = None
    decision: CaseDecision | None = None
    attachments: tuple[Attachment, ...] = ()
    updated_at: dt.datetime | None = None

    @property
    def patient(self) -> str:
        return f"{self.patient_source}/{self.patient_id}"

    def listing(self) -> dict[str, Any]:
        """One case of ``bonepath mdt cases --format json`` and ``GET /api/mdt/cases``, exactly
        the keys of issue 16 item 6: id, patient, hospital, state, question (the question
        type), triggers, referred_to, meeting_date, decisions (codes)."""
        return {
            "id": self.id,
            "patient": self.patient_id,
            "hospital": self.hospital_id,
            "state": self.state.value,
            "question": self.question.value,
            "triggers": list(self.triggers),
            "referred_to": self.referred_to,
            "meeting_date": self.meeting_date.isoformat() if self.meeting_date else None,
            "decisions": list(self.decision.codes()) if self.decision else [],
        }

    def to_json(self) -> dict[str, Any]:
        """The case in detail (the API's case object; :meth:`listing` plus the rest)."""
        return {
            "id": self.id,
            "patient": self.patient_id,
            "source": self.patient_source,
            "hospital": self.hospital_id,
            "state": self.state.value,
            "question": {"type": self.question.value, "text": self.question_text},
            "triggers": list(self.triggers),
            "trigger_date": self.trigger_date.isoformat() if self.trigger_date else None,
            "due": self.due.isoformat() if self.due else None,
            "referred_to": self.referred_to,
            "meeting_id": self.meeting_id,
            "meeting_date": self.meeting_date.isoformat() if self.meeting_date else None,
            "decisions": list(self.decision.codes()) if self.decision else [],
            "withdrawn_reason": self.withdrawn_reason,
            "created_on": self.created_on.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class Attendance:
    """Who attended for a specialty: an account of the hospital (``username``), or a guest by
    ``name`` (may be empty: the specialty only). "My cases" matches the account."""

    specialty: Specialty
    name: str = ""
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """An MDT meeting of a hospital or a regional centre, with its agenda deadline."""

    id: int
    host: MeetingHost
    host_id: str
    """The hospital id of the hospital (or centre) that holds the meeting."""
    date: dt.date
    submission_deadline: dt.date
    title: str = ""
    chair: str | None = None
    recorder: str | None = None
    state: MeetingState = MeetingState.PLANNED
    attendance: tuple[Attendance, ...] = ()
    link: str | None = None
    """A remote meeting's link (regional centre; filled by the network part)."""
    case_ids: tuple[int, ...] = field(default=())

    @property
    def specialties(self) -> frozenset[Specialty]:
        return frozenset(a.specialty for a in self.attendance)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host.value,
            "host_id": self.host_id,
            "date": self.date.isoformat(),
            "submission_deadline": self.submission_deadline.isoformat(),
            "title": self.title,
            "chair": self.chair,
            "recorder": self.recorder,
            "state": self.state.value,
            "attendance": [
                {"specialty": a.specialty.value, "name": a.name, "username": a.username}
                for a in self.attendance
            ],
            "link": self.link,
            "cases": list(self.case_ids),
        }


@dataclass(frozen=True, slots=True)
class Task:
    """A task a decision gave an owner role (responsibility table), tracked to done."""

    id: int
    case_id: int
    decision: DecisionType
    code: str
    owner_role: str
    hospital_id: str | None
    patient_source: str
    patient_id: str
    due: dt.date
    title_zh: str
    title_en: str
    status: TaskStatus = TaskStatus.OPEN
    done_at: dt.datetime | None = None
    done_by: str | None = None

    def overdue(self, today: dt.date) -> bool:
        return self.status is TaskStatus.OPEN and today > self.due

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "decision": self.decision.value,
            "code": self.code,
            "owner_role": self.owner_role,
            "hospital": self.hospital_id,
            "patient": self.patient_id,
            "source": self.patient_source,
            "due": self.due.isoformat(),
            "title": {"zh": self.title_zh, "en": self.title_en},
            "status": self.status.value,
            "done_by": self.done_by,
        }
