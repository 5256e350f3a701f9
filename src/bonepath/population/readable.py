"""Worklist items as people read them (issue 15 items 1, 9): drug, site and department names,
the reason of a row in plain words, and a finding's values labelled with their units — in
Chinese or English. Used by the web worklist and by the CSV/Excel exports, so the page and
the file say the same thing.

Texts are ``(zh, en)`` pairs; :func:`text` picks one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bonepath.population.worklist import WorklistItem
from bonepath.vocab import FindingKind

Pair = tuple[str, str]


def text(pair: Pair, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


DRUGS: Final[Mapping[str, Pair]] = {
    "zoledronic_acid": ("唑来膦酸", "zoledronic acid"),
    "denosumab": ("地舒单抗", "denosumab"),
    "ibandronate": ("伊班膦酸", "ibandronate"),
    "incadronate": ("英卡膦酸", "incadronate"),
    "pamidronate": ("帕米膦酸", "pamidronate"),
}
SITES: Final[Mapping[str, Pair]] = {
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
    "radius_ulna": ("桡尺骨", "radius/ulna"),
    "femur": ("股骨", "femur"),
    "tibia_fibula": ("胫腓骨", "tibia/fibula"),
    "other": ("其他部位", "other site"),
}
MODALITIES: Final[Mapping[str, Pair]] = {
    "bone_scan": ("骨扫描", "bone scan"),
    "ct": ("CT", "CT"),
    "mri": ("MRI", "MRI"),
    "pet_ct": ("PET-CT", "PET-CT"),
    "xray": ("X线", "X-ray"),
    "spect_ct": ("SPECT-CT", "SPECT-CT"),
}
DEPARTMENTS: Final[Mapping[str, Pair]] = {
    "oncology": ("肿瘤科", "Oncology"),
    "respiratory": ("呼吸科", "Respiratory medicine"),
    "thoracic_oncology": ("胸部肿瘤科", "Thoracic oncology"),
    "thoracic_surgery": ("胸外科", "Thoracic surgery"),
    "radiotherapy": ("放疗科", "Radiotherapy"),
    "orthopedics": ("骨科", "Orthopaedics"),
    "nuclear_medicine": ("核医学科", "Nuclear medicine"),
    "radiology": ("放射科", "Radiology"),
    "other": ("其他", "Other"),
}
"""The web pages' department names (the same words as their message catalogs)."""
SEVERITIES: Final[Mapping[str, Pair]] = {
    "critical": ("危急", "critical"),
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
}
KINDS: Final[Mapping[str, Pair]] = {
    "action": ("待办", "action"),
    "reminder": ("提醒", "reminder"),
    "alert": ("警示", "alert"),
    "data_needed": ("需补录", "data needed"),
    "info": ("信息", "information"),
}
FOLLOW_UP_KINDS: Final = frozenset({FindingKind.ACTION, FindingKind.REMINDER, FindingKind.ALERT})
"""Rows that ask someone to act (the phone is shown on these, not on data-needed rows)."""

