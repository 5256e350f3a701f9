"""BTA: bone-targeted agents — start, dose, continuation (rules.md §4).

Reference doses (BTA-02, no finding) and the renal bands live in ``rules/tables/bta_dosing.json``.
The dose of a running course uses the baseline CrCl (D-14); BTA-03/04/05 do not fire while
SAFE-04 fires or CrCl is not computable (BTA-05 excepted for age ≥ 65).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import (
    add_days,
    days_between,
    is_true,
    join_codes,
    lit,
    within_days_before,
)
from bonepath.rules.facts import valid_doses
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.scores import (
    ibandronate_dose_mg,
    ibandronate_infusion_min,
    incadronate_dose_mg,
    zoledronic_dose_mg,
)
from bonepath.rules.sources import Mark, ext, gl24, system, wp
from bonepath.vocab import Drug, Family, FindingKind, Severity

START_SOURCES = (
    wp("结语", "确诊后立即启动…无论有无骨相关症状或病灶数量和位置"),
    gl24("§3", "一旦确诊骨转移应立即开始使用骨改良药物治疗"),
)


@rule(
    "BTA-01",
    family=Family.BTA,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("确诊骨转移：立即启动骨改良药物", "Bone metastasis confirmed: start a bone-targeted agent"),
    logic=(
        "骨转移已确诊，从未用过骨改良药物、无停药记录、预计生存期不短于3个月：确诊后14天内启动，与有无骨痛、病灶数量和部位无关。",
        "Bone metastasis confirmed, no BTA dose ever, no stop recorded, life expectancy not < 3 months: start within 14 days of confirmation, whatever the pain, lesion count or site.",
    ),
    sources=(*START_SOURCES, system("due = confirmed_date + 14 d")),
    values=("confirmed_date", "days_since_confirmation"),
)
def bta01(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t,
        t.bta01,
        due=bta01_due(t),
        confirmed_date=t.confirmed_date,
        days_since_confirmation=t.days_since_confirmation,
    )


@rule(
    "BTA-01b",
    family=Family.BTA,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("疑似骨转移：不常规预防性使用骨改良药物", "Suspected bone metastasis: no routine BTA prophylaxis"),
    logic=(
        "骨转移尚未确诊（疑似）：不推荐常规预防性使用骨改良药物，先完成诊断流程（DX规则）。",
        "Bone metastasis suspected, not confirmed: no routine BTA prophylaxis; complete the diagnostic pathway (DX rules).",
    ),
    sources=(gl24("§3", "尚未确诊的患者并不推荐进行常规预防"),),
    values=("status",),
)
def bta01b(f: Frame) -> ir.Table:
    t = f.facts
    # VAL-05: "No BTA rule fires until the record is reconciled" (clarifications C-13)
    return fire(t, t.suspected & ~t.val05, status=lit("suspected"))


@rule(
    "BTA-01c",
    family=Family.BTA,
    kind=FindingKind.INFO,
    severity=Severity.MEDIUM,
    title=("预计生存期<3个月：是否启动由医生决定", "Life expectancy < 3 months: start is a clinician decision"),
    logic=(
        "同BTA-01，但最近记录的预计生存期<3个月：是否启动骨改良药物由临床医生决定。",
        "As BTA-01 but the latest recorded life expectancy is < 3 months: whether to start is a clinician decision.",
    ),
    sources=(ext("ESMO 2020 [I,B] (summary)", Mark.VERIFIED), system("D-04")),
    values=("life_expectancy_months",),
)
def bta01c(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, t.bta01c, life_expectancy_months=t.life_expectancy_months)


def _dosing_applies(t: ir.Table, drug: Drug) -> ir.BooleanValue:
    """Planned drug is ``drug`` and (BTA-01 fires or it is the active drug)."""
    active_drug = t.active & (t.current_drug == drug.value)
    return (t.drug_shown == drug.value) & (t.bta01 | active_drug)


DOSE_FORMS = (FindingKind.ACTION, FindingKind.INFO)
"""BTA-03/04/05 (v1.1): ``action``/``high`` when starting or when the dose must change;
``info``/``low`` for a course already at the recommended dose (never a worklist item)."""


def _dose_finding(t: ir.Table, when_: ir.BooleanValue, dose_mg: ir.FloatingValue, **values: ir.Value) -> ir.Table:
    """A BTA-03/04/05 firing: its form (action or info) and its due by rules.md §4 (v1.1).

    Acting: starting (BTA-01 fires; due = BTA-01's due) or the latest dose given differs from the
    recommended one (due = the next dose's due). Otherwise the dose of the next infusion is only
    shown with the patient.
    """
    changes = ~is_true((t.last_dose_mg - dose_mg).abs() < 1e-9)
    acting = t.bta01 | changes
    due = ibis.ifelse(t.bta01, bta01_due(t), t.due)
    return fire(
        t,
        when_,
        due=due,
        kind=ibis.ifelse(acting, FindingKind.ACTION.value, FindingKind.INFO.value),
        severity=ibis.ifelse(acting, Severity.HIGH.value, Severity.LOW.value),
        dose_mg=dose_mg,
        **values,
    )


def bta01_due(t: ir.Table) -> ir.DateValue:
    """BTA-01's due: confirmed_date + 14 d; a confirmation recorded without a date is due now
    (C-15)."""
    return ibis.ifelse(t.confirmed_date.notnull(), add_days(t.confirmed_date, 14), t.as_of)


@rule(
    "BTA-03",
    family=Family.BTA,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    kinds=DOSE_FORMS,
    title=("唑来膦酸按肌酐清除率给药", "Zoledronic acid dose by creatinine clearance"),
    logic=(
        "计划药物为唑来膦酸（开始用药或正在使用）：CrCl>60→4.0 mg；50–60→3.5 mg；40–<50→3.3 mg；30–<40→3.0 mg；100 mL中静滴≥15分钟。疗程中按基线CrCl。开始用药或末次剂量与推荐剂量不同时需处理（高）；剂量已正确时仅显示下次剂量（提示，不进工作清单）。",
        "Planned drug zoledronic acid (starting or active): CrCl > 60 → 4.0 mg; 50–60 → 3.5; 40–< 50 → 3.3; 30–< 40 → 3.0 mg; ≥ 15 min in 100 mL. A running course uses the baseline CrCl. An action (high) when starting or when the latest dose differs; at the right dose only the next dose is shown (info, not a worklist item).",
    ),
    sources=(
        ext("Zometa label renal dose table (Aapro 2008 copy)", Mark.VERIFIED),
        gl24("表2", "<60 减量至≤3.5 mg"),
        system("D-01"),
    ),
    values=("drug", "dose_mg", "crcl_ml_min", "infusion_min"),
)
def bta03(f: Frame) -> ir.Table:
    t = f.facts
    cond = _dosing_applies(t, Drug.ZOLEDRONIC_ACID) & ~t.safe04 & is_true(t.dose_crcl >= 30)
    return _dose_finding(
        t,
        cond,
        zoledronic_dose_mg(t.dose_crcl),
        drug=lit(Drug.ZOLEDRONIC_ACID.value),
        crcl_ml_min=t.dose_crcl,
        infusion_min=lit(15),
    )


@rule(
    "BTA-04",
    family=Family.BTA,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    kinds=DOSE_FORMS,
    title=("伊班膦酸按肌酐清除率给药", "Ibandronate dose by creatinine clearance"),
    logic=(
        "计划药物为伊班膦酸：CrCl≥50→6 mg静滴15分钟；30–<50→4 mg静滴60分钟；<30或透析→2 mg静滴60分钟。开始用药或剂量需调整时需处理，否则仅提示。",
        "Planned drug ibandronate: CrCl ≥ 50 → 6 mg over 15 min; 30–< 50 → 4 mg over 60 min; < 30 or dialysis → 2 mg over 60 min. An action when starting or when the dose must change, else info.",
    ),
    sources=(ext("EU Bondronat SmPC (Aapro 2008)", Mark.VERIFIED), gl24("表2", "<30 → 2 mg"), system("D-02")),
    values=("drug", "dose_mg", "crcl_ml_min", "infusion_min"),
)
def bta04(f: Frame) -> ir.Table:
    t = f.facts
    cond = _dosing_applies(t, Drug.IBANDRONATE) & (t.dose_crcl.notnull() | t.dialysis)
    return _dose_finding(
        t,
        cond,
        ibandronate_dose_mg(t.dose_crcl, t.dialysis),
        drug=lit(Drug.IBANDRONATE.value),
        crcl_ml_min=t.dose_crcl,
        infusion_min=ibandronate_infusion_min(t.dose_crcl, t.dialysis),
    )


@rule(
    "BTA-05",
    family=Family.BTA,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    kinds=DOSE_FORMS,
    title=("因卡膦酸剂量（年龄/肾功能）", "Incadronate dose (age, renal function)"),
    logic=(
        "计划药物为因卡膦酸：年龄≥65岁、CrCl<30或透析→5 mg，否则10 mg；静滴2–4小时。≥65岁即使无CrCl也给5 mg。开始用药或剂量需调整时需处理，否则仅提示。",
        "Planned drug incadronate: age ≥ 65, CrCl < 30 or dialysis → 5 mg, else 10 mg; infusion 2–4 h. Age ≥ 65 gives 5 mg even without a CrCl. An action when starting or when the dose must change, else info.",
    ),
    sources=(gl24("表1 脚注", "65岁以上…5 mg"), gl24("表2", "<30 → 5 mg"), system("label not verified; D-10")),
    values=("drug", "dose_mg", "age_years", "crcl_ml_min"),
)
def bta05(f: Frame) -> ir.Table:
    t = f.facts
    dose = incadronate_dose_mg(t.age_years, t.dose_crcl, t.dialysis)
    cond = _dosing_applies(t, Drug.INCADRONATE) & dose.notnull()
    return _dose_finding(
        t,
        cond,
        dose,
        drug=lit(Drug.INCADRONATE.value),
        age_years=t.age_years,
        crcl_ml_min=t.dose_crcl,
    )


@rule(
    "BTA-06",
    family=Family.BTA,
    kind=FindingKind.INFO,
    severity=Severity.MEDIUM,
    title=("地舒单抗120 mg皮下注射每4周", "Denosumab 120 mg SC every 4 weeks"),
    logic=(
        "计划药物为地舒单抗（开始或正在使用），或唑来膦酸因肾功能禁用（SAFE-04）时作为替代：120 mg皮下注射，每4周，无需肾功能调整，无负荷剂量。",
        "Planned drug denosumab (starting or active), or offered when zoledronic acid is contraindicated (SAFE-04): 120 mg SC every 4 weeks, no renal adjustment, no loading dose.",
    ),
    sources=(ext("Xgeva label"), gl24("表1"), system("D-03")),
    values=("drug", "dose_mg", "route", "interval_days"),
)
def bta06(f: Frame) -> ir.Table:
    t = f.facts
    # offered as the alternative when SAFE-04 stops zoledronic acid; not as a start while VAL-05
    # holds every BTA start (clarifications C-13)
    offered = t.safe04 & (t.active | ~t.val05)
    cond = _dosing_applies(t, Drug.DENOSUMAB) | offered
    return fire(
        t,
        cond,
        drug=lit(Drug.DENOSUMAB.value),
        dose_mg=lit(120.0),
        route=lit("sc"),
        interval_days=lit(28),
    )


@rule(
    "BTA-07",
    family=Family.BTA,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    kinds=(FindingKind.ALERT, FindingKind.INFO),
    title=("骨痛缓解/病情稳定/SRE不是停药理由", "Pain relief, stable disease or an SRE are not reasons to stop"),
    logic=(
        "因“骨痛缓解”或“疾病稳定”停药（警示：不是停药指征）；或用药期间90天内发生SRE、或SRE后停药（提示：继续用药，SRE不代表治疗失败）。",
        "A stop for pain relief or stable disease (alert: not a stop indication); or an SRE within 90 days on the course, or followed by a stop (info: continue; an SRE is not treatment failure).",
    ),
    sources=(
        wp("规范用药", "疾病稳定或骨痛缓解不应作为停药指征"),
        wp("规范用药", "避免因SRE出现而中断有效治疗"),
        system("90-day SRE look-back"),
    ),
    values=("reason",),
)
def bta07(f: Frame) -> ir.Table:
    t = f.facts
    bad_stop = (
        t.stop_date.notnull()
        & (t.stop_date >= t.last_dose_date)
        & t.stop_reason.isin(("pain_relief", "disease_stable"))
    )
    # "just-stopped": a course stopped on or after the SRE, whatever the recorded reason, is the
    # interruption the rule warns against (clarifications C-21)
    stopped_after_sre = (t.stop_date >= t.last_dose_date) & (t.stop_date >= t.last_sre_date)
    sre = (
        t.last_sre_date.notnull()
        & within_days_before(t.last_sre_date, t.as_of, 90)
        & (t.last_sre_date > t.course_first_date)
        & (t.active | is_true(bad_stop) | is_true(stopped_after_sre))
    )
    return fire(
        t,
        is_true(bad_stop) | is_true(sre),
        kind=ibis.ifelse(is_true(bad_stop), "alert", "info"),
        reason=ibis.ifelse(is_true(bad_stop), t.stop_reason, lit("sre")),
    )


@rule(
    "BTA-07b",
    family=Family.BTA,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("体能状态差：评估是否继续用药", "Poor performance status: review continuation"),
    logic=(
        "正在使用骨改良药物且ECOG≥3（或KPS≤40）：评估是否继续，不自动停药。",
        "Active BTA and ECOG ≥ 3 (or KPS ≤ 40): review whether to continue; never auto-stop.",
    ),
    sources=(wp("规范用药", "治疗应持续进行，直至患者体能状态严重下降"), system("threshold; D-13")),
    values=("ecog", "kps"),
)
def bta07b(f: Frame) -> ir.Table:
    t = f.facts
    poor = is_true(t.ecog >= 3) | is_true(t.kps <= 40)
    return fire(t, t.active & poor, ecog=t.ecog, kps=t.kps_recorded)


@rule(
    "BTA-08",
    family=Family.BTA,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("不同骨改良药物间隔<28天", "Two different bone-targeted agents < 28 days apart"),
    logic=(
        "两种不同的骨改良药物给药间隔<28天，且后一次在90天内：避免合用。",
        "Doses of two different agents < 28 days apart, the later within 90 days: do not combine.",
    ),
    sources=(ext("ibandronate label 不得与其它种类双膦酸类药物合并使用", Mark.VERIFIED), ext("denosumab labels")),
    values=("drugs",),
)
def bta08(f: Frame) -> ir.Table:
    doses = valid_doses(f.tables)
    t = f.facts
    live = t.select(_pk=t.pk)
    later = doses.join(live, doses.pk == live._pk).drop("_pk")
    later = later.filter(within_days_before(later.date, later.as_of, 90))
    earlier = doses.select(_pk=doses.pk, _date=doses.date, _drug=doses.drug, _seq=doses.seq)
    pairs = later.join(earlier, later.pk == earlier._pk)
    gap = days_between(pairs.date, pairs._date)
    pairs = pairs.filter(
        (pairs.drug != pairs._drug) & (gap >= 0) & (gap < 28) & ((gap > 0) | (pairs._seq < pairs.seq))
    )
    first_drug = ibis.least(pairs.drug, pairs._drug)
    second_drug = ibis.greatest(pairs.drug, pairs._drug)
    pairs = pairs.mutate(_a=first_drug, _b=second_drug)
    w = ibis.window(group_by="pk", order_by=[pairs.date.desc(), pairs.seq.desc(), pairs._date.desc()])
    ranked = pairs.mutate(_r=ibis.row_number().over(w))
    one = ranked.filter(ranked._r == 0)
    return fire(one, lit(True), drugs=join_codes(one._a, one._b))


@rule(
    "BTA-09",
    family=Family.BTA,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("双膦酸盐剂量高于肾功能推荐剂量", "Bisphosphonate dose above the renal recommendation"),
    logic=(
        "正在使用的双膦酸盐最近一次剂量高于按基线CrCl（或年龄）推荐的BTA-03/04/05剂量。",
        "The latest dose of an active bisphosphonate is above the BTA-03/04/05 dose for the baseline CrCl (or age).",
    ),
    sources=(system("BTA-03/04/05 applied to the given dose"),),
    values=("drug", "dose_mg", "recommended_dose_mg", "crcl_ml_min"),
)
def bta09(f: Frame) -> ir.Table:
    t = f.facts
    cond = t.bisphosphonate_active & is_true(t.last_dose_mg > t.recommended_mg + 1e-9)
    return fire(
        t,
        cond,
        drug=t.current_drug,
        dose_mg=t.last_dose_mg,
        recommended_dose_mg=t.recommended_mg,
        crcl_ml_min=t.dose_crcl,
    )

