"""Findings as clinicians read them (issue 15 item 5): every value with its label and unit in
the page's language, codes as words, dates as dates, "not recorded" for a missing value,
recommended amounts said as recommendations, and sources as readable citations with the exact
quotation on demand.

Messages are ``(zh, en)`` pairs, the way :mod:`bonepath.web.worklist_view` and
:mod:`bonepath.reminders.model` label theirs; :func:`text` picks the page's language. Rule
titles and explanations come from the rule objects (:mod:`bonepath.rules.catalogue`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bonepath.engine.findings import Finding
from bonepath.rules.citations import MARK_NOTES as MARK_NOTES  # re-exported for the pages
from bonepath.rules.citations import OUTSIDE_LABELS as OUTSIDE_LABELS
from bonepath.rules.citations import SECTIONS_EN as SECTIONS_EN
from bonepath.rules.citations import SEED_TITLES as SEED_TITLES
from bonepath.rules.citations import ShownCitation as ShownCitation
from bonepath.rules.citations import citation as citation

Pair = tuple[str, str]

NOT_RECORDED: Final[Pair] = ("未记录", "not recorded")


def text(pair: Pair, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


@dataclass(frozen=True, slots=True)
class ValueLabel:
    """How a finding's value key reads: its label, its unit, and whether the value is a
    recommendation of the guideline rather than a fact of the patient."""

    label: Pair
    unit: str = ""
    recommended: bool = False


V = ValueLabel
VALUE_LABELS: Final[Mapping[str, ValueLabel]] = {
    "age_years": V(("年龄", "Age"), "岁|years"),
    "attendees": V(("参会科室", "Departments attending")),
    "baseline_crcl_ml_min": V(("基线肌酐清除率", "Baseline creatinine clearance"), "mL/min"),
    "baseline_dose_mg": V(("基线剂量", "Baseline dose"), "mg"),
    "baseline_scr_mg_dl": V(("基线血肌酐", "Baseline serum creatinine"), "mg/dL"),
    "band_dose_mg": V(
        ("该肾功能分层的推荐剂量", "Recommended dose for this renal band"), "mg", True
    ),
    "ca_unit": V(("血钙单位", "Calcium unit")),
    "calcium_mg_daily": V(("建议每日钙", "Recommended daily calcium"), "mg", True),
    "category": V(("分级", "Category")),
    "confirmed_date": V(("骨转移确诊日期", "Bone metastasis confirmed on")),
    "corrected": V(("已校正", "Corrected")),
    "corrected_ca": V(("校正血钙", "Corrected calcium")),
    "crcl_ml_min": V(
        ("肌酐清除率（Cockcroft-Gault）", "Creatinine clearance (Cockcroft-Gault)"), "mL/min"
    ),
    "date": V(("日期", "Date")),
    "days_since_confirmation": V(("确诊后天数", "Days since confirmation"), "天|days"),
    "days_since_last_dose": V(("距上次给药天数", "Days since the last dose"), "天|days"),
    "decision_within_h": V(("须在多少小时内决策", "Decide within"), "小时|h", True),
    "derived_date": V(("推断日期", "Derived date")),
    "derived_status": V(("推断的骨转移状态", "Derived bone-metastasis status")),
    "dialysis": V(("透析", "Dialysis")),
    "dose_gy": V(("建议剂量", "Recommended dose"), "Gy", True),
    "dose_mg": V(("剂量", "Dose"), "mg"),
    "drug": V(("药物", "Drug")),
    "drugs": V(("药物", "Drugs")),
    "due": V(("到期日", "Due")),
    "ecog": V(("ECOG评分", "ECOG")),
    "exam_date": V(("检查日期", "Examination date")),
    "factors": V(("危险因素", "Risk factors")),
    "fractions": V(("建议分次", "Recommended fractions"), "次|fractions", True),
    "genes": V(("驱动基因", "Driver genes")),
    "grade": V(("分级（CTCAE v5）", "Grade (CTCAE v5)")),
    "hcm": V(("恶性肿瘤高钙血症（≥12 mg/dL）", "Hypercalcaemia of malignancy (≥ 12 mg/dL)")),
    "held_by": V(("暂停原因规则", "Held by")),
    "infusion_min": V(("建议最短输注时间", "Recommended minimum infusion time"), "分钟|min", True),
    "interval_class": V(("间隔分类", "Interval class")),
    "interval_days": V(("给药间隔", "Interval"), "天|days"),
    "kps": V(("KPS评分", "KPS")),
    "last_assessed": V(("上次骨痛评估", "Last pain assessment")),
    "last_dental_date": V(("上次口腔检查", "Last dental examination")),
    "last_dental_result": V(("上次口腔检查结果", "Last dental result")),
    "last_dose_date": V(("上次给药", "Last dose")),
    "life_expectancy_months": V(("预计生存期", "Life expectancy"), "月|months"),
    "mechanical_pain": V(("机械性疼痛", "Mechanical pain")),
    "missing": V(("需补录", "Data needed")),
    "modality": V(("检查方式", "Examination")),
    "mri_within_h": V(("MRI须在多少小时内完成", "MRI within"), "小时|h", True),
    "nrs": V(("骨痛评分（NRS）", "Bone pain (NRS)"), "/10"),
    "overdue_days": V(("逾期", "Overdue"), "天|days"),
    "procedure": V(("建议处理", "Recommended procedure"), "", True),
    "prognosis": V(("预后", "Prognosis")),
    "purpose": V(("目的", "Purpose")),
    "reason": V(("原因", "Reason")),
    "recommended_dose_mg": V(("建议剂量", "Recommended dose"), "mg", True),
    "recorded_status": V(("记录的骨转移状态", "Recorded bone-metastasis status")),
    "reminder_date": V(("提醒日期", "Reminder date")),
    "resume_below_mg_dl": V(
        ("血肌酐低于此值可恢复给药", "Resume when creatinine is below"), "mg/dL", True
    ),
    "rise_mg_dl": V(("血肌酐升高", "Creatinine rise"), "mg/dL"),
    "route": V(("给药途径", "Route")),
    "scr_age_days": V(("血肌酐距今", "Creatinine result age"), "天|days"),
    "scr_mg_dl": V(("血肌酐", "Serum creatinine"), "mg/dL"),
    "score": V(("评分", "Score")),
    "since": V(("起始日期", "Since")),
    "site": V(("部位", "Site")),
    "site_count": V(("部位数", "Number of sites")),
    "stage": V(("分期", "Stage")),
    "status": V(("状态", "Status")),
    "tests": V(("检验项目", "Tests")),
    "total": V(("总分", "Total score")),
    "trigger_date": V(("触发日期", "Triggered on")),
    "triggers": V(("触发规则", "Triggered by")),
    "vitamin_d_iu_daily": V(("建议每日维生素D", "Recommended daily vitamin D"), "IU", True),
    "weight_kg": V(("体重", "Weight"), "kg"),
}
"""Every value key of the catalogue (rules.catalogue.VALUE_TYPES): label, unit ("zh|en" when
the unit is a word), and whether it is a recommendation."""

CODE_LABELS: Final[Mapping[str, Pair]] = {
    # drugs, routes, modalities
    "denosumab": ("地舒单抗", "denosumab"),
    "zoledronic_acid": ("唑来膦酸", "zoledronic acid"),
    "ibandronate": ("伊班膦酸", "ibandronate"),
    "incadronate": ("英卡膦酸", "incadronate"),
    "pamidronate": ("帕米膦酸", "pamidronate"),
    "iv": ("静脉滴注（IV）", "IV"),
    "sc": ("皮下注射（SC）", "SC"),
    "bone_scan": ("骨扫描", "bone scan"),
    "ct": ("CT", "CT"),
    "mri": ("MRI", "MRI"),
    "pet_ct": ("PET-CT", "PET-CT"),
    "xray": ("X线", "X-ray"),
    "spect_ct": ("SPECT-CT", "SPECT-CT"),
    "biopsy": ("骨活检", "bone biopsy"),
    # sites
    "skull": ("颅骨", "skull"),
    "cervical_spine": ("颈椎", "cervical spine"),
    "thoracic_spine": ("胸椎", "thoracic spine"),
    "lumbar_spine": ("腰椎", "lumbar spine"),
    "sacrum": ("骶骨", "sacrum"),
    "pelvis": ("骨盆", "pelvis"),
    "acetabulum": ("髋臼", "acetabulum"),
    "rib": ("肋骨", "rib"),
    "sternum": ("胸骨", "sternum"),
    "clavicle": ("锁骨", "clavicle"),
    "scapula": ("肩胛骨", "scapula"),
    "humerus": ("肱骨", "humerus"),
    "radius_ulna": ("尺桡骨", "radius/ulna"),
    "femur": ("股骨", "femur"),
    "tibia_fibula": ("胫腓骨", "tibia/fibula"),
    # missing inputs (lesion details, scores)
    "kind": ("病灶类型（溶骨/成骨/混合）", "lesion type (lytic/blastic/mixed)"),
    "cortical_involvement_pct": ("骨皮质受累（%）", "cortical involvement (%)"),
    "level": ("椎体节段", "vertebral level"),
    "alignment": ("脊柱序列", "spinal alignment"),
    "collapse": ("椎体塌陷", "vertebral collapse"),
    "posterolateral": ("后外侧受累", "posterolateral involvement"),
    "weight_kg": ("体重（kg）", "weight (kg)"),
    "creatinine": ("血肌酐", "serum creatinine"),
    "calcium": ("血钙", "calcium"),
    "albumin": ("白蛋白", "albumin"),
    "alp": ("碱性磷酸酶", "ALP"),
    "kps": ("KPS评分", "KPS"),
    "visceral_metastasis": ("内脏转移", "visceral metastases"),
    "frankel": ("Frankel分级（瘫痪）", "Frankel grade (palsy)"),
    # scores, prognosis, categories
    "mirels": ("Mirels评分", "Mirels score"),
    "sins": ("SINS评分", "SINS"),
    "tokuhashi_revised": ("修订版Tokuhashi评分", "revised Tokuhashi score"),
    "cockcroft_gault": ("Cockcroft-Gault肌酐清除率", "Cockcroft-Gault clearance"),
    "corrected_calcium": ("校正血钙", "corrected calcium"),
    "ge_12_months": ("≥1年", "≥ 1 year"),
    "ge_6_months": ("≥6个月", "≥ 6 months"),
    "lt_6_months": ("<6个月", "< 6 months"),
    "stable": ("稳定", "stable"),
    "potentially_unstable": ("潜在不稳定", "potentially unstable"),
    "unstable": ("不稳定", "unstable"),
    "standard": ("标准（每3–4周）", "standard (every 3–4 weeks)"),
    "extended": ("延长（每12周）", "extended (every 12 weeks)"),
    "short": ("短于3周", "shorter than 3 weeks"),
    "confirmed": ("已确诊", "confirmed"),
    "suspected": ("疑似", "suspected"),
    "none": ("无", "none"),
    # risk factors
    "duration_ge_3y": ("用药≥3年", "treated ≥ 3 years"),
    "interval_lt_5w": ("用药间隔<5周", "interval < 5 weeks"),
    "current_smoker": ("吸烟", "current smoker"),
    "invasive_dental_90d": ("90天内有创口腔操作", "invasive dental procedure within 90 days"),
    "age_gt_65": ("年龄>65岁", "age > 65"),
    "diabetes": ("糖尿病", "diabetes"),
    "nsaid": ("非甾体抗炎药", "NSAID"),
    "cisplatin": ("顺铂", "cisplatin"),
    # dental results
    "ok": ("未见问题", "no problem"),
    "needs_treatment": ("需治疗", "needs treatment"),
    "invasive_procedure_done": ("已行有创操作", "invasive procedure done"),
    # SRE and others
    "sre": ("骨相关事件", "skeletal-related event"),
    "pathologic_fracture": ("病理性骨折", "pathologic fracture"),
    "spinal_cord_compression": ("脊髓压迫", "spinal cord compression"),
    "hypercalcemia": ("高钙血症", "hypercalcaemia"),
    "neuro_deficit": ("神经功能障碍", "neurological deficit"),
    "bone_pain": ("骨痛", "bone pain"),
    "fracture_or_mscc": ("骨折或脊髓压迫", "fracture or cord compression"),
    "pain_relief": ("止痛", "pain relief"),
    "disease_stable": ("病情稳定", "disease stable"),
    "screening": ("筛查", "screening"),
    "proxy": ("替代判断", "proxy"),
    "radiotherapy_bone": ("骨放疗", "radiotherapy to bone"),
    "sbrt_bone": ("骨SBRT", "SBRT to bone"),
    "surgery_bone": ("骨外科手术", "bone surgery"),
    "mmol/L": ("mmol/L", "mmol/L"),
    "mg/dL": ("mg/dL", "mg/dL"),
    "positive": ("阳性", "positive"),
    "response": ("疗效评估", "response assessment"),
    "baseline": ("基线", "baseline"),
    "staging": ("分期", "staging"),
    "surveillance": ("随访监测", "surveillance"),
    "negative": ("阴性", "negative"),
}
"""Codes that appear as finding values (drugs, sites, scores, factors…) in words."""


def code_text(code: str, lang: str) -> str:
    """A code in words; a rule id or an unknown code as it is (never an internal repr)."""
    pair = CODE_LABELS.get(code)
    if pair is not None:
        return text(pair, lang)
    return code if lang == "en" or "-" in code else code.replace("_", " ")


def format_value(key: str, value: Any, lang: str) -> str:
    """One value as text: dates ISO, booleans 是/否, lists joined, codes in words, numbers
    without a spurious ``.0``, and "未记录" for a missing value."""
    if value is None or value == "" or value == []:
        return text(NOT_RECORDED, lang)
    if isinstance(value, bool):
        return text(("是", "yes") if value else ("否", "no"), lang)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ("、" if lang != "en" else ", ").join(format_value(key, v, lang) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
    if isinstance(value, int):
        return str(value)
    return code_text(str(value), lang)


def _unit(label: ValueLabel, lang: str) -> str:
    if "|" in label.unit:
        zh, en = label.unit.split("|", 1)
        return f" {en}" if lang == "en" else f" {zh}"
    return (
        "" if not label.unit else (label.unit if label.unit.startswith("/") else f" {label.unit}")
    )


@dataclass(frozen=True, slots=True)
class ShownValue:
    key: str
    label: str
    text: str
    recommended: bool


def finding_values(finding: Finding, lang: str) -> list[ShownValue]:
    """The finding's values as ``label: value unit`` rows in the page's language.

    A recommended amount reads as one (``建议每日钙 ≥500 mg``): SAFE-06's 500 mg and 400 IU are
    what the guideline asks for, not what the patient takes. A score that could not be
    computed reads "未记录" and its ``missing`` inputs are listed in words."""
    rows: list[ShownValue] = []
    calcium_unit = finding.values.get("ca_unit")
    for key, value in finding.values.items():
        if key == "ca_unit":
            continue
        label = RULE_VALUE_LABELS.get((finding.rule, key)) or VALUE_LABELS.get(key, V((key, key)))
        shown = format_value(key, value, lang)
        if value is not None and value != [] and key not in ("missing", "triggers"):
            unit = _unit(label, lang)
            if key in ("corrected_ca", "total") and isinstance(calcium_unit, str):
                unit = f" {calcium_unit}"
            shown = f"{shown}{unit}"
            if label.recommended and finding.rule in AT_LEAST:
                shown = f"≥{shown}"
        rows.append(ShownValue(key, text(label.label, lang), shown, label.recommended))
    return rows


RULE_VALUE_LABELS: Final[Mapping[tuple[str, str], ValueLabel]] = {
    ("SCORE-CG", "total"): V(("肌酐清除率", "Creatinine clearance"), "mL/min"),
    ("SCORE-CCA", "total"): V(("校正血钙", "Corrected calcium")),
    ("SURG-01", "total"): V(("Mirels总分", "Mirels total")),
    ("SURG-02", "total"): V(("SINS总分", "SINS total")),
    ("SURG-03", "total"): V(("Tokuhashi总分", "Tokuhashi total")),
}
"""Where a key means something particular to its rule (``total`` of SCORE-CG is a CrCl)."""

AT_LEAST: Final = frozenset({"SAFE-06"})
"""Rules whose recommended amounts are minimums (SAFE-06: calcium ≥ 500 mg, vitamin D ≥ 400 IU
a day)."""


# ---- sources: bonepath.rules.citations (shared with the printed quality report) ------------

def citations(rule_id: str, lang: str) -> list[ShownCitation]:
    from bonepath.rules import load_catalogue

    return [citation(c, lang) for c in load_catalogue()[rule_id].sources]


FIELD_LABELS: Final[Mapping[str, Pair]] = {
    "date": ("日期", "date"),
    "dose_mg": ("剂量", "dose"),
    "drug": ("药物", "drug"),
    "route": ("给药途径", "route"),
    "interval_days": ("给药间隔", "interval"),
    "value": ("数值", "value"),
    "unit": ("单位", "unit"),
    "test": ("检验项目", "test"),
    "bone_pain": ("骨痛评分", "bone pain"),
    "calcium_mg_daily": ("每日钙", "calcium a day"),
    "vitamin_d_iu_daily": ("每日维生素D", "vitamin D a day"),
    "weight_kg": ("体重", "weight"),
    "height_cm": ("身高", "height"),
    "ecog": ("ECOG评分", "ECOG"),
    "kps": ("KPS评分", "KPS"),
    "cortical_involvement_pct": ("骨皮质受累", "cortical involvement"),
    "size_mm": ("大小", "size"),
    "dose_gy": ("放疗剂量", "dose"),
    "fractions": ("分次", "fractions"),
    "reason": ("原因", "reason"),
    "result": ("结果", "result"),
    "kind": ("类型", "kind"),
    "site": ("部位", "site"),
    "level": ("椎体节段", "level"),
    "grade": ("分级", "grade"),
    "stage": ("分期", "stage"),
}
"""Record fields as a problem names them (``剂量``, not ``/events/bta/0/dose_mg``)."""


def problem_field(problem: Any, lang: str) -> str:
    """The field a refusal is about, in words (empty when it is about the whole entry)."""
    name = str(getattr(problem, "path", "")).rstrip("/").rsplit("/", 1)[-1]
    pair = FIELD_LABELS.get(name)
    return text(pair, lang) if pair else ""
