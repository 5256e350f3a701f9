"""Sources as a clinician reads them: ``《白皮书》结语``, ``《指南解读》表1``, ``唑来膦酸（择泰）说明书``.

A rule's or an indicator's :class:`~bonepath.rules.sources.Citation` carries the seed file name
and section (``000_….txt, 结语``), which is what the JSON contracts print; pages and printed
reports show :func:`citation` instead, with the quotation on demand. Kept here, beside the
sources, so that both the web pages and the quality report (below the web layer) use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bonepath.rules.sources import GL24_FILE, WP_FILE, Citation, Mark

Pair = tuple[str, str]


def text(pair: Pair, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


# ---- sources -----------------------------------------------------------------------------------

SEED_TITLES: Final[Mapping[str, tuple[Pair, Pair]]] = {
    WP_FILE: (
        ("《白皮书》", "White paper"),
        (
            "中国肺癌骨转移诊疗现状白皮书",
            "White paper on lung-cancer bone metastasis care in China",
        ),
    ),
    GL24_FILE: (
        ("《指南解读》", "Guideline 2024 (interpretation)"),
        (
            "解读《中国肺癌骨转移临床诊疗指南(2024版)》",
            "Chinese guideline for lung-cancer bone metastasis (2024), interpretation",
        ),
    ),
}
OUTSIDE_LABELS: Final[Sequence[tuple[str, str]]] = (
    ("Zometa label renal dose table", "唑来膦酸（择泰）说明书肾功能剂量表"),
    ("Zometa label HCM", "唑来膦酸（择泰）说明书 恶性肿瘤高钙血症"),
    ("Zometa label (SCr before each dose)", "唑来膦酸（择泰）说明书（每次给药前查血肌酐）"),
    ("Xgeva/Zometa labels", "地舒单抗（安加维）/唑来膦酸（择泰）说明书"),
    ("Zometa label", "唑来膦酸（择泰）说明书"),
    ("Xgeva label", "地舒单抗（安加维）说明书"),
    ("bisphosphonate/denosumab labels", "双膦酸盐/地舒单抗说明书"),
    ("denosumab boxed warning", "地舒单抗黑框警告"),
    ("denosumab labels", "地舒单抗说明书"),
    ("Aredia (pamidronate) label, severe renal impairment", "帕米膦酸二钠说明书：重度肾功能不全"),
    ("EU Bondronat SmPC", "伊班膦酸（邦罗力）欧盟说明书"),
    ("Chinese zoledronic acid label formula", "国内唑来膦酸说明书公式"),
    ("monitoring timing", "监测时机"),
    ("(secondary copy)", "（二手引用）"),
    ("2019 consensus", "2019年专家共识"),
    ("NCCN Adult Cancer Pain", "NCCN成人癌痛指南"),
    ("(summary)", "（摘要）"),
    (" (Cockcroft-Gault, actual weight)", "（Cockcroft-Gault公式，按实际体重）"),
    (" (albumin-corrected serum calcium)", "（白蛋白校正血钙）"),
    ("Payne 1973 formula", "Payne 1973 公式"),
    ("high-risk list", "高危清单"),
    (" (Aapro 2008 copy)", "（转引自 Aapro 2008）"),
    ("ibandronate label", "伊班膦酸说明书"),
    (" renal-deterioration rule (secondary)", "：肾功能恶化规则（二手引用）"),
    ("1.4 mg/dL cut-off", "1.4 mg/dL 界值"),
    (
        "labels exclude dialysis from Cockcroft-Gault dosing",
        "说明书：透析患者不按Cockcroft-Gault给药",
    ),
    ("J Bone Oncol 2021 table", "J Bone Oncol 2021 表"),
    (" (Dental evaluation prior to start)", "（用药前口腔评估）"),
    (" (premature discontinuation)", "（过早停药）"),
    ("ICI + BTA retrospective data", "免疫检查点抑制剂联合骨改良药物的回顾性数据"),
    (" (MSCC emergency)", "（脊髓压迫急症）"),
)
SECTIONS_EN: Final[Sequence[tuple[str, str]]] = (
    ("表1 脚注", "Table 1, footnote"),
    ("表1", "Table 1"),
    ("表2", "Table 2"),
    ("结语", "Conclusion"),
    ("长期随访表", "Long-term follow-up table"),
    ("规范用药", "Standard dosing"),
    ("专家组倡议", "Expert recommendations"),
    ("区域性MDT协作网络", "regional MDT networks"),
    ("CT骨窗 专家倡议", "CT bone window, expert recommendation"),
    ("倡议", "recommendation"),
    ("骨代谢标志物", "Bone turnover markers"),
    ("晚期: 初诊, 第6月, 第12月", "advanced: diagnosis, month 6, month 12"),
    ("CT 含骨窗, 第3/6/9/12月", "CT with bone window, months 3/6/9/12"),
    ("初诊", "at diagnosis"),
)
"""The seeds' section names in English (the English page)."""
MARK_NOTES: Final[Mapping[Mark, Pair]] = {
    Mark.VERIFIED: ("已在存档原文中核对", "checked against the stored source"),
    Mark.KNOWN: (
        "公认的已发表事实，发布前待核对",
        "standard published fact, to verify before release",
    ),
    Mark.SYSTEM: (
        "bonepath 为使规则可计算而作的约定",
        "a bonepath convention that makes the rule computable",
    ),
}


@dataclass(frozen=True, slots=True)
class ShownCitation:
    """A source as a clinician reads it, with what is shown on demand (the quotation, the
    full document title or file, and how it was verified)."""

    label: str
    quote: str | None
    document: str
    note: str


def citation(c: Citation, lang: str) -> ShownCitation:
    """``《白皮书》结语``, ``《指南解读》表1``, ``唑来膦酸（择泰）说明书``,
    ``bonepath 约定（rules.md）``."""
    note = text(MARK_NOTES[c.mark], lang) if c.mark else ""
    if c.label in SEED_TITLES:
        short, full = SEED_TITLES[c.label]
        section = c.section or ""
        if lang == "en":
            for chinese, english in SECTIONS_EN:
                section = section.replace(chinese, english)
        else:
            for english, chinese in OUTSIDE_LABELS:
                section = section.replace(english, chinese)
        label = text(short, lang) + (("" if lang != "en" else ", ") + section if section else "")
        return ShownCitation(label, c.quote, text(full, lang), note)
    if c.label.startswith("bonepath convention"):
        label = "bonepath 约定（rules.md）" if lang != "en" else "bonepath convention (rules.md)"
        return ShownCitation(label, c.section, "docs/rules.md", note)
    label = c.label
    if lang != "en":
        for english, chinese in OUTSIDE_LABELS:
            label = label.replace(english, chinese)
    return ShownCitation(label, c.quote, c.label, note)
