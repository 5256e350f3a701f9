"""SCORE: renal function and corrected calcium, reported as findings (rules.md §1)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import is_true, lit, str_list
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.sources import Mark, ext, system
from bonepath.vocab import Family, FindingKind, Severity


@rule(
    "SCORE-CG",
    family=Family.SCORE,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    kinds=(FindingKind.INFO, FindingKind.DATA_NEEDED),
    title=("肌酐清除率（Cockcroft-Gault）", "Creatinine clearance (Cockcroft-Gault)"),
    logic=(
        "骨转移确诊、正在使用骨改良药物或已有用药计划时计算：CrCl=(140−年龄)×体重/(72×血肌酐mg/dL)，女性×0.85。缺体重或血肌酐时提示补录，且不给出双膦酸盐剂量。透析患者不计算（VAL-10：按CrCl<30处理）。",
        "Computed when bone metastasis is confirmed, a BTA is active or planned: CrCl = (140 − age) × weight / (72 × SCr mg/dL), × 0.85 if female. Without weight or creatinine: data needed, and no bisphosphonate dose is given. Not on dialysis (VAL-10: treated as CrCl < 30).",
    ),
    sources=(ext("Zometa label (Cockcroft-Gault, actual weight)"), ext("Chinese zoledronic acid label formula", Mark.VERIFIED)),
    values=("score", "total", "scr_mg_dl", "weight_kg", "age_years"),
    kind_values={FindingKind.DATA_NEEDED: ("score", "missing")},
)
def score_cg(f: Frame) -> ir.Table:
    t = f.facts
    # VAL-10: on dialysis Cockcroft-Gault is not valid — no CrCl and no data_needed form
    applies = (t.confirmed | t.active | t.plan_drug.notnull()) & ~t.dialysis
    missing = str_list([(t.weight_kg.isnull(), "weight_kg"), (t.scr_mg_dl.isnull(), "creatinine")])
    complete = t.weight_kg.notnull() & t.scr_mg_dl.notnull()
    return fire(
        t,
        applies,
        # the data_needed form carries its own default severity (rules.md: data_needed / high)
        kind=ibis.ifelse(is_true(complete), "info", "data_needed"),
        severity=ibis.ifelse(is_true(complete), "low", "high"),
        score=lit("cockcroft_gault"),
        total=t.crcl,
        scr_mg_dl=t.scr_mg_dl,
        weight_kg=t.weight_kg,
        age_years=t.age_years,
        missing=missing,
    )


@rule(
    "SCORE-CCA",
    family=Family.SCORE,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("白蛋白校正血钙", "Albumin-corrected calcium"),
    logic=(
        "30天内有血钙时计算：mmol/L：Ca+0.02×(40−白蛋白g/L)；mg/dL：Ca+0.8×(4.0−白蛋白g/dL)；白蛋白取血钙前后7天内最近一次，无白蛋白则报告实测值（未校正）。",
        "When a calcium is dated within 30 days: mmol/L: Ca + 0.02 × (40 − albumin g/L); mg/dL: Ca + 0.8 × (4.0 − albumin g/dL), with the latest albumin within 7 days of the calcium; without albumin the measured value (not corrected).",
    ),
    sources=(ext("Zometa label (albumin-corrected serum calcium)", Mark.VERIFIED), ext("Payne 1973 formula"), system("7-day albumin pairing, 30-day recency")),
    values=("score", "total", "ca_unit", "corrected"),
)
def score_cca(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t,
        t.ca_recent,
        score=lit("corrected_calcium"),
        total=t.cca,
        ca_unit=t.ca_unit,
        corrected=t.ca_corrected_flag,
    )
