"""TX: systemic therapy prompts relevant to bone metastasis (rules.md §7)."""

from __future__ import annotations

import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import is_true, str_list
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.sources import gl24, system, wp
from bonepath.vocab import Family, FindingKind, Gene, Severity


def _positive(t: ir.Table, gene: Gene) -> ir.BooleanValue:
    return is_true(t[f"driver_{gene.value}"] == "positive")


@rule(
    "TX-02",
    family=Family.TX,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("驱动基因阳性：首选靶向治疗", "Driver-positive: targeted therapy first"),
    logic=(
        "晚期、驱动基因阳性、尚无靶向治疗记录：首选靶向治疗。",
        "Advanced disease, a driver gene positive, no targeted treatment recorded: targeted therapy first.",
    ),
    sources=(gl24("§3.2", "驱动基因阳性…应首选靶向治疗"),),
    values=("genes",),
)
def tx02(f: Frame) -> ir.Table:
    t = f.facts
    genes = str_list([(_positive(t, g), g.value) for g in Gene])
    any_positive = _positive(t, Gene.EGFR)
    for g in Gene:
        any_positive = any_positive | _positive(t, g)
    cond = is_true(t.setting == "advanced") & any_positive & ~t.has_targeted
    return fire(t, cond, genes=genes)


@rule(
    "TX-03",
    family=Family.TX,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("驱动基因阴性、体能好：含铂双药化疗联合免疫治疗", "Driver-negative, fit: platinum doublet + immunotherapy"),
    logic=(
        "晚期、无阳性驱动基因、EGFR和ALK均为阴性、ECOG≤1、尚无全身治疗记录：一线首选含铂双药化疗联合免疫检查点抑制剂。",
        "Advanced disease, no positive driver, EGFR and ALK negative, ECOG ≤ 1, no systemic treatment recorded: platinum doublet + ICI first line.",
    ),
    sources=(gl24("§3.2", "含铂双药化疗联合 ICIs 作为一线治疗的首选"), system("ECOG ≤ 1")),
    values=("ecog",),
)
def tx03(f: Frame) -> ir.Table:
    t = f.facts
    any_positive = _positive(t, Gene.EGFR)
    for g in Gene:
        any_positive = any_positive | _positive(t, g)
    negatives = is_true(t.driver_EGFR == "negative") & is_true(t.driver_ALK == "negative")
    cond = (
        is_true(t.setting == "advanced")
        & ~any_positive
        & negatives
        & is_true(t.ecog <= 1)
        & ~t.has_systemic
    )
    return fire(t, cond, ecog=t.ecog)


@rule(
    "TX-04",
    family=Family.TX,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    title=("免疫治疗中的骨转移患者未用骨改良药物", "Bone metastasis on immunotherapy without a BTA"),
    logic=(
        "骨转移已确诊、接受免疫治疗（含联合），从未使用骨改良药物：加用骨改良药物（回顾性数据支持）。",
        "Bone metastasis confirmed, on immunotherapy (alone or combined), no BTA dose: add a BTA (observational evidence).",
    ),
    sources=(wp("ICI + BTA retrospective data"), system("TX-04")),
    values=(),
)
def tx04(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, t.confirmed & t.has_ici & (t.n_doses == 0))
