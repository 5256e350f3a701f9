"""VAL: evaluation conventions that yield findings (rules.md §0: VAL-04, VAL-05)."""

from __future__ import annotations

import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import lit
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.sources import gl24, system
from bonepath.vocab import Drug, Family, FindingKind, Severity


@rule(
    "VAL-04",
    family=Family.VAL,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    per_item=True,
    title=("地舒单抗剂量不是120 mg：不计为骨改良药物给药", "Denosumab dose other than 120 mg: not counted as a BTA dose"),
    logic=(
        "地舒单抗单次剂量≠120 mg（60 mg为骨质疏松制剂或录入错误）：保留记录但不计为骨转移给药。",
        "A denosumab administration with dose_mg other than 120 (the 60 mg osteoporosis product, or an error) is kept but not counted as a bone-metastasis dose.",
    ),
    sources=(system("VAL-04"), gl24("表1")),
    values=("drug", "dose_mg", "date"),
)
def val04(f: Frame) -> ir.Table:
    bta = f.on_facts("bta")
    return fire(
        bta,
        (bta.drug == Drug.DENOSUMAB.value) & (bta.dose_mg != 120),
        item=bta.seq.cast("string"),
        drug=bta.drug,
        dose_mg=bta.dose_mg,
        date=bta.date,
    )


@rule(
    "VAL-05",
    family=Family.VAL,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("骨转移状态与影像/活检矛盾", "Bone-metastasis status contradicts imaging/biopsy"),
    logic=(
        "记录为“无骨转移”，但影像或活检已满足确诊标准（DX-07）：请核实；核实前不提示启动骨改良药物（BTA-01）。",
        "bone_metastasis.status is 'none' while imaging/biopsy meet DX-07: reconcile the record; BTA-01 is suppressed until then.",
    ),
    sources=(system("VAL-05"),),
    values=("recorded_status", "derived_status", "derived_date"),
)
def val05(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t,
        t.val05,
        recorded_status=lit("none"),
        derived_status=lit("confirmed"),
        derived_date=t.dx07_date,
    )
