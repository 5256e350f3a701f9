"""Decisions that drive the pathway (issue 16 item 3): a decision becomes record entries.

:func:`check_decision` refuses a decision that cannot stand on its own (none given, two that
contradict each other, a BTA start without a drug, a stop without a reason, no rationale).
:func:`apply_decision` returns the record document with the ``mdt`` item (date, ``decision``
text, ``attendees``, ``question``, ``decisions``, ``remote``, ``centre``) and the facts the
decision settles:

- ``bm_confirmed``: ``bone_metastasis.status`` = ``confirmed`` with ``confirmed_date`` (the
  decision's, else the decision day) unless already confirmed: BTA-01 starts its clock;
- ``bm_excluded``: status ``none`` (``confirmed_date`` removed);
- ``bta_start``: ``bta_plan`` = the chosen drug (interval kept, else 28 days);
- ``bta_stop``: a ``bta_stop`` event with the reason, dated the decision day.

The mdt item dated on/after the trigger closes MDT-01. The caller parses the result with
``parse_record`` (the same validation as any form or import), so a decision that would make the
record invalid (a confirmation dated in the future, …) is refused whole and nothing is written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bonepath.errors import Problem, RecordRefused
from bonepath.mdt.model import (
    EXCLUSIVE_DECISIONS,
    CaseDecision,
    DecisionType,
    QuestionType,
)
from bonepath.vocab import Drug, StopReason

MAX_RATIONALE = 4000


def check_decision(decision: CaseDecision) -> None:
    """Refuse a decision that is incomplete or self-contradictory (every problem listed)."""
    problems: list[Problem] = []
    if not decision.decisions:
        problems.append(
            Problem(
                "/decisions",
                "MDT_NO_DECISION",
                "a decision needs at least one structured decision",
                tuple(d.value for d in DecisionType),
            )
        )
    chosen = {d.type for d in decision.decisions}
    for group in EXCLUSIVE_DECISIONS:
        both = sorted(t.value for t in chosen & group)
        if len(both) > 1:
            problems.append(
                Problem(
                    "/decisions",
                    "MDT_CONFLICTING_DECISIONS",
                    f"{' and '.join(both)} contradict each other; choose one",
                    tuple(both),
                )
            )
    for i, d in enumerate(decision.decisions):
        if d.type is DecisionType.BTA_START and d.drug not in {x.value for x in Drug}:
            code = "MISSING_FIELD" if not d.drug else "UNKNOWN_CODE"
            problems.append(
                Problem(
                    f"/decisions/{i}/drug",
                    code,
                    "a BTA start names the drug",
                    tuple(x.value for x in Drug),
                )
            )
        if d.type is DecisionType.BTA_STOP and d.stop_reason not in {x.value for x in StopReason}:
            code = "MISSING_FIELD" if not d.stop_reason else "UNKNOWN_CODE"
            problems.append(
                Problem(
                    f"/decisions/{i}/stop_reason",
                    code,
                    "a BTA stop names the reason",
                    tuple(x.value for x in StopReason),
                )
            )
    if not decision.rationale.strip():
        problems.append(Problem("/rationale", "MISSING_FIELD", "the rationale is required"))
    elif len(decision.rationale) > MAX_RATIONALE:
        problems.append(
            Problem(
                "/rationale", "OUT_OF_RANGE", f"the rationale is over {MAX_RATIONALE} characters"
            )
        )
    if problems:
        raise RecordRefused(problems)


def mdt_item(decision: CaseDecision, question: QuestionType) -> dict[str, Any]:
    """The record's ``mdt`` item for a decision."""
    departments = list(dict.fromkeys(s.department.value for s in decision.attendees))
    item: dict[str, Any] = {
        "date": decision.decided_on.isoformat(),
        "decision": decision.rationale.strip(),
        "attendees": departments,
        "question": question.record_code.value,
        "decisions": list(dict.fromkeys(decision.codes())),
        "remote": decision.remote,
    }
    if decision.centre:
        item["centre"] = decision.centre
    return item


def apply_decision(
    document: Mapping[str, Any], decision: CaseDecision, question: QuestionType
) -> dict[str, Any]:
    """The record document (``Record.to_json_dict()``) with the decision written into it.

    Pure: ``document`` is not changed; validation is the caller's (``parse_record``).
    """
    data: dict[str, Any] = copy.deepcopy(dict(document))
    events = data.setdefault("events", {})
    events.setdefault("mdt", []).append(mdt_item(decision, question))
    day = decision.decided_on.isoformat()
    for d in decision.decisions:
        if d.type is DecisionType.BM_CONFIRMED:
            bone = data.setdefault("bone_metastasis", {})
            if bone.get("status") != "confirmed" or not bone.get("confirmed_date"):
                bone["status"] = "confirmed"
                bone["confirmed_date"] = d.confirmed_date.isoformat() if d.confirmed_date else day
        elif d.type is DecisionType.BM_EXCLUDED:
            bone = data.setdefault("bone_metastasis", {})
            bone["status"] = "none"
            bone.pop("confirmed_date", None)
        elif d.type is DecisionType.BTA_START and d.drug:
            plan = data.get("bta_plan") or {}
            interval = plan.get("interval_days") if plan.get("drug") == d.drug else None
            data["bta_plan"] = {"drug": d.drug, "interval_days": interval or 28}
        elif d.type is DecisionType.BTA_STOP and d.stop_reason:
            events.setdefault("bta_stop", []).append({"date": day, "reason": d.stop_reason})
    return data