# label, unit (zh, en); unit "" for none. Units are those of rules.md (in the key names).
_DAYS: Final = ("天", "days")
VALUE_LABELS: Final[Mapping[str, tuple[Pair, Pair]]] = {
    "age_years": (("年龄", "age"), ("岁", "years")),
    "attendees": (("参会科室", "attendees"), ("", "")),
    "baseline_crcl_ml_min": (("基线肌酐清除率", "baseline CrCl"), ("mL/min", "mL/min")),
    "baseline_dose_mg": (("基线剂量", "baseline dose"), ("mg", "mg")),
    "baseline_scr_mg_dl": (("基线血肌酐", "baseline creatinine"), ("mg/dL", "mg/dL")),
    "band_dose_mg": (("该肾功能档剂量", "dose of the renal band"), ("mg", "mg")),
    "ca_unit": (("钙单位", "calcium unit"), ("", "")),
    "calcium_mg_daily": (("建议每日钙", "recommended daily calcium"), ("mg", "mg")),
    "category": (("类别", "category"), ("", "")),
    "confirmed_date": (("确诊日期", "confirmed"), ("", "")),
    "corrected": (("已校正", "corrected"), ("", "")),
    "corrected_ca": (("校正钙", "corrected calcium"), ("mmol/L", "mmol/L")),
    "crcl_ml_min": (("肌酐清除率", "CrCl"), ("mL/min", "mL/min")),
    "date": (("日期", "date"), ("", "")),
    "days_since_confirmation": (("确诊后天数", "days since confirmation"), _DAYS),
    "days_since_last_dose": (("距上次给药", "since the last dose"), _DAYS),
    "decision_within_h": (("应在此时限内决策", "decide within"), ("小时", "h")),
    "derived_date": (("推定日期", "derived date"), ("", "")),
    "derived_status": (("推定状态", "derived status"), ("", "")),
    "dialysis": (("透析", "dialysis"), ("", "")),
    "dose_gy": (("放疗剂量", "radiotherapy dose"), ("Gy", "Gy")),
    "dose_mg": (("剂量", "dose"), ("mg", "mg")),
    "drug": (("药物", "drug"), ("", "")),
    "drugs": (("药物", "drugs"), ("", "")),
    "due": (("到期日", "due"), ("", "")),
    "ecog": (("ECOG 评分", "ECOG"), ("", "")),
    "exam_date": (("检查日期", "exam date"), ("", "")),
    "factors": (("因素", "factors"), ("", "")),
    "fractions": (("分次", "fractions"), ("次", "")),
    "genes": (("基因", "genes"), ("", "")),
    "grade": (("分级", "grade"), ("级", "")),
    "hcm": (("恶性高钙血症", "hypercalcaemia of malignancy"), ("", "")),
    "held_by": (("暂停原因", "held by"), ("", "")),
    "infusion_min": (("输注时间", "infusion time"), ("分钟", "min")),
    "interval_class": (("给药间隔类别", "interval class"), ("", "")),
    "interval_days": (("给药间隔", "interval"), _DAYS),
    "kps": (("KPS 评分", "KPS"), ("", "")),
    "last_assessed": (("上次评估", "last assessed"), ("", "")),
    "last_dental_date": (("上次口腔检查", "last dental check"), ("", "")),
    "last_dental_result": (("口腔检查结果", "dental result"), ("", "")),
    "last_dose_date": (("上次给药", "last dose"), ("", "")),
    "life_expectancy_months": (("预期生存期", "life expectancy"), ("个月", "months")),
    "mechanical_pain": (("机械性疼痛", "mechanical pain"), ("", "")),
    "missing": (("需补录", "missing"), ("", "")),
    "modality": (("检查", "exam"), ("", "")),
    "mri_within_h": (("应在此时限内做 MRI", "MRI within"), ("小时", "h")),
    "nrs": (("疼痛评分 NRS", "pain NRS"), ("", "")),
    "overdue_days": (("逾期", "overdue"), _DAYS),
    "procedure": (("操作", "procedure"), ("", "")),
    "prognosis": (("预后", "prognosis"), ("", "")),
    "purpose": (("目的", "purpose"), ("", "")),
    "reason": (("原因", "reason"), ("", "")),
    "recommended_dose_mg": (("建议剂量", "recommended dose"), ("mg", "mg")),
    "recorded_status": (("记录状态", "recorded status"), ("", "")),
    "reminder_date": (("提醒日期", "reminder day"), ("", "")),
    "resume_below_mg_dl": (("血肌酐低于此值可恢复", "resume below"), ("mg/dL", "mg/dL")),
    "rise_mg_dl": (("血肌酐升高", "creatinine rise"), ("mg/dL", "mg/dL")),
    "route": (("给药途径", "route"), ("", "")),
    "scr_age_days": (("血肌酐结果距今", "creatinine result age"), _DAYS),
    "scr_mg_dl": (("血肌酐", "creatinine"), ("mg/dL", "mg/dL")),
    "score": (("评分", "score"), ("", "")),
    "since": (("起始", "since"), ("", "")),
    "site": (("部位", "site"), ("", "")),
    "site_count": (("部位数", "sites"), ("处", "")),
    "stage": (("分期", "stage"), ("", "")),
    "status": (("状态", "status"), ("", "")),
    "tests": (("检验", "tests"), ("", "")),
    "total": (("总分", "total"), ("", "")),
    "trigger_date": (("触发日期", "trigger day"), ("", "")),
    "triggers": (("触发规则", "triggered by"), ("", "")),
    "vitamin_d_iu_daily": (("建议每日维生素D", "recommended daily vitamin D"), ("IU", "IU")),
    "weight_kg": (("体重", "weight"), ("kg", "kg")),
}
_ROUTES: Final[Mapping[str, Pair]] = {"iv": ("静脉", "IV"), "sc": ("皮下", "SC")}
_YES_NO: Final = {True: ("是", "yes"), False: ("否", "no")}


