"""SAFE: renal, calcium, dental and other safety checks of BTA therapy (rules.md §5)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import (
    add_months,
    days_between,
    is_true,
    lit,
    null,
    round_half_up,
    str_list,
    when,
)
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.scores import (
    ctcae_creatinine_grade,
    ctcae_hypercalcaemia_grade,
    ctcae_hypocalcaemia_grade,
    zoledronic_dose_mg,
)
from bonepath.rules.sources import Mark, ext, gl24, system, wp
from bonepath.vocab import DentalResult, Drug, Family, FindingKind, Severity

ZOL = Drug.ZOLEDRONIC_ACID.value
NEEDS_TREATMENT = DentalResult.NEEDS_TREATMENT.value


def safe12_factors(t: ir.Table) -> ir.ArrayValue:
    return str_list(
        [
            (t.age_years > 65, "age_gt_65"),
            (t.diabetes, "diabetes"),
            (t.nsaid_active, "nsaid"),
            (t.cisplatin_active, "cisplatin"),
        ]
    )


def safe12_fires(t: ir.Table) -> ir.BooleanValue:
    return t.bisphosphonate_active & (
        (t.age_years > 65) | t.diabetes | t.nsaid_active | t.cisplatin_active
    )


def safe10_parts(t: ir.Table) -> tuple[ir.BooleanValue, ir.BooleanValue, ir.BooleanValue]:
    long_use = is_true(t.as_of >= add_months(t.first_dose_date, 36))
    short_interval = is_true(t.interval_days < 35)
    smoker = is_true(t.smoking == "current")
    return long_use, short_interval, smoker


@rule(
    "SAFE-01",
    family=Family.SAFE,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("给药前复查血肌酐", "Creatinine before the next infusion"),
    logic=(
        "正在使用双膦酸盐，距下次给药≤7天，且14天内无血肌酐（有肾毒性高危因素时：末次给药后无血肌酐）：测定前暂缓输注。",
        "Active bisphosphonate, next dose within 7 days, and no creatinine in the last 14 days (with a SAFE-12 factor: none since the latest dose): hold the infusion until measured.",
    ),
    sources=(ext("Zometa label (SCr before each dose)", Mark.VERIFIED), system("14 days")),
    values=("drug", "due", "scr_age_days"),
)
def safe01(f: Frame) -> ir.Table:
    t = f.facts
    scr_age = days_between(t.as_of, t.scr_date)
    stale = t.scr_date.isnull() | is_true(scr_age > 14)
    strict = safe12_fires(t) & ~is_true(t.scr_date > t.last_dose_date)
    window = t.as_of >= (t.due - ibis.interval(days=7)).cast("date")
    cond = t.bisphosphonate_active & is_true(window) & (stale | strict)
    return fire(t, cond, due=t.due, drug=t.current_drug, scr_age_days=scr_age)


@rule(
    "SAFE-02",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("肾功能恶化：暂停唑来膦酸", "Renal deterioration: withhold zoledronic acid"),
    logic=(
        "正在使用唑来膦酸，血肌酐较基线升高：基线<1.4 mg/dL升高≥0.5，或基线≥1.4升高≥1.0：暂停给药；血肌酐回落至基线的1.1倍以内后按原剂量恢复。暂停期间不发用药提醒。",
        "Active zoledronic acid and creatinine up from baseline by ≥ 0.5 mg/dL (baseline < 1.4) or ≥ 1.0 (baseline ≥ 1.4): withhold; resume at the pre-hold dose when SCr ≤ 1.1 × baseline. Dose reminders are suppressed meanwhile.",
    ),
    sources=(ext("Zometa label renal-deterioration rule (secondary)", Mark.VERIFIED), ext("1.4 mg/dL cut-off")),
    values=("drug", "baseline_scr_mg_dl", "scr_mg_dl", "rise_mg_dl", "resume_below_mg_dl"),
)
def safe02(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t,
        t.safe02,
        drug=lit(ZOL),
        baseline_scr_mg_dl=t.base_scr_mg_dl,
        scr_mg_dl=t.scr_mg_dl,
        rise_mg_dl=t.scr_rise,
        resume_below_mg_dl=round_half_up(t.base_scr_mg_dl * 1.1, 2),
    )


@rule(
    "SAFE-03",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    title=("当前肾功能对应剂量低于基线剂量：请复核", "Current CrCl band below the baseline dose: review"),
    logic=(
        "正在使用唑来膦酸、未达SAFE-02暂停标准，但按当前CrCl的剂量档低于按基线CrCl的剂量：由医生复核（说明书按基线给药）。",
        "Active zoledronic acid, SAFE-02 not met, and the dose band of the current CrCl is lower than that of the baseline CrCl: clinician review (the label doses on baseline).",
    ),
    sources=(ext("Zometa label"), system("D-14")),
    values=("drug", "baseline_crcl_ml_min", "crcl_ml_min", "baseline_dose_mg", "band_dose_mg"),
)
def safe03(f: Frame) -> ir.Table:
    t = f.facts
    base_dose = zoledronic_dose_mg(t.base_crcl)
    band_dose = zoledronic_dose_mg(t.crcl)
    cond = t.active & (t.current_drug == ZOL) & ~t.safe02 & is_true(band_dose < base_dose)
    return fire(
        t,
        cond,
        drug=lit(ZOL),
        baseline_crcl_ml_min=t.base_crcl,
        crcl_ml_min=t.crcl,
        baseline_dose_mg=base_dose,
        band_dose_mg=band_dose,
    )


@rule(
    "SAFE-04",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("肾功能不全：停用/不启动唑来膦酸", "Renal impairment: stop / do not start zoledronic acid"),
    logic=(
        "计划药物为唑来膦酸（正在使用、用药计划或BTA-01默认），CrCl<30 mL/min、血肌酐≥3.0 mg/dL或透析（后两者无需体重）：停用或不启动，可改用地舒单抗（BTA-06，注意SAFE-07）。",
        "Planned drug zoledronic acid (active, planned, or the BTA-01 default) and CrCl < 30 mL/min, SCr ≥ 3.0 mg/dL or dialysis (these two without a weight): stop / do not start; offer denosumab (BTA-06 with SAFE-07).",
    ),
    sources=(
        ext("Zometa label"),
        gl24("表2", "<30 mL/min 停用唑来膦酸"),
        ext("labels exclude dialysis from Cockcroft-Gault dosing (VAL-10)"),
    ),
    values=("drug", "crcl_ml_min", "scr_mg_dl", "dialysis"),
)
def safe04(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t, t.safe04, drug=lit(ZOL), crcl_ml_min=t.crcl, scr_mg_dl=t.scr_mg_dl, dialysis=t.dialysis
    )


@rule(
    "SAFE-05",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("低钙血症：暂缓下次给药", "Hypocalcaemia: hold the next dose"),
    logic=(
        "正在用药或将启动（BTA-01），30天内校正血钙低于参考下限：暂缓下次给药，先纠正血钙；按SAFE-14分级。暂缓期间不发用药提醒。",
        "Active BTA or BTA-01 fires, and corrected calcium (within 30 days) below LLN: hold the next dose and correct calcium first; graded by SAFE-14. Dose reminders are suppressed meanwhile.",
    ),
    sources=(ext("Xgeva/Zometa labels"), gl24("表2", "监测血钙")),
    values=("drug", "corrected_ca", "ca_unit"),
)
def safe05(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, t.safe05, drug=t.drug_shown, corrected_ca=t.cca, ca_unit=t.ca_unit)


@rule(
    "SAFE-06",
    family=Family.SAFE,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("补充钙剂和维生素D", "Calcium and vitamin D supplements"),
    logic=(
        "正在使用骨改良药物，最近一次补充记录未达到钙≥500 mg/日且维生素D≥400 IU/日（且无高钙血症）：每日补充钙剂及维生素D。",
        "Active BTA and the latest supplement record is not calcium ≥ 500 mg/day with vitamin D ≥ 400 IU/day (and no hypercalcaemia): daily calcium and vitamin D.",
    ),
    sources=(gl24("表2", "每日补充钙剂及维生素D"), ext("J Bone Oncol 2021 table", Mark.VERIFIED)),
    values=("calcium_mg_daily", "vitamin_d_iu_daily"),
)
def safe06(f: Frame) -> ir.Table:
    t = f.facts
    enough = is_true(t.supp_calcium_mg >= 500) & is_true(t.supp_vitd_iu >= 400)
    cond = t.active & ~enough & ~t.cca_high
    return fire(t, cond, calcium_mg_daily=lit(500), vitamin_d_iu_daily=lit(400))


@rule(
    "SAFE-07",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("地舒单抗与重度肾功能不全/透析：严密监测血钙", "Denosumab with CrCl < 30 or dialysis: monitor calcium"),
    logic=(
        "计划使用地舒单抗（或因SAFE-04替代），且CrCl<30或透析：每次给药前及给药后1–2周查血钙（严重低钙风险）。",
        "Denosumab planned (or offered by SAFE-04) and CrCl < 30 or dialysis: calcium before each dose and 1–2 weeks after (severe hypocalcaemia risk).",
    ),
    sources=(ext("denosumab boxed warning (eGFR < 30)", Mark.VERIFIED), ext("monitoring timing")),
    values=("crcl_ml_min",),
)
def safe07(f: Frame) -> ir.Table:
    t = f.facts
    deno = (t.planned_drug == Drug.DENOSUMAB.value).fill_null(False) | t.safe04
    low = is_true(t.crcl < 30)
    return fire(
        t,
        deno & (low | t.dialysis),
        crcl_ml_min=ibis.ifelse(low, t.crcl, null("float64")),
    )


@rule(
    "SAFE-08",
    family=Family.SAFE,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("用药前口腔检查", "Dental examination before the first dose"),
    logic=(
        "即将启动（BTA-01）或首剂在90天内，而首剂前（未启动则今日前）90天内无口腔检查，或最近一次检查发现需治疗：启动前完成口腔评估；发现口腔疾病时（高）在不延误用药的前提下先治疗，否则先用药并行非侵入性治疗，由医生决定（颌骨坏死预防）。",
        "Starting (BTA-01) or first dose within the last 90 days, and no dental examination in the 90 days before the first dose (or before today if not started), or the latest one found disease: dental evaluation first; when it found disease (high), treat the teeth before the first dose where that does not delay it, else start and treat non-invasively — the clinician decides (ONJ prevention).",
    ),
    sources=(
        ext("ESMO 2020 / J Bone Oncol 2021 (Dental evaluation prior to start)", Mark.VERIFIED),
        wp("ONJ 倡议"),
        system("90 days"),
    ),
    values=("last_dental_date", "last_dental_result"),
)
def safe08(f: Frame) -> ir.Table:
    t = f.facts
    recent_start = is_true(days_between(t.as_of, t.first_dose_date) <= 90)
    cond = (t.bta01 | recent_start) & ~t.dental_before_start
    # high when the exam that decides (the latest in the window) or the latest one shown found
    # disease: the safe reading where the two differ (clarifications)
    found_disease = is_true(t.dental_window_result == NEEDS_TREATMENT) | is_true(
        t.last_dental_result == NEEDS_TREATMENT
    )
    return fire(
        t,
        cond,
        severity=ibis.ifelse(found_disease, Severity.HIGH.value, Severity.MEDIUM.value),
        last_dental_date=t.last_dental_date,
        last_dental_result=t.last_dental_result,
    )


@rule(
    "SAFE-09",
    family=Family.SAFE,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("定期口腔检查", "Periodic dental examination"),
    logic=(
        "用药超过90天，末次口腔检查超过12个月（有用药≥3年或吸烟等高危因素时超过6个月）或从无：安排口腔检查。",
        "BTA for more than 90 days and the latest dental examination more than 12 months ago (6 months with a risk factor: ≥ 3 years of use or current smoking), or none: dental examination.",
    ),
    sources=(gl24("表2", "定期进行口腔检查"), wp("ONJ 倡议"), system("12/6 months; D-12")),
    values=("last_dental_date",),
)
def safe09(f: Frame) -> ir.Table:
    t = f.facts
    long_use, _short, smoker = safe10_parts(t)
    months = ibis.ifelse(long_use | smoker, 6, 12)
    limit_6 = add_months(t.as_of, -6)
    limit_12 = add_months(t.as_of, -12)
    limit = ibis.ifelse(months == 6, limit_6, limit_12)
    overdue = t.last_dental_date.isnull() | is_true(t.last_dental_date < limit)
    cond = t.active & is_true(days_between(t.as_of, t.first_dose_date) > 90) & overdue
    return fire(t, cond, last_dental_date=t.last_dental_date)


@rule(
    "SAFE-10",
    family=Family.SAFE,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("颌骨坏死风险因素", "Osteonecrosis-of-the-jaw risk factors"),
    logic=(
        "正在用药且有颌骨坏死风险因素（用药≥3年、用药间隔<5周、吸烟、90天内有侵入性口腔操作）：仅提示，不作为停药依据。",
        "Active BTA with an ONJ risk factor (≥ 3 years of use, interval < 5 weeks, current smoking, an invasive dental procedure within 90 days): a flag, never a stop signal.",
    ),
    sources=(gl24("表2", "用药时间≥3年; 用药间隔<5周; 吸烟"), system("D-12; 90-day dental look-back")),
    values=("factors",),
)
def safe10(f: Frame) -> ir.Table:
    t = f.facts
    long_use, short_interval, smoker = safe10_parts(t)
    invasive = t.invasive_dental_90d
    factors = str_list(
        [
            (long_use, "duration_ge_3y"),
            (short_interval, "interval_lt_5w"),
            (smoker, "current_smoker"),
            (invasive, "invasive_dental_90d"),
        ]
    )
    return fire(t, t.active & (long_use | short_interval | smoker | invasive), factors=factors)


@rule(
    "SAFE-11",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("颌骨坏死：口腔颌面外科会诊，MDT决定是否继续", "Osteonecrosis of the jaw: oral surgery referral, MDT on continuation"),
    logic=(
        "记录了颌骨坏死（任何分期）：转口腔颌面外科，是否继续骨改良药物由MDT决定（通常至少停8周）。",
        "Osteonecrosis of the jaw recorded (any stage): oral/maxillofacial referral; BTA continuation decided by the MDT (usually at least 8 weeks off).",
    ),
    sources=(ext("AAOMS 2022"), wp("ONJ", "通常至少8周")),
    values=("stage",),
)
def safe11(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, t.onj_date.notnull(), stage=t.onj_stage)


@rule(
    "SAFE-12",
    family=Family.SAFE,
    kind=FindingKind.INFO,
    severity=Severity.MEDIUM,
    title=("肾毒性高危因素：每次给药前查血肌酐", "Nephrotoxicity risk factors: creatinine before every dose"),
    logic=(
        "正在使用双膦酸盐且有肾毒性高危因素（年龄>65岁、糖尿病、非甾体抗炎药、顺铂）：每次给药前查血肌酐。",
        "Active bisphosphonate with a nephrotoxicity risk factor (age > 65, diabetes, NSAID, cisplatin): creatinine before every dose.",
    ),
    sources=(gl24("表2", "肾毒性 高危因素: >65岁; 糖尿病; 非甾体抗炎药; 顺铂"), system("D-10")),
    values=("factors",),
)
def safe12(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, safe12_fires(t), factors=safe12_factors(t))


@rule(
    "SAFE-13",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.LOW,
    title=("血肌酐升高（CTCAE v5）", "Creatinine increased (CTCAE v5)"),
    logic=(
        "最近一次血肌酐按CTCAE v5分级：1级>ULN–1.5×ULN；2级>1.5–3.0×基线或ULN；3级>3.0×基线或>3.0–6.0×ULN；4级>6.0×ULN（基线仅限当前疗程）。1级低、2级中、≥3级高。",
        "CTCAE v5 creatinine increased on the latest SCr: G1 > ULN–1.5 × ULN; G2 > 1.5–3.0 × baseline or ULN; G3 > 3.0 × baseline or > 3.0–6.0 × ULN; G4 > 6.0 × ULN (baseline only within an active course). G1 low, G2 medium, G ≥ 3 high.",
    ),
    sources=(ext("CTCAE v5.0 (2017)"),),
    values=("grade", "scr_mg_dl"),
)
def safe13(f: Frame) -> ir.Table:
    t = f.facts
    baseline = ibis.ifelse(t.active, t.base_scr_mg_dl, null("float64"))
    grade = ctcae_creatinine_grade(t.scr_mg_dl, t.scr_uln_mg_dl, baseline)
    return fire(
        t,
        t.scr_mg_dl.notnull() & (grade >= 1),
        severity=when((grade >= 3, lit("high")), (grade == 2, lit("medium")), else_=lit("low")),
        grade=grade,
        scr_mg_dl=t.scr_mg_dl,
    )


@rule(
    "SAFE-14",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    title=("低钙血症（CTCAE v5）", "Hypocalcaemia (CTCAE v5)"),
    logic=(
        "30天内校正血钙低于下限，按CTCAE v5分级：1级<LLN且≥8.0 mg/dL（2.0 mmol/L）；2级<8.0–7.0（2.0–1.75）；3级<7.0–6.0（1.75–1.5）；4级<6.0（1.5）。1级中、2级高、≥3级危急。",
        "Corrected calcium (within 30 days) below LLN, CTCAE v5: G1 < LLN and ≥ 8.0 mg/dL (2.0 mmol/L); G2 < 8.0–7.0 (2.0–1.75); G3 < 7.0–6.0 (1.75–1.5); G4 < 6.0 (1.5). G1 medium, G2 high, G ≥ 3 critical.",
    ),
    sources=(ext("CTCAE v5.0 (2017)"),),
    values=("grade", "corrected_ca", "ca_unit"),
)
def safe14(f: Frame) -> ir.Table:
    t = f.facts
    grade = ctcae_hypocalcaemia_grade(t.cca, t.ca_unit, t.ca_lln)
    return fire(
        t,
        t.cca_low,
        severity=when((grade >= 3, lit("critical")), (grade == 2, lit("high")), else_=lit("medium")),
        grade=grade,
        corrected_ca=t.cca,
        ca_unit=t.ca_unit,
    )


@rule(
    "SAFE-15",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("高钙血症（CTCAE v5）", "Hypercalcaemia (CTCAE v5)"),
    logic=(
        "30天内校正血钙高于上限，按CTCAE v5分级：1级>ULN–11.5 mg/dL（2.9 mmol/L）；2级>11.5–12.5（2.9–3.1）；3级>12.5–13.5（3.1–3.4）；4级>13.5（3.4）；≥12.0 mg/dL（3.0 mmol/L）为恶性肿瘤高钙血症。1–2级高、≥3级危急。",
        "Corrected calcium (within 30 days) above ULN, CTCAE v5: G1 > ULN–11.5 mg/dL (2.9 mmol/L); G2 > 11.5–12.5 (2.9–3.1); G3 > 12.5–13.5 (3.1–3.4); G4 > 13.5 (3.4); hypercalcaemia of malignancy at ≥ 12.0 mg/dL (3.0 mmol/L). G1–2 high, G ≥ 3 critical.",
    ),
    sources=(ext("CTCAE v5.0 (2017)"), ext("Zometa label HCM ≥ 12 mg/dL", Mark.VERIFIED)),
    values=("grade", "corrected_ca", "ca_unit", "hcm"),
)
def safe15(f: Frame) -> ir.Table:
    t = f.facts
    grade = ctcae_hypercalcaemia_grade(t.cca, t.ca_unit, t.ca_uln)
    hcm = t.cca >= ibis.ifelse(t.ca_unit == "mmol/L", 3.0, 12.0)
    return fire(
        t,
        t.cca_high,
        severity=ibis.ifelse(grade >= 3, "critical", "high"),
        grade=grade,
        corrected_ca=t.cca,
        ca_unit=t.ca_unit,
        hcm=hcm,
    )


@rule(
    "SAFE-17",
    family=Family.SAFE,
    kind=FindingKind.ALERT,
    severity=Severity.HIGH,
    title=("帕米膦酸与重度肾功能不全/透析：不推荐", "Pamidronate in severe renal impairment or dialysis: not recommended"),
    logic=(
        "计划药物为帕米膦酸（正在使用或用药计划），CrCl<30 mL/min或透析：不推荐使用，改用其他药物（地舒单抗并注意SAFE-07，或伊班膦酸2 mg）。暂停期间不发用药提醒。",
        "Planned drug pamidronate (active, or planned before any dose) and CrCl < 30 mL/min or dialysis: not recommended in severe renal impairment; choose another agent (denosumab with SAFE-07, or ibandronate 2 mg). Dose reminders are suppressed meanwhile.",
    ),
    sources=(ext("Aredia (pamidronate) label, severe renal impairment"), system("pamidronate is not in GL24 表1; VAL-10")),
    values=("drug", "crcl_ml_min", "dialysis"),
)
def safe17(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t, t.safe17, drug=lit(Drug.PAMIDRONATE.value), crcl_ml_min=t.crcl, dialysis=t.dialysis
    )


@rule(
    "SAFE-16",
    family=Family.SAFE,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("股骨痛：排查非典型股骨骨折", "Thigh pain on BTA: image for atypical femoral fracture"),
    logic=(
        "用药≥12个月，近期疼痛部位包括股骨而股骨无转移病灶：影像排查非典型股骨骨折。",
        "BTA for ≥ 12 months, recent pain at the femur and no femoral lesion: image for an atypical femoral fracture.",
    ),
    sources=(ext("bisphosphonate/denosumab labels"), system("12 months")),
    values=("site",),
)
def safe16(f: Frame) -> ir.Table:
    t = f.facts
    long_use = is_true(t.first_dose_date <= add_months(t.as_of, -12))
    return fire(t, t.active & long_use & t.pain_femur & ~t.femur_lesion, site=lit("femur"))
