"""Sources on a Chinese page read in Chinese around their proper names (browser walk, 2026-12:
the patient page showed "唑来膦酸（择泰）说明书 (Cockcroft-Gault, actual weight)",
"Payne 1973 formula", "(Aapro 2008 copy)")."""

from __future__ import annotations

import re

from bonepath.rules import load_catalogue
from bonepath.web.clinical import citation

PROPER = re.compile(
    r"Cockcroft-Gault|Aapro|Kettle|Payne|Mirels|Fisher et al\., Spine|Tokuhashi|NICE|Patchell"
    r"|J Bone Oncol|ESMO|NCCN|CTCAE|bonepath|rules\.md|Xgeva|Zometa|SINS|MSCC|Frankel"
)


def _labels(rule: str) -> list[str]:
    return [citation(c, "zh").label for c in load_catalogue()[rule].sources]


def test_label_phrases_read_in_chinese() -> None:
    assert "唑来膦酸（择泰）说明书（Cockcroft-Gault公式，按实际体重）" in _labels("SCORE-CG")
    assert "Payne 1973 公式" in _labels("SCORE-CCA")
    assert any("转引自 Aapro 2008" in label for label in _labels("BTA-03"))


def test_no_english_words_left_on_chinese_sources_but_proper_names() -> None:
    left = {
        (rule.id, label)
        for rule in load_catalogue()
        for label in _labels(rule.id)
        if re.search(r"[a-z]{3,}", PROPER.sub("", label))
    }
    assert left == set()
