"""A refusal whose accepted values are the page's own labelled choices names no codes
(browser walk, 2026-12: the centre's empty answer read
"请至少选择一项结构化决定（可接受：bm_confirmed、bm_excluded、biopsy…）")."""

from __future__ import annotations

from bonepath.errors import Problem
from bonepath.record.problem_text import describe, explain

NO_DECISION = Problem(
    "/decisions",
    "MDT_NO_DECISION",
    "a decision needs at least one structured decision",
    ("bm_confirmed", "bm_excluded", "biopsy", "bta_start", "rt_single_8gy"),
)


def test_no_decision_in_chinese_names_no_decision_codes() -> None:
    for shown in (describe(NO_DECISION, "zh"), explain(NO_DECISION, "zh")):
        assert shown.startswith("请至少选择一项结构化决定")
        assert "bm_confirmed" not in shown and "可接受" not in shown


def test_no_decision_in_english_names_no_decision_codes() -> None:
    shown = explain(NO_DECISION, "en")
    assert "structured decision" in shown
    assert "bm_confirmed" not in shown and "accepted" not in shown


def test_other_refusals_still_list_their_accepted_values() -> None:
    unit = Problem("/labs/0/unit", "UNKNOWN_UNIT", "unit not accepted", ("mmol/L", "mg/dL"))
    assert "（可接受：mmol/L、mg/dL）" in describe(unit, "zh")
