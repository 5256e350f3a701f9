"""The de-identified case package of a regional referral, readable (docs/mdt.md, network).

The package (``mdt/deidentify.py``) is JSON for machines: record keys, codes, dates as days
from the referral. The referral pages show it as the MDT case page shows its frozen summary
(the shared ``mdt_summary.html``: labelled values with units, codes in words, findings with
rule id, title and readable citation) and the rest of the record as labelled tables, every
date as a day relative to the referral ("第 −12 天", "day −12"). A JSON download stays for
machines (``/mdt/network/referrals/{code}/package.json``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bonepath.engine.findings import Finding
from bonepath.rules.catalogue import VALUE_TYPES, ValueType
from bonepath.vocab import FindingKind, Severity
from bonepath.web import clinical
from bonepath.web.clinical import Pair
from bonepath.web.i18n import Lang, gettext

MINUS: Final = "\u2212"
_CODE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_LAST: Final = frozenset({"report_text", "decision"})


def day_text(day: int, lang: str) -> str:
    """A day relative to the referral (day 0): ``第 −12 天`` / ``day −12``."""
    number = f"{MINUS}{-day}" if day < 0 else f"+{day}" if day > 0 else "0"
    return f"day {number}" if lang == "en" else f"第 {number} 天"


def when(data: Mapping[str, Any] | None, key: str, lang: str) -> str:
    """The date ``key`` of a summary item as shown: the ISO day of an MDT case's summary, or
    the de-identified package's day offset (``date`` → ``day``, ``confirmed_date`` →
    ``confirmed_day``) in words; empty when neither is there."""
    if not data:
        return ""
    value = data.get(key)
    if value is None:
        for suffix in ("_date", "_on", "_at"):
            if key.endswith(suffix):
                value = data.get(key[: -len(suffix)] + "_day")
                break
        else:
            value = data.get("day") if key == "date" else None
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return day_text(value, lang)
    return str(value)


# ---- labels ----------------------------------------------------------------------------------

LABELS: Final[Mapping[str, Pair]] = {
    "age": ("年龄", "age"),
    "sex": ("性别", "sex"),
    "department": ("科室", "department"),
    "hospital": ("转诊医院", "referring hospital"),
    "city_tier": ("城市级别", "city tier"),
    "type": ("医院类型", "hospital type"),
    "physician": ("主管医师", "physician"),
    "title": ("职称", "title"),
    "smoking": ("吸烟", "smoking"),
    "comorbidities": ("合并症", "comorbidities"),
    "death": ("死亡", "death"),
    "cancer": ("肺癌", "lung cancer"),
    "diagnosis": ("病理诊断", "pathological diagnosis"),
    "histology": ("病理类型", "histology"),
    "tnm": ("TNM", "TNM"),
    "drivers": ("驱动基因", "driver genes"),
    "pd_l1_tps": ("PD-L1 TPS", "PD-L1 TPS"),
    "setting": ("疾病阶段", "setting"),
    "surgery": ("根治性手术", "radical surgery"),
    "recurrence": ("复发/转移", "recurrence"),
    "visceral_metastasis": ("内脏转移", "visceral metastases"),
    "bone_metastasis": ("骨转移", "bone metastasis"),
    "status": ("状态", "status"),
    "confirmed": ("骨转移确诊", "bone metastasis confirmed"),
    "lesions": ("病灶", "lesions"),
    "peritrochanteric": ("转子周围", "peritrochanteric"),
    "alignment": ("脊柱序列", "alignment"),
    "collapse": ("椎体塌陷", "collapse"),
    "posterolateral": ("后外侧受累", "posterolateral involvement"),
    "bta_plan": ("骨改良药物计划", "bone-targeted agent plan"),
    "events": ("病程记录", "record entries"),
    "day": ("日期", "day"),
    "modality": ("检查", "exam"),
    "region": ("部位", "region"),
    "sites": ("病灶部位", "sites"),
    "pain_sites": ("疼痛部位", "pain sites"),
    "lesion_count": ("病灶数", "lesions"),
    "bone_window_reviewed": ("骨窗已阅", "bone window reviewed"),
    "report_text": ("报告", "report"),
    "lln": ("参考下限", "lower limit"),
    "uln": ("参考上限", "upper limit"),
    "life_expectancy_months": ("预计生存期", "life expectancy"),
    "neuro_deficit": ("神经功能障碍", "neurological deficit"),
    "mechanical_pain": ("机械性疼痛", "mechanical pain"),
    "frankel": ("Frankel分级", "Frankel grade"),
    "class": ("药物类别", "class"),
    "action": ("操作", "action"),
    "decision": ("决定", "decision"),
    "decisions": ("决定项", "decisions"),
    "attendees": ("参会科室", "departments attending"),
    "question": ("会诊问题", "question"),
    "remote": ("远程", "remote"),
    "centre": ("会诊中心", "centre"),
    "imaging": ("影像", "imaging"),
    "biopsy": ("骨活检", "bone biopsy"),
    "labs": ("检验", "laboratory"),
    "vitals": ("体征", "vital signs"),
    "performance": ("体能状态", "performance status"),
    "symptoms": ("症状", "symptoms"),
    "bta": ("骨改良药物给药", "bone-targeted agent doses"),
    "bta_stop": ("骨改良药物停药", "bone-targeted agent stops"),
    "supplements": ("钙剂与维生素D", "calcium and vitamin D"),
    "dental": ("口腔检查", "dental"),
    "medications": ("用药", "medications"),
    "treatments": ("抗肿瘤及局部治疗", "treatments"),
    "adverse_events": ("不良事件", "adverse events"),
    "sre": ("骨相关事件", "skeletal-related events"),
    "mdt": ("既往MDT讨论", "earlier MDT discussions"),
    "vitamin_d_iu_daily": ("每日维生素D", "vitamin D a day"),
}
"""Record keys (record-format.md) in words; the rest come from :data:`clinical.FIELD_LABELS`
and :data:`clinical.VALUE_LABELS`."""

UNITS: Final[Mapping[str, str]] = {
    "weight_kg": "kg",
    "height_cm": "cm",
    "dose_mg": "mg",
    "size_mm": "mm",
    "cortical_involvement_pct": "%",
    "pd_l1_tps": "%",
    "dose_gy": "Gy",
    "calcium_mg_daily": "mg",
    "vitamin_d_iu_daily": "IU",
    "interval_days": "天|days",
    "life_expectancy_months": "个月|months",
    "age": "岁|years",
}

CODES: Final[Mapping[str, Pair]] = {
    "tier1-2": ("一二线城市", "tier-1/2 city"),
    "tier3-4": ("三四线城市", "tier-3/4 city"),
    "general": ("综合医院", "general hospital"),
    "cancer": ("肿瘤专科医院", "cancer hospital"),
    "chief": ("主任医师", "chief physician"),
    "associate_chief": ("副主任医师", "associate chief physician"),
    "attending": ("主治医师", "attending physician"),
    "never": ("从不吸烟", "never"),
    "former": ("已戒烟", "former"),
    "current": ("吸烟", "current"),
    "ckd": ("慢性肾病", "chronic kidney disease"),
    "dialysis": ("透析", "dialysis"),
    "dental_disease": ("口腔疾病", "dental disease"),
    "osteoporosis": ("骨质疏松", "osteoporosis"),
    "resected": ("根治术后", "resected"),
    "locally_advanced": ("局部晚期", "locally advanced"),
    "advanced": ("晚期/转移", "advanced or metastatic"),
    "removable": ("可切除", "removable"),
    "unremovable": ("不可切除", "unremovable"),
    "lytic": ("溶骨性", "lytic"),
    "blastic": ("成骨性", "blastic"),
    "mixed": ("混合性", "mixed"),
    "normal": ("正常", "normal"),
    "deformity": ("畸形", "deformity"),
    "subluxation": ("半脱位", "subluxation"),
    "none_gt50_involved": ("无塌陷，椎体受累>50%", "no collapse, > 50 % involved"),
    "lt50": ("塌陷<50%", "collapse < 50 %"),
    "gt50": ("塌陷>50%", "collapse > 50 %"),
    "unilateral": ("单侧", "unilateral"),
    "bilateral": ("双侧", "bilateral"),
    "unknown": ("未知", "unknown"),
    "metastatic_lung": ("肺癌骨转移", "metastatic lung cancer"),
    "other_malignancy": ("其他恶性肿瘤", "other malignancy"),
    "benign": ("良性", "benign"),
    "nondiagnostic": ("未能确诊", "non-diagnostic"),
    "weak_opioid": ("弱阿片类", "weak opioid"),
    "strong_opioid_short": ("强阿片类（短效）", "strong opioid (short-acting)"),
    "strong_opioid_long": ("强阿片类（长效）", "strong opioid (long-acting)"),
    "corticosteroid": ("糖皮质激素", "corticosteroid"),
    "adjuvant_analgesic": ("辅助镇痛药", "adjuvant analgesic"),
    "start": ("开始", "start"),
    "stop": ("停用", "stop"),
    "targeted": ("靶向治疗", "targeted therapy"),
    "chemotherapy": ("化疗", "chemotherapy"),
    "immunotherapy": ("免疫治疗", "immunotherapy"),
    "chemo_immunotherapy": ("化疗联合免疫治疗", "chemo-immunotherapy"),
    "radionuclide": ("放射性核素治疗", "radionuclide therapy"),
    "ablation_cementoplasty": ("消融/骨水泥成形", "ablation / cementoplasty"),
    "onj": ("颌骨坏死", "osteonecrosis of the jaw"),
    "hypocalcemia": ("低钙血症", "hypocalcaemia"),
    "renal_toxicity": ("肾毒性", "renal toxicity"),
    "other": ("其他", "other"),
}


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(slots=True)
class PackageView:
    """What the referral pages show of a package (all text in the page's language)."""

    facts: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    values: dict[str, list[clinical.ShownValue]] = field(default_factory=dict)
    citations: dict[str, list[clinical.ShownCitation]] = field(default_factory=dict)
    dues: dict[str, str] = field(default_factory=dict)


def _pair(pair: Pair, lang: str) -> str:
    return clinical.text(pair, lang)


def label(key: str, lang: str) -> str:
    """A record key in words (``thoracic_surgery`` never shows as a key)."""
    if key in LABELS:
        return _pair(LABELS[key], lang)
    if key in clinical.FIELD_LABELS:
        return _pair(clinical.FIELD_LABELS[key], lang)
    if key in clinical.VALUE_LABELS:
        return _pair(clinical.VALUE_LABELS[key].label, lang)
    for suffix in ("_day", "_date"):
        if key.endswith(suffix) and key != suffix[1:]:
            return label(key[: -len(suffix)], lang)
    return key.replace("_", " ")


class _Words:
    """Codes in words: the pages' catalogue labels by field, then the local pairs."""

    def __init__(self, lang: Lang, by_field: Mapping[str, Mapping[str, str]]) -> None:
        self.lang = lang
        self.by_field = by_field

    def code(self, key: str, value: str) -> str:
        labels = self.by_field.get(key)
        if labels and value in labels:
            return gettext(self.lang, labels[value])
        if value in CODES:
            return _pair(CODES[value], self.lang)
        if _CODE.match(value) or value in clinical.CODE_LABELS:
            return clinical.code_text(value, self.lang)
        return value

    def value(self, key: str, value: Any) -> str:
        lang = self.lang
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, bool):
            return _pair(("是", "yes") if value else ("否", "no"), lang)
        if isinstance(value, int) and (key == "day" or key.endswith("_day")):
            return day_text(value, lang)
        if isinstance(value, int | float):
            shown = clinical.format_value(key, value, lang)
            unit = UNITS.get(key, "")
            if "|" in unit:
                unit = unit.split("|")[1 if lang == "en" else 0]
            return f"{shown} {unit}" if unit else shown
        if isinstance(value, Mapping):
            sep = "，" if lang != "en" else ", "
            return sep.join(f"{k} {self.value(str(k), v)}" for k, v in value.items())
        if isinstance(value, list | tuple):
            sep = "、" if lang != "en" else ", "
            return sep.join(self.value(key, v) for v in value)
        return self.code(key, str(value))


