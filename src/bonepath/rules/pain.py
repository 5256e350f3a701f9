"""PAIN: assessment and analgesia (rules.md §8). "Pain" = the latest symptoms item within 30 days."""

from __future__ import annotations

import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import add_days, is_true, within_days_before
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.sources import Mark, ext, gl24
from bonepath.vocab import Family, FindingKind, Severity

NCCN = ext("NCCN Adult Cancer Pain")


@rule(
    "PAIN-01",
    family=Family.PAIN,
    kind=FindingKind.DATA_NEEDED,
    severity=Severity.MEDIUM,
    title=("请评估骨痛（NRS）", "Assess bone pain (NRS)"),
    logic=(
        "骨转移已确诊，30天内无骨痛NRS评分：请评估并记录（疼痛评估是镇痛管理的前提）。",
        "Bone metastasis confirmed and no bone-pain NRS within 30 days: assess and record it (assessment comes before analgesia).",
    ),
    sources=(gl24("§3.3", "充分进行疼痛评估是…前提"),),
    values=("last_assessed",),
)
def pain01(f: Frame) -> ir.Table:
    t = f.facts
    recent = is_true(within_days_before(t.last_pain_assessed, t.as_of, 30))
    return fire(t, t.confirmed & ~recent, last_assessed=t.last_pain_assessed)


def _band(rule_id: str, low: int, high: int, sev: Severity, zh: str, en: str, logic: tuple[str, str]) -> None:
    @rule(
        rule_id,
        family=Family.PAIN,
        kind=FindingKind.ACTION,
        severity=sev,
        title=(zh, en),
        logic=logic,
        sources=(gl24("§3.3.1"), NCCN),
        values=("nrs",),
    )
    def band(f: Frame) -> ir.Table:
        t = f.facts
        cond = is_true(t.pain_nrs >= low) & is_true(t.pain_nrs <= high)
        return fire(t, cond, nrs=t.pain_nrs)


_band(
    "PAIN-02", 1, 3, Severity.LOW, "轻度疼痛（NRS 1–3）", "Mild pain (NRS 1–3)",
    ("NRS 1–3：非阿片类镇痛药±辅助药；注意肾毒性（SAFE-12）。", "NRS 1–3: non-opioid ± adjuvant; check SAFE-12 (NSAID nephrotoxicity)."),
)
_band(
    "PAIN-03", 4, 6, Severity.MEDIUM, "中度疼痛（NRS 4–6）", "Moderate pain (NRS 4–6)",
    ("NRS 4–6：短效阿片类药物滴定，稳定后换长效制剂。", "NRS 4–6: short-acting opioid, titrate, then long-acting."),
)
_band(
    "PAIN-04", 7, 10, Severity.HIGH, "重度疼痛（NRS 7–10）", "Severe pain (NRS 7–10)",
    ("NRS 7–10：快速短效阿片滴定，当日复评。", "NRS 7–10: rapid short-acting opioid titration, same-day review."),
)


@rule(
    "PAIN-05",
    family=Family.PAIN,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("药物镇痛不足或机械性疼痛：转放疗/外科", "Refractory or mechanical pain: refer to RT / surgery"),
    logic=(
        "镇痛药使用≥7天后NRS仍≥4，或机械性疼痛：转放疗（RT-01）或外科评估（SURG-01/02）。",
        "NRS ≥ 4 despite an analgesic started ≥ 7 days before the assessment, or mechanical pain: refer to radiotherapy (RT-01) or surgery (SURG-01/02).",
    ),
    sources=(gl24("§3.3.2"), gl24("§3.6"), ext("ESMO 2020 [I,A]", Mark.VERIFIED)),
    values=("nrs", "mechanical_pain"),
)
def pain05(f: Frame) -> ir.Table:
    t = f.facts
    refractory = is_true(t.pain_nrs >= 4) & is_true(t.analgesic_since <= add_days(t.pain_date, -7))
    mechanical = is_true(t.pain_mechanical)
    return fire(
        t, refractory | mechanical, nrs=t.pain_nrs, mechanical_pain=mechanical
    )