def _one(key: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return text(_YES_NO[value], lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    word = str(value)
    for table in (DRUGS, MODALITIES, SITES, _ROUTES) if key in _CODED else ():
        if word in table:
            return text(table[word], lang)
    return word


_CODED: Final = frozenset({"drug", "drugs", "modality", "site", "route"})


def value_text(key: str, value: Any, lang: str) -> str:
    """One value with its label and unit: ``肌酐清除率 42.5 mL/min``, ``药物 地舒单抗``."""
    label, unit = VALUE_LABELS.get(key, ((key.replace("_", " "),) * 2, ("", "")))
    if value is None:
        shown = "—"
    elif isinstance(value, list | tuple):
        shown = ("、" if lang != "en" else ", ").join(_one(key, v, lang) for v in value) or "—"
    else:
        shown = _one(key, value, lang)
    suffix = text(unit, lang)
    joiner = (
        ""
        if lang != "en" and suffix in {"天", "岁", "次", "级", "处", "个月", "分钟", "小时"}
        else " "
    )
    with_unit = f"{shown}{joiner}{suffix}" if suffix and value is not None else shown
    return f"{text(label, lang)} {with_unit}"


def values_text(values: Mapping[str, Any], lang: str, separator: str = "；") -> str:
    """A finding's values labelled, in rules.md order: ``药物 地舒单抗；逾期 37天``."""
    sep = separator if lang != "en" else "; "
    return sep.join(value_text(key, value, lang) for key, value in values.items())


def item_label(item: str | None, lang: str) -> str:
    """The finding's item (a lesion site, ``femur`` or ``T12``) in words; empty if none."""
    if not item:
        return ""
    site, _, rest = item.partition(":")
    words = text(SITES[site], lang) if site in SITES else site
    return f"{words} {rest}".strip()


def department_label(code: str | None, lang: str) -> str:
    if not code:
        return ""
    return text(DEPARTMENTS[code], lang) if code in DEPARTMENTS else code


@dataclass(frozen=True, slots=True)
class PatientContact:
    """What the worklist shows of who the patient is (record ``identity``), and the last BTA
    dose day on or before the as-of day (the reason of an injection row)."""

    name: str | None = None
    phone: str | None = None
    last_dose: dt.date | None = None


def reason(item: WorklistItem, contact: PatientContact | None, lang: str) -> str:
    """Why the row is urgent, in plain words: ``唑来膦酸 逾期 11 天；上次 2026-10-21``."""
    values = item.finding.values
    parts: list[str] = []
    drug = values.get("drug")
    if isinstance(drug, str) and drug in DRUGS:
        parts.append(text(DRUGS[drug], lang))
    modality = values.get("modality")
    if isinstance(modality, str) and modality in MODALITIES:
        parts.append(text(MODALITIES[modality], lang))
    if item.kind is FindingKind.DATA_NEEDED:
        missing = values.get("missing")
        head = "需补录" if lang != "en" else "data needed"
        if isinstance(missing, list | tuple) and missing:
            return f"{head}：{len(missing)} 项" if lang != "en" else f"{head}: {len(missing)}"
        return head
    days = item.days_overdue
    if days:
        parts.append(f"逾期 {days} 天" if lang != "en" else f"{days} days overdue")
    elif item.due is not None:
        ahead = (item.due - item.as_of).days
        if ahead == 0:
            parts.append("今天到期" if lang != "en" else "due today")
        else:
            parts.append(f"{ahead} 天后到期" if lang != "en" else f"due in {ahead} days")
    elif item.kind in (FindingKind.ALERT, FindingKind.ACTION):
        parts.append("现在处理" if lang != "en" else "now")
    first = " ".join(parts)
    if drug and contact is not None and contact.last_dose is not None:
        last = contact.last_dose.isoformat()
        return f"{first}；上次 {last}" if lang != "en" else f"{first}; last {last}"
    return first