def _rows(
    words: _Words, data: Mapping[str, Any], skip: Sequence[str] = ()
) -> list[tuple[str, str]]:
    return [
        (label(k, words.lang), words.value(k, v))
        for k, v in data.items()
        if k not in skip and not (isinstance(v, list) and v and isinstance(v[0], Mapping))
    ]


def _table(words: _Words, title: str, items: Sequence[Mapping[str, Any]]) -> Table:
    keys: list[str] = []
    for item in items:
        keys.extend(k for k in item if k not in keys)
    keys.sort(key=lambda k: 0 if k == "day" else 2 if k in _LAST else 1)  # text last
    rows = [[words.value(k, item.get(k)) for k in keys] for item in items]
    return Table(title, [label(k, words.lang) for k in keys], rows)


def _finding(data: Mapping[str, Any], lang: str) -> tuple[Finding, str]:
    """A package finding (dates as day offsets) and its due day in words."""
    values: dict[str, Any] = {}
    for key, value in (data.get("values") or {}).items():
        name = str(key)
        if isinstance(value, int) and not isinstance(value, bool):
            date_key = name[:-4] + "_date" if name.endswith("_day") else name
            if VALUE_TYPES.get(date_key) is ValueType.DATE:
                values[date_key] = day_text(value, lang)
                continue
        values[name] = value
    title = data.get("title") or {}
    due = data.get("due")
    finding = Finding(
        rule=str(data.get("rule") or ""),
        kind=FindingKind(data.get("kind", "info")),
        severity=Severity(data.get("severity", "low")),
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        due=None,
        values=values,
        sources=tuple(data.get("sources") or ()),
    )
    shown_due = day_text(due, lang) if isinstance(due, int) and not isinstance(due, bool) else ""
    return finding, shown_due


