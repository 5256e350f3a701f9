"""SCR: screening and surveillance for bone metastasis (rules.md §2).

"Bone survey" = a bone scan or PET-CT; "chest CT" = CT of the chest or chest+abdomen. SCR-04
applies while the bone-metastasis status is not confirmed; SCR-02/03 (v1.1) follow every advanced
patient, confirmed bone metastasis included (``purpose`` screening / response); all with or
without symptoms (WP "检查不应是症状驱动的"; ex SCR-08).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import add_days, add_months, days_between, is_true, lit, str_list
from bonepath.rules.facts import ALP_ULN_U_L
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame, shared
from bonepath.rules.sources import Mark, ext, gl24, system, wp
from bonepath.vocab import BONE_TURNOVER_MARKERS, Family, FindingKind, Severity


def scr01_fires(t: ir.Table) -> ir.BooleanValue:
    since_dx = days_between(t.as_of, t.diagnosis_date)
    return (since_dx >= 0) & (since_dx <= 90) & ~t.baseline_survey_done


@rule(
    "SCR-01",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("初诊基线骨扫描", "Baseline bone scan at diagnosis"),
    logic=(
        "确诊肺癌90天内，且诊断前60天至诊断后30天内无骨扫描或PET-CT：立即安排全身骨扫描（所有肺癌患者初诊均应行骨扫描）。",
        "Within 90 days of the lung-cancer diagnosis and no bone scan or PET-CT from 60 days before to 30 days after it: order a whole-body bone scan now (policy: every new patient).",
    ),
    sources=(
        wp("专家组倡议", "推荐所有肺癌患者初诊时进行全面的骨扫描检查"),
        wp("长期随访表 (初诊)"),
        gl24("§2.1", "BS 1A"),
        system("window [diagnosis − 60 d, diagnosis + 30 d]; policy D-05"),
    ),
    values=("modality", "due"),
)
def scr01(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, scr01_fires(t), due=t.as_of, modality=lit("bone_scan"))


@rule(
    "SCR-02",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("晚期患者每6个月骨扫描", "6-monthly bone scan (advanced disease)"),
    logic=(
        "所有晚期患者（含已确诊骨转移，用于评估疗效和新发病灶）：末次骨扫描/PET-CT后6个月（从无则诊断后30天）到期；初诊基线未做时由SCR-01提示。",
        "Every advanced patient (confirmed bone metastasis included: response and new lesions): due 6 months after the latest bone scan/PET-CT (none: diagnosis + 30 days); not while SCR-01 fires.",
    ),
    sources=(
        wp("长期随访表 (晚期: 初诊, 第6月, 第12月)"),
        wp("结语", "晚期患者每半年一次"),
        system("later years repeat; purpose (v1.1)"),
    ),
    values=("modality", "due", "purpose"),
)
def scr02(f: Frame) -> ir.Table:
    t = f.facts
    due = ibis.coalesce(add_months(t.last_survey_date, 6), add_days(t.diagnosis_date, 30))
    cond = (t.setting == "advanced") & (t.as_of >= due) & ~scr01_fires(t)
    return fire(t, cond, due=due, modality=lit("bone_scan"), purpose=_purpose(t))


def _purpose(t: ir.Table) -> ir.StringValue:
    """SCR-02/03 (v1.1): screening while not confirmed; response assessment once confirmed."""
    return ibis.ifelse(t.confirmed, "response", "screening")


@rule(
    "SCR-03",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("晚期患者每3个月胸部CT（含骨窗）", "3-monthly chest CT with bone window (advanced disease)"),
    logic=(
        "所有晚期患者（含已确诊骨转移）：末次胸部CT后3个月（从无则诊断后3个月）到期，阅片须看骨窗。",
        "Every advanced patient (confirmed bone metastasis included): due 3 months after the latest chest CT (none: diagnosis + 3 months); read it with the bone window.",
    ),
    sources=(wp("长期随访表 (CT 含骨窗, 第3/6/9/12月)"), system("purpose (v1.1)")),
    values=("modality", "due", "purpose"),
)
def scr03(f: Frame) -> ir.Table:
    t = f.facts
    due = ibis.coalesce(add_months(t.last_chest_ct_date, 3), add_months(t.diagnosis_date, 3))
    cond = (t.setting == "advanced") & (t.as_of >= due)
    return fire(t, cond, due=due, modality=lit("ct"), purpose=_purpose(t))


@rule(
    "SCR-04",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("根治术后每年骨扫描", "Yearly bone scan after radical resection"),
    logic=(
        "根治术后、尚未确诊骨转移：末次骨扫描/PET-CT后12个月（从无则手术后12个月）到期。",
        "After radical resection, bone metastasis not confirmed: due 12 months after the latest bone scan/PET-CT (none: surgery + 12 months).",
    ),
    sources=(wp("专家组倡议", "术后患者每年一次"),),
    values=("modality", "due"),
)
def scr04(f: Frame) -> ir.Table:
    t = f.facts
    due = ibis.coalesce(add_months(t.last_survey_date, 12), add_months(t.surgery_date, 12))
    cond = (t.setting == "resected") & ~t.confirmed & (t.as_of >= due)
    return fire(t, cond, due=due, modality=lit("bone_scan"))


@rule(
    "SCR-05",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("CT未查看骨窗", "CT bone window not reviewed"),
    logic=(
        "90天内最近一次CT未记录查看骨窗：请调阅骨窗（窗宽约2000–3000 HU，窗位约500–1000 HU）；计入QC-01质控不合格。",
        "The latest CT within 90 days has no bone-window review recorded: review the bone window (WW ≈ 2000–3000 HU, WL ≈ 500–1000 HU); counts as a QC-01 failure.",
    ),
    sources=(
        wp("CT骨窗 专家倡议", "诊断及随访使用CT检查时，应顺手查看CT骨窗"),
        wp("结语", "将骨窗纳入影像报告质控指标"),
        system("90-day look-back"),
    ),
    values=("exam_date",),
)
def scr05(f: Frame) -> ir.Table:
    t = f.facts
    cond = t.recent_ct_date.notnull() & ~is_true(t.recent_ct_reviewed)
    return fire(t, cond, exam_date=t.recent_ct_date)


@rule(
    "SCR-06",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("骨转移高危表现：尽快影像检查", "High-risk features of bone metastasis: image now"),
    logic=(
        "尚未确诊骨转移，出现骨痛、病理性骨折、高钙血症或神经功能障碍，且其后未做骨扫描/PET-CT（神经功能障碍：MRI）：立即检查；有神经功能障碍时为危急。",
        "Bone metastasis not confirmed and bone pain, a pathologic fracture, hypercalcaemia or a neurological deficit, with no bone scan/PET-CT (MRI for a deficit) since: image now; critical with a neurological deficit.",
    ),
    sources=(
        ext("2019 consensus high-risk list (secondary copy)", Mark.VERIFIED),
        gl24("§2", "高危骨转移人群常规筛查", Mark.VERIFIED),
    ),
    values=("triggers", "modality", "due"),
)
def scr06(f: Frame) -> ir.Table:
    t = f.facts
    def answered_by_survey(day: ir.DateValue) -> ir.BooleanValue:
        return is_true(t.last_survey_date >= day)

    pain = is_true(t.pain_nrs >= 1) & ~answered_by_survey(t.pain_date)
    fracture = t.last_fracture_date.notnull() & ~answered_by_survey(t.last_fracture_date)
    hyper = t.cca_high & ~answered_by_survey(t.ca_date)
    neuro = is_true(t.pain_neuro) & ~is_true(t.last_mri_date >= t.pain_date)
    triggers = str_list(
        [(pain, "bone_pain"), (fracture, "pathologic_fracture"), (hyper, "hypercalcemia"), (neuro, "neuro_deficit")]
    )
    any_trigger = pain | fracture | hyper | neuro
    return fire(
        t,
        ~t.confirmed & any_trigger,
        due=t.as_of,
        severity=ibis.ifelse(neuro, "critical", "high"),
        triggers=triggers,
        modality=ibis.ifelse(neuro, "mri", "bone_scan"),
    )


def _marker_tests(f: Frame) -> ir.Table:
    """Per patient, the markers whose latest value is above its ULN (SCR-07, DX-06)."""
    labs = f.on_facts("labs")
    codes = tuple(m.value for m in BONE_TURNOVER_MARKERS)
    markers = labs.filter(labs.test.isin(codes))
    w = ibis.window(group_by=["pk", "test"], order_by=[markers.date.desc(), markers.seq.desc()])
    latest = markers.mutate(_r=ibis.row_number().over(w))
    latest = latest.filter(latest._r == 0)
    # ALP has a default ULN of 125 U/L; the other markers are judged only against the lab's ULN
    uln = ibis.ifelse(latest.test == "alp", latest.uln.fill_null(ALP_ULN_U_L), latest.uln)
    high = latest.filter(is_true(latest.value > uln))
    return high.group_by("pk").aggregate(
        **{f"high_{code}": (high.test == code).any() for code in codes}
    )


@shared
def markers_high(f: Frame) -> ir.Table:
    """Facts of not-confirmed patients with at least one marker above ULN, with ``tests``."""
    t = f.facts
    high = _marker_tests(f)
    codes = tuple(m.value for m in BONE_TURNOVER_MARKERS)
    joined = t.filter(~t.confirmed).join(high, "pk")
    return joined.mutate(tests=str_list([(joined[f"high_{c}"], c) for c in codes]))


@rule(
    "SCR-07",
    family=Family.SCR,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("骨代谢标志物升高：行骨扫描", "Bone-turnover marker above ULN: bone scan"),
    logic=(
        "尚未确诊骨转移，ALP、BALP、PINP、CTX或NTX最近一次结果高于参考上限（ALP默认125 U/L；其余仅按化验单上限判断）：建议骨扫描进一步检查。",
        "Bone metastasis not confirmed and the latest ALP, BALP, PINP, CTX or NTX is above its ULN (ALP default 125 U/L; the others only against the lab's ULN): bone scan.",
    ),
    sources=(wp("骨代谢标志物", "指标异常通常意味着骨转移可能已经发生，建议进行进一步检查"),),
    values=("tests", "modality"),
)
def scr07(f: Frame) -> ir.Table:
    m = markers_high(f)
    return fire(m, lit(True), tests=m.tests, modality=lit("bone_scan"))

