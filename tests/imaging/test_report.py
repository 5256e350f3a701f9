"""The CT report checker (bonepath.imaging.report): interfaces.md example, negation and hedging
patterns, landmarks that are not bone, levels, and the labelled corpus (tests/imaging/corpus.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonepath.imaging.report import EmptyReport, ReportCheck, check_report, split_sentences

CORPUS = Path(__file__).with_name("corpus.jsonl")
FIELDS = ("site", "level", "side", "finding", "certainty")


def _corpus(split: str) -> list[dict[str, Any]]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [item for item in map(json.loads, lines) if item["split"] == split]


def _tuples(findings: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(f[k] for k in FIELDS) for f in findings)


def test_the_interfaces_md_example_is_printed_exactly() -> None:
    assert check_report("骨窗示L3椎体溶骨性骨质破坏").to_json() == {
        "bone_window": "described",
        "evidence": ["骨窗示L3椎体溶骨性骨质破坏"],
        "findings": [
            {
                "site": "lumbar_spine",
                "level": "L3",
                "side": None,
                "finding": "lytic",
                "certainty": "positive",
                "text": "骨窗示L3椎体溶骨性骨质破坏",
            }
        ],
    }


def test_a_general_normal_statement_is_evidence_without_a_finding() -> None:
    check = check_report("右肺上叶结节。所见骨骼未见异常。")
    assert check.bone_window == "described"
    assert check.evidence == ("所见骨骼未见异常",)
    assert check.findings == ()


@pytest.mark.parametrize(
    ("text", "finding", "certainty"),
    [
        ("未见明显骨质破坏", "destruction", "negated"),
        ("所见椎体未见骨转移", "metastasis", "negated"),
        ("无病理性骨折", "fracture", "negated"),
        ("排除骨转移", "metastasis", "negated"),
        ("骨转移已排除", "metastasis", "negated"),
        ("骨转移可能性不大", "metastasis", "negated"),
        ("不考虑骨转移", "metastasis", "negated"),
        ("骨转移不除外", "metastasis", "suspicious"),
        ("不能排除骨转移", "metastasis", "suspicious"),
        ("考虑骨转移可能", "metastasis", "suspicious"),
        ("骨转移待排", "metastasis", "suspicious"),
        ("需除外骨转移", "metastasis", "suspicious"),
        ("可疑骨质破坏", "destruction", "suspicious"),
        ("骨质破坏？", "destruction", "suspicious"),
        ("骨质破坏，建议进一步检查", "destruction", "suspicious"),
        ("骨质破坏，请结合临床", "destruction", "suspicious"),
        ("骨质破坏", "destruction", "positive"),
        ("No osseous metastases.", "metastasis", "negated"),
        ("Bone destruction is not seen.", "destruction", "negated"),
        ("Osseous metastasis cannot be excluded.", "metastasis", "suspicious"),
        ("Pathologic fracture, likely.", "fracture", "suspicious"),
        ("Lytic bone lesion.", "lytic", "positive"),
    ],
)
def test_negation_and_hedging_as_radiologists_write_them(
    text: str, finding: str, certainty: str
) -> None:
    [f] = check_report(text).findings
    assert (f.finding, f.certainty) == (finding, certainty)


@pytest.mark.parametrize(
    "text",
    [
        "左锁骨上淋巴结肿大，考虑转移。",
        "双侧肋膈角锐利。",
        "胸骨后甲状腺肿。",
        "髂血管旁淋巴结肿大。",
        "肝内多发低密度灶，考虑转移瘤。",
        "Left supraclavicular lymph node metastasis.",
        "行胸部CT平扫，采用肺窗及骨窗重建。",
        "Bones were not evaluated on this study.",
    ],
)
def test_landmarks_technique_and_other_organs_are_not_about_bone(text: str) -> None:
    check = check_report(text)
    assert (check.bone_window, check.findings) == ("not_described", ())


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("T7椎体骨质破坏", ["T7"]),
        ("胸7椎体骨质破坏", ["T7"]),
        ("第7胸椎骨质破坏", ["T7"]),
        ("第十二胸椎骨质破坏", ["T12"]),
        ("腰3椎体骨质破坏", ["L3"]),
        ("L3-5椎体骨质破坏", ["L3", "L4", "L5"]),
        ("T6、T9椎体骨质破坏", ["T6", "T9"]),
        ("颈7及胸1椎体骨质破坏", ["C7", "T1"]),
        ("骶1椎体骨质破坏", ["S1"]),
    ],
)
def test_vertebral_levels_in_every_common_spelling(text: str, levels: list[str]) -> None:
    assert [f.level for f in check_report(text).findings] == levels


def test_side_and_site_of_paired_bones() -> None:
    [f] = check_report("右侧第6肋骨骨质破坏。").findings
    assert (f.site, f.side) == ("rib", "right")
    [g] = check_report("Lytic lesion of the left femoral neck.").findings
    assert (g.site, g.side, g.finding) == ("femur", "left", "lytic")


def test_bone_suspicion_is_raised_by_a_stated_or_hedged_lesion_not_by_degeneration() -> None:
    assert check_report("L3椎体骨质破坏，考虑转移").bone_suspicion == "positive"
    assert check_report("不除外T7椎体转移").bone_suspicion == "suspicious"
    assert check_report("胸椎退行性变，骨质增生").bone_suspicion is None
    assert check_report("未见骨质破坏").bone_suspicion is None


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_an_empty_text_is_refused(text: str) -> None:
    with pytest.raises(EmptyReport):
        check_report(text)


def test_sentences_keep_a_question_mark_and_drop_enumeration() -> None:
    assert split_sentences("1. 右肺结节。2、L3椎体骨质破坏？") == ["右肺结节", "L3椎体骨质破坏?"]


def test_the_development_corpus_is_read_as_labelled() -> None:
    """The development part (rules were written against it): every report but the two
    listed misses in bench/README.md agrees exactly."""
    items = _corpus("dev")
    assert len(items) >= 150
    wrong = [
        item["id"]
        for item in items
        if (got := check_report(item["text"]).to_json())["bone_window"] != item["bone_window"]
        or _tuples(got["findings"]) != _tuples(item["findings"])
    ]
    assert wrong == ["dev-165"]


def test_the_held_out_corpus_keeps_its_measured_accuracy() -> None:
    """The held-out part was never used to write rules: this pins the measured figures
    (bench/README.md) so a change that lowers them is seen."""
    items = _corpus("held_out")
    tp = fp = fn = 0
    described_wrong = 0
    for item in items:
        got = check_report(item["text"]).to_json()
        gold, pred = _tuples(item["findings"]), _tuples(got["findings"])
        hit = sum((gold & pred).values())
        tp, fp, fn = tp + hit, fp + sum(pred.values()) - hit, fn + sum(gold.values()) - hit
        described_wrong += got["bone_window"] != item["bone_window"]
    assert (tp, fp, fn, described_wrong) == (97, 5, 4, 1)


def test_the_corpus_has_at_least_300_sentences_normal_and_abnormal() -> None:
    items = _corpus("dev") + _corpus("held_out")
    assert sum(len(split_sentences(i["text"])) for i in items) >= 300
    assert {i["bone_window"] for i in items} == {"described", "not_described"}
    certainties = {f["certainty"] for i in items for f in i["findings"]}
    assert certainties == {"positive", "suspicious", "negated"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_no_input_crashes_the_checker(text: str) -> None:
    if not text.strip():
        with pytest.raises(EmptyReport):
            check_report(text)
        return
    check = check_report(text)
    assert isinstance(check, ReportCheck)
    assert check.bone_window in {"described", "not_described"}
    assert (check.bone_window == "described") == bool(check.evidence)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "骨窗示",
                "L3",
                "T7",
                "胸7",
                "椎体",
                "未见",
                "不除外",
                "考虑",
                "可能",
                "骨质破坏",
                "溶骨性",
                "，",
                "。",
                "?",
                "左侧",
                "第5肋骨",
                "no ",
                "lytic ",
                "rib ",
                "cannot be excluded",
                "转移",
            ]
        ),
        min_size=1,
        max_size=30,
    )
)
def test_no_mix_of_report_vocabulary_crashes_the_checker(parts: list[str]) -> None:
    text = "".join(parts)
    if text.strip():
        for f in check_report(text).findings:
            assert f.certainty in {"positive", "suspicious", "negated"}
            assert f.level is None or f.level[0] in "CTLS"
