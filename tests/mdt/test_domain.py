"""The MDT domain: the state machine, quorum per question type, the responsibility table,
decisions written into the record, and the frozen case summary."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from bonepath.errors import ConfigError, RecordRefused
from bonepath.mdt import (
    TRANSITIONS,
    CaseDecision,
    CaseState,
    Decision,
    DecisionType,
    QuestionType,
    Specialty,
    apply_decision,
    check_decision,
    check_quorum,
    check_transition,
    default_table,
    question_for_triggers,
    tasks_for,
    validate_row,
)
from bonepath.mdt.quorum import parse_quorum
from bonepath.mdt.summary import case_summary
from bonepath.record.parse import parse_record

from .support import REFERRAL_DAY, SUSPECTED, UNSTABLE, record

# ---- the state machine --------------------------------------------------------------------------


def test_the_pathway_runs_proposed_to_implemented() -> None:
    path = [
        CaseState.PROPOSED,
        CaseState.SCHEDULED,
        CaseState.DISCUSSED,
        CaseState.DECIDED,
        CaseState.IMPLEMENTED,
    ]
    for before, after in zip(path, path[1:], strict=False):
        check_transition(before, after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (CaseState.PROPOSED, CaseState.DECIDED),  # no decision without a discussion
        (CaseState.PROPOSED, CaseState.DISCUSSED),
        (CaseState.SCHEDULED, CaseState.DECIDED),
        (CaseState.DECIDED, CaseState.WITHDRAWN),  # the decision is in the record already
        (CaseState.IMPLEMENTED, CaseState.PROPOSED),
        (CaseState.WITHDRAWN, CaseState.PROPOSED),
    ],
)
def test_a_skipped_or_backward_step_is_refused_naming_what_is_allowed(
    before: CaseState, after: CaseState
) -> None:
    with pytest.raises(RecordRefused) as refused:
        check_transition(before, after)
    (problem,) = refused.value.problems
    assert problem.code == "MDT_BAD_TRANSITION"
    assert set(problem.accepted or ()) == {s.value for s in TRANSITIONS[before]}


def test_withdrawal_needs_a_reason() -> None:
    with pytest.raises(RecordRefused) as refused:
        check_transition(CaseState.PROPOSED, CaseState.WITHDRAWN, "  ")
    assert refused.value.problems[0].code == "MDT_REASON_REQUIRED"
    check_transition(CaseState.SCHEDULED, CaseState.WITHDRAWN, "patient declined")


def test_terminal_states_lead_nowhere() -> None:
    assert TRANSITIONS[CaseState.IMPLEMENTED] == frozenset()
    assert TRANSITIONS[CaseState.WITHDRAWN] == frozenset()


# ---- quorum -------------------------------------------------------------------------------------


def test_diagnosis_needs_radiology_nuclear_medicine_and_oncology() -> None:
    check = check_quorum(QuestionType.DIAGNOSIS, [Specialty.RADIOLOGY, Specialty.ONCOLOGY])
    assert not check.met
    assert check.missing == (Specialty.NUCLEAR_MEDICINE,)
    full = check_quorum(
        QuestionType.DIAGNOSIS,
        [Specialty.RADIOLOGY, Specialty.ONCOLOGY, Specialty.NUCLEAR_MEDICINE, Specialty.NURSING],
    )
    assert full.met and full.missing == ()


@pytest.mark.parametrize("question", [QuestionType.SURGERY_INTERVENTION, QuestionType.RADIOTHERAPY])
def test_surgery_and_radiotherapy_need_spine_surgery_radiotherapy_and_oncology(
    question: QuestionType,
) -> None:
    check = check_quorum(question, [Specialty.ONCOLOGY, Specialty.RADIOTHERAPY])
    assert check.missing == (Specialty.ORTHOPAEDICS_SPINE,)


def test_the_quorum_table_is_data_and_must_cover_every_question() -> None:
    table = parse_quorum({q.value: {"required": ["oncology"]} for q in QuestionType})
    assert table[QuestionType.ONJ] == (Specialty.ONCOLOGY,)
    with pytest.raises(ConfigError, match="no entry for onj"):
        parse_quorum({q.value: {"required": []} for q in QuestionType if q.value != "onj"})
    with pytest.raises(ConfigError, match="bad entry"):
        parse_quorum({"diagnosis": {"required": ["astrology"]}})


# ---- the responsibility table --------------------------------------------------------------------


def test_a_confirmation_gives_the_clinician_a_plan_and_the_nurse_a_dental_check() -> None:
    day = dt.date(2026, 10, 23)
    tasks = tasks_for([DecisionType.BM_CONFIRMED], day, default_table())
    assert {(t.code, t.owner_role, t.due) for t in tasks} == {
        ("record_confirmation_plan_bta", "clinician", dt.date(2026, 11, 6)),
        ("dental_check", "nurse", dt.date(2026, 10, 30)),
    }


def test_two_decisions_giving_the_same_task_make_one() -> None:
    day = dt.date(2026, 10, 23)
    tasks = tasks_for([DecisionType.BM_CONFIRMED, DecisionType.BTA_START], day, default_table())
    assert [t.code for t in tasks].count("dental_check") == 1


def test_every_decision_has_a_default_responsibility() -> None:
    covered = {r.decision for r in default_table()}
    assert covered == set(DecisionType)


def test_a_responsibility_row_is_checked_like_input() -> None:
    with pytest.raises(RecordRefused) as refused:
        validate_row("bm_confirmed", "x", "surgeon", 400, "中", "")
    assert {(p.path, p.code) for p in refused.value.problems} == {
        ("/owner", "UNKNOWN_CODE"),
        ("/due_days", "OUT_OF_RANGE"),
        ("/en", "MISSING_FIELD"),
    }


def test_the_packaged_toml_files_parse() -> None:
    from importlib.resources import files

    for name in ("quorum.toml", "responsibility.toml"):
        tomllib.loads(files("bonepath.mdt").joinpath(name).read_text(encoding="utf-8"))


# ---- decisions ----------------------------------------------------------------------------------


def _decision(*decisions: Decision, day: dt.date = REFERRAL_DAY) -> CaseDecision:
    return CaseDecision(
        decided_on=day,
        decisions=decisions,
        rationale="骨扫描与CT一致，符合骨转移",
        attendees=(
            Specialty.RADIOLOGY,
            Specialty.NUCLEAR_MEDICINE,
            Specialty.ONCOLOGY,
            Specialty.NURSING,
        ),
    )


def test_contradicting_or_incomplete_decisions_are_refused_together() -> None:
    bad = CaseDecision(
        decided_on=REFERRAL_DAY,
        decisions=(
            Decision(DecisionType.BM_CONFIRMED),
            Decision(DecisionType.BM_EXCLUDED),
            Decision(DecisionType.BTA_START),
            Decision(DecisionType.BTA_STOP, stop_reason="pain_relief"),
        ),
        rationale="",
        attendees=(),
    )
    with pytest.raises(RecordRefused) as refused:
        check_decision(bad)
    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("/decisions", "MDT_CONFLICTING_DECISIONS"),
        ("/decisions", "MDT_CONFLICTING_DECISIONS"),
        ("/decisions/2/drug", "MISSING_FIELD"),
        ("/rationale", "MISSING_FIELD"),
    ]


def test_a_confirmation_writes_the_mdt_item_and_the_status() -> None:
    rec = record(SUSPECTED)
    doc = apply_decision(
        rec.to_json_dict(),
        _decision(
            Decision(DecisionType.BM_CONFIRMED),
            Decision(DecisionType.BTA_START, drug="zoledronic_acid"),
        ),
        QuestionType.DIAGNOSIS,
    )
    updated = parse_record(doc, today=REFERRAL_DAY)
    assert updated.bone_metastasis is not None
    assert updated.bone_metastasis.status is not None
    assert updated.bone_metastasis.status.value == "confirmed"
    assert updated.bone_metastasis.confirmed_date == REFERRAL_DAY
    assert updated.bta_plan is not None and updated.bta_plan.drug.value == "zoledronic_acid"
    (item,) = updated.events.mdt
    assert item.question is not None and item.question.value == "diagnosis"
    assert [d.value for d in item.decisions] == ["bm_confirmed", "bta_start"]
    # nursing has no record department: it is counted once as "other"
    assert [a.value for a in item.attendees] == [
        "radiology",
        "nuclear_medicine",
        "oncology",
        "other",
    ]
    assert rec.bone_metastasis is not None and rec.bone_metastasis.status is not None
    assert rec.bone_metastasis.status.value == "suspected"  # the input is not changed


def test_a_confirmation_dated_in_the_future_is_refused_by_the_record() -> None:
    doc = apply_decision(
        record(SUSPECTED).to_json_dict(),
        _decision(Decision(DecisionType.BM_CONFIRMED, confirmed_date=dt.date(2026, 11, 30))),
        QuestionType.DIAGNOSIS,
    )
    with pytest.raises(RecordRefused) as refused:
        parse_record(doc, today=REFERRAL_DAY)
    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("/bone_metastasis/confirmed_date", "FUTURE_DATE")
    ]


def test_surgery_questions_are_written_with_the_record_code() -> None:
    assert QuestionType.SURGERY_INTERVENTION.record_code.value == "surgery"
    assert question_for_triggers(["SURG-01", "PAIN"]) is QuestionType.SURGERY_INTERVENTION
    assert question_for_triggers(["PAIN"]) is QuestionType.PAIN
    assert question_for_triggers([]) is QuestionType.OTHER


# ---- the case summary ---------------------------------------------------------------------------


def test_the_summary_shows_what_the_rules_saw_with_scores_and_sources() -> None:
    summary = case_summary(record(UNSTABLE), REFERRAL_DAY)
    assert summary["patient"]["age_years"] == 70
    assert summary["patient"]["histology"] == "squamous"
    femur, spine = summary["lesions"]
    # peritrochanteric 3 + mechanical pain 3 + lytic 3 + cortex > 2/3 3
    assert (femur["site"], femur["mirels"]) == ("femur", 12)
    assert (spine["level"], spine["sins"], spine["mirels"]) == ("L1", 11, None)
    assert summary["tokuhashi"] == {"total": None, "missing": ["kps", "visceral_metastasis"]}
    assert summary["renal"]["creatinine"] == {"value": 88.0, "unit": "umol/L", "date": "2026-10-10"}
    assert summary["renal"]["crcl_ml_min"] == 68.4
    # 2.1 + 0.02 × (40 − 30) mmol/L
    assert summary["calcium"]["corrected"] == 2.3 and summary["calcium"]["unit"] == "mmol/L"
    assert [d["dose_mg"] for d in summary["bta"]["doses"]] == [4.0]
    (ct,) = summary["imaging"]
    assert ct["bone_window_reviewed"] is True and ct["bone_window_source"] == "report"
    assert ct["report_text"].startswith("骨窗")
    assert summary["pain"]["nrs"] == 8 and summary["pain"]["strong_opioid_active"] is True
    mdt01 = next(f for f in summary["findings"] if f["rule"] == "MDT-01")
    assert mdt01["values"]["triggers"] == ["SURG-01", "SURG-02", "PAIN"]
    assert mdt01["sources"] and all(isinstance(s, str) for s in mdt01["sources"])


def test_the_summary_holds_no_identity_birth_date_or_ids() -> None:
    rec = record(SUSPECTED)
    text = repr(case_summary(rec, REFERRAL_DAY))
    for planted in ("王秀英", "13800001111", "1966-12-05", "MDT-SUSP"):
        assert planted not in text