def package_view(
    package: Mapping[str, Any],
    lang: Lang,
    by_field: Mapping[str, Mapping[str, str]],
    citations: Callable[[str, str], list[clinical.ShownCitation]],
) -> PackageView:
    """The package as labelled facts, sections and tables, and its findings (those of the
    case summary when the referral comes from an MDT case, else the package's own)."""
    words = _Words(lang, by_field)
    view = PackageView()
    record: Mapping[str, Any] = package.get("record") or {}
    view.facts.append((label("age", lang), words.value("age", package.get("age"))))
    view.facts.append((label("sex", lang), words.value("sex", package.get("sex"))))
    for key in ("department", "smoking", "comorbidities", "death_day"):
        if record.get(key) not in (None, "", []):
            view.facts.append((label(key, lang), words.value(key, record[key])))
    hospital = record.get("hospital") or {}
    for key in ("city_tier", "type"):
        if hospital.get(key):
            view.facts.append((label(key, lang), words.value(key, hospital[key])))
    physician = record.get("physician") or {}
    if physician.get("title"):
        view.facts.append((label("physician", lang), words.value("title", physician["title"])))
    for key in ("cancer", "bone_metastasis", "bta_plan"):
        part = record.get(key)
        if isinstance(part, Mapping) and part:
            view.sections.append((label(key, lang), _rows(words, part)))
            for sub, items in part.items():
                if isinstance(items, list) and items and isinstance(items[0], Mapping):
                    view.tables.append(_table(words, label(sub, lang), items))
    for kind, items in (record.get("events") or {}).items():
        if isinstance(items, list) and items:
            view.tables.append(_table(words, label(str(kind), lang), items))
    summary = package.get("summary") or {}
    for data in summary.get("findings") or package.get("findings") or ():
        finding, due = _finding(data, lang)
        view.findings.append(finding)
        view.values[finding.rule] = clinical.finding_values(finding, lang)
        view.citations[finding.rule] = citations(finding.rule, lang)
        view.dues[finding.rule] = due
    return view


def iso_dues(findings: Sequence[Finding]) -> dict[str, str]:
    """The case page's due dates (ISO), for the shared summary template."""
    return {f.rule: f.due.isoformat() if isinstance(f.due, dt.date) else "" for f in findings}
