"""Builders shared by the rule tests: small valid records, evaluated on a pinned day."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from bonepath.engine.evaluate import evaluate
from bonepath.engine.findings import Evaluation
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)


def base(**top: Any) -> dict[str, Any]:
    """A 70-year-old woman with stage IV adenocarcinoma diagnosed 2026-01-10, nothing else."""
    record: dict[str, Any] = {
        "format": "bonepath-record/1",
        "id": "F1",
        "source": "test",
        "sex": "female",
        "birth_date": "1956-03-15",
        "cancer": {"diagnosis_date": "2026-01-10", "histology": "adenocarcinoma", "stage": "IV", "setting": "advanced"},
        "events": {},
    }
    record.update(top)
    return record


def ev(record: dict[str, Any], day: str) -> Evaluation:
    return evaluate(parse_record(copy.deepcopy(record), today=TODAY), dt.date.fromisoformat(day))


def fired(e: Evaluation) -> set[str]:
    return {f.rule for f in e.findings}


def one(e: Evaluation, rule: str) -> dict[str, Any]:
    found = e.fired(rule)
    assert len(found) == 1, (rule, sorted(fired(e)))
    return found[0].values


def confirmed(**events: Any) -> dict[str, Any]:
    return base(
        bone_metastasis={"status": "confirmed", "confirmed_date": "2026-02-01", "lesions": [{"site": "rib", "kind": "lytic"}]},
        events={"vitals": [{"date": "2026-02-01", "weight_kg": 60}],
                "labs": [{"date": "2026-02-02", "test": "creatinine", "value": 80, "unit": "umol/L"}],
                "dental": [{"date": "2026-02-02", "result": "ok"}], **events},
    )
