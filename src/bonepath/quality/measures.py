"""The quality indicators QC-01..QC-10 of rules.md §13, QC-11 (issue 17) and QC-12 (issue 16),
as definitions.

Each :class:`Measure` says, in Chinese and English, what it counts (numerator), among whom
(denominator), whom it leaves out (exclusions), how the reporting period selects the units,
and the whitepaper figure it is compared with, with its source (seed file and chapter). The
computation is :mod:`bonepath.quality.compute`; these objects are what the reports, the CLI,
the web page and the FHIR ``Measure``/``MeasureReport`` export print.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from bonepath.rules.sources import Citation, system, wp


class Unit(StrEnum):
    """What one denominator unit is."""

    EXAM = "exam"
    PATIENT = "patient"
    DOSE = "dose"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class Stratum:
    """A stratum the whitepaper reports a baseline for (QC-01's 分层分析)."""

    by: str
    value: str
    baseline: float


@dataclass(frozen=True, slots=True)
class Measure:
    """One quality indicator.

    ``baseline`` is the whitepaper figure as a proportion (``None`` when the whitepaper reports
    none, "n/r"); ``baseline_text`` says how to read it ("< 50 %" is an upper bound);
    ``sources`` cite where the figure and the definition come from.
    """

    id: str
    name: Text
    numerator: Text
    denominator: Text
    exclusions: Text
    period: Text
    unit: Unit
    baseline: float | None
    baseline_text: Text
    sources: tuple[Citation, ...]
    strata_baselines: tuple[Stratum, ...] = ()
    improvement: str = "increase"
    """Which direction is better (FHIR ``improvementNotation``); every QC measure: increase."""

    def title(self, lang: str) -> str:
        return self.name(lang)

    def stratum_baseline(self, by: str, value: str) -> float | None:
        for s in self.strata_baselines:
            if s.by == by and s.value == value:
                return s.baseline
        return None


SMALL_STRATUM: Final = 20
"""Strata with fewer units in the denominator are flagged ``small`` (never hidden)."""

STRATA: Final[tuple[str, ...]] = (
    "hospital",
    "city_tier",
    "hospital_type",
    "department",
    "physician_title",
    "month",
)
"""The stratum keys of interfaces.md, in report order."""

STRATUM_NAMES: Final[dict[str, Text]] = {
    "hospital": Text("医院", "Hospital"),
    "city_tier": Text("城市级别", "City tier"),
    "hospital_type": Text("医院类型", "Hospital type"),
    "department": Text("科室", "Department"),
    "physician_title": Text("医师职称", "Physician title"),
    "month": Text("月份", "Month"),
}

VALUE_LABELS: Final[dict[str, dict[str, Text]]] = {
    "city_tier": {"tier1-2": Text("一二线城市", "Tier 1–2 city"), "tier3-4": Text("三四线城市", "Tier 3–4 city")},
    "hospital_type": {"general": Text("综合医院", "General hospital"), "cancer": Text("肿瘤专科医院", "Cancer hospital")},
    "physician_title": {
        "chief": Text("主任医师", "Chief physician"),
        "associate_chief": Text("副主任医师", "Associate chief"),
        "attending": Text("主治医师", "Attending"),
    },
    "department": {
        "oncology": Text("肿瘤内科", "Oncology"),
        "respiratory": Text("呼吸科", "Respiratory"),
        "thoracic_oncology": Text("胸部肿瘤科", "Thoracic oncology"),
        "thoracic_surgery": Text("胸外科", "Thoracic surgery"),
        "radiotherapy": Text("放疗科", "Radiotherapy"),
        "orthopedics": Text("骨科", "Orthopaedics"),
        "nuclear_medicine": Text("核医学科", "Nuclear medicine"),
        "radiology": Text("影像科", "Radiology"),
        "other": Text("其他", "Other"),
    },
}

NOT_RECORDED: Final = Text("未记录", "not recorded")


def value_label(by: str, value: str | None, lang: str) -> str:
    """The reader's name of a stratum value (codes of record-format.md; hospital ids and
    months as they are)."""
    if value is None:
        return NOT_RECORDED(lang)
    text = VALUE_LABELS.get(by, {}).get(value)
    return text(lang) if text else value


MEASURES: Final[tuple[Measure, ...]] = (
    Measure(
        id="QC-01",
        name=Text("CT骨窗查看率", "CT bone-window review"),
        numerator=Text(
            "骨窗已查看的胸部/胸腹部CT：bone_window_reviewed 为 true；未记录时由报告判断（报告描述了骨骼，未经验证的辅助提示）",
            "chest or chest-abdomen CT exams with bone_window_reviewed true; when not recorded, read from the report (it describes the bones; an unvalidated aid)",
        ),
        denominator=Text(
            "报告期内全部胸部/胸腹部CT（肺癌患者）",
            "all chest or chest-abdomen CT exams of lung-cancer patients in the period",
        ),
        exclusions=Text(
            "无；其他部位CT（脊柱、骨盆、四肢、头部：针对已知骨病灶）不计入",
            "none; CTs of other regions (spine, pelvis, limb, head: aimed at a known bone lesion) are not counted",
        ),
        period=Text("CT检查日期在报告期内", "the CT's date lies in the period"),
        unit=Unit.EXAM,
        baseline=0.59,
        baseline_text=Text(
            "59%（一二线城市65%，三四线51%；综合医院58%，肿瘤专科50%；主任63%，副主任56%，主治53%）",
            "59 % (tier 1–2: 65 %, tier 3–4: 51 %; general 58 %, cancer 50 %; chief 63 %, associate 56 %, attending 53 %)",
        ),
        sources=(
            wp("CT骨窗 (调研: 仅会对临床上59%的患者查看骨窗; 分层分析)"),
            wp("专家组倡议", "将骨窗纳入影像报告质控指标"),
        ),
        strata_baselines=(
            Stratum("city_tier", "tier1-2", 0.65),
            Stratum("city_tier", "tier3-4", 0.51),
            Stratum("hospital_type", "general", 0.58),
            Stratum("hospital_type", "cancer", 0.50),
            Stratum("physician_title", "chief", 0.63),
            Stratum("physician_title", "associate_chief", 0.56),
            Stratum("physician_title", "attending", 0.53),
        ),
    ),
    Measure(
        id="QC-02",
        name=Text("晚期患者每6个月骨扫描", "6-monthly bone survey, advanced disease"),
        numerator=Text(
            "自晚期起（诊断日或复发日）每个完整6个月窗口内均有骨扫描或PET-CT的患者",
            "patients with a bone scan or PET-CT in every complete 6-month window since advanced disease began (diagnosis or recurrence date)",
        ),
        denominator=Text(
            "晚期患者，随访≥6个月（至死亡或报告期止），且至少一个完整窗口在报告期内结束",
            "advanced patients followed ≥ 6 months (to death or the period end) with at least one complete window ending in the period",
        ),
        exclusions=Text("非晚期（可切除、局部晚期）", "not advanced (resected, locally advanced)"),
        period=Text(
            "患者最后一个完整窗口的结束日在报告期内；只判断在报告期内结束的窗口",
            "the patient's last complete window ends in the period; only windows ending in the period are judged",
        ),
        unit=Unit.PATIENT,
        baseline=0.50,
        baseline_text=Text("< 50%（随访期周期性骨扫描使用率不足5成）", "< 50 % (periodic follow-up bone scans in fewer than half)"),
        sources=(
            wp("骨扫描 (随访阶段的周期性骨扫描使用率不足5成)"),
            wp("长期随访表 (晚期: 初诊, 第6月, 第12月)"),
        ),
    ),
    Measure(
        id="QC-03",
        name=Text("确诊后立即启动骨改良药物", "Immediate BTA start after confirmation"),
        numerator=Text(
            "确诊骨转移后14天内（含）首次使用骨改良药物",
            "first BTA dose within 14 days (inclusive) after the bone-metastasis confirmation date",
        ),
        denominator=Text(
            "报告期内新确诊骨转移的患者（确诊日+14天不晚于报告期止）",
            "patients newly confirmed in the period (confirmation + 14 days on or before the period end)",
        ),
        exclusions=Text(
            "确诊时（或之前最近一次）记录的预期寿命<3个月",
            "the latest life expectancy recorded on or before confirmation is < 3 months",
        ),
        period=Text("确诊日期在报告期内", "the confirmation date lies in the period"),
        unit=Unit.PATIENT,
        baseline=0.50,
        baseline_text=Text("< 50%（立刻启动的比例不足50%）", "< 50 % (fewer than half start immediately)"),
        sources=(
            wp("骨靶向药物启用时机", "确诊骨转移的患者中，立刻启动骨靶向药物治疗的比例不足50%"),
            system("14 days (BTA-01 due)"),
        ),
    ),
    Measure(
        id="QC-03b",
        name=Text("无症状骨转移患者使用骨改良药物", "BTA in asymptomatic bone metastasis"),
        numerator=Text(
            "报告期止前已使用骨改良药物的无症状确诊患者",
            "asymptomatic confirmed patients with a BTA dose on or before the period end",
        ),
        denominator=Text(
            "报告期内确诊、确诊时无症状的患者：确诊前30天至确诊日无骨痛（NRS≥1）、神经功能障碍或机械性疼痛记录，且确诊日及之前无SRE",
            "patients confirmed in the period and asymptomatic then: no bone pain (NRS ≥ 1), neuro deficit or mechanical pain recorded in the 30 days up to confirmation, and no SRE on or before it",
        ),
        exclusions=Text("确诊时预期寿命<3个月（同QC-03）", "life expectancy < 3 months at confirmation (as QC-03)"),
        period=Text("确诊日期在报告期内", "the confirmation date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text("白皮书未报告（倡导“无痛也干预”）", "not reported (WP: treat without pain)"),
        sources=(wp("专家组倡议", "诊断即治疗，无痛也干预"), system("30-day symptom window")),
    ),
    Measure(
        id="QC-04",
        name=Text("标准间隔给药", "Standard-interval doses"),
        numerator=Text(
            "与前一剂间隔为标准（ADH-04）的给药",
            "doses whose interval from the previous dose is standard (ADH-04 interval class)",
        ),
        denominator=Text(
            "报告期内有同一疗程前一剂（同一药物，其间无停药记录）的给药",
            "doses in the period with a previous dose of the same course (same drug, no stop recorded between)",
        ),
        exclusions=Text(
            "首剂、换药后的首剂、停药后再开始的首剂；地舒单抗60 mg（VAL-04，不计为骨改良药物剂量）",
            "first doses, the first dose after a drug switch or a stop; denosumab doses other than 120 mg (VAL-04: not a BTA dose)",
        ),
        period=Text("后一剂的日期在报告期内", "the later dose's date lies in the period"),
        unit=Unit.DOSE,
        baseline=None,
        baseline_text=Text(
            "白皮书未报告给药比例（约70%的医生倾向延长间隔或提前停药）",
            "not reported as a dose share (~70 % of physicians favour longer intervals or an early stop)",
        ),
        sources=(wp("规范用药 (Kettle 2018: 27–30 d)"), wp("治疗模式")),
    ),
    Measure(
        id="QC-05",
        name=Text("骨手术前已用骨改良药物", "BTA before bone surgery"),
        numerator=Text(
            "首次骨手术（surgery_bone）日期之前已有骨改良药物给药",
            "a BTA dose dated before the first bone surgery (surgery_bone)",
        ),
        denominator=Text(
            "首次骨手术在报告期内的骨转移患者（确诊或疑似）",
            "bone-metastasis patients (confirmed or suspected) whose first bone surgery lies in the period",
        ),
        exclusions=Text("无骨转移（确诊或疑似）的患者", "patients without (confirmed or suspected) bone metastasis"),
        period=Text("首次骨手术日期在报告期内", "the first bone surgery's date lies in the period"),
        unit=Unit.PATIENT,
        baseline=0.57,
        baseline_text=Text("57%（骨手术前治疗方案）", "57 % (treatment before bone surgery)"),
        sources=(wp("骨手术前治疗方案 (57%)"),),
    ),
    Measure(
        id="QC-06",
        name=Text("初诊基线骨扫描", "Baseline bone survey at diagnosis"),
        numerator=Text(
            "诊断前60天至诊断后30天（SCR-01窗口）有骨扫描或PET-CT",
            "a bone scan or PET-CT from 60 days before to 30 days after diagnosis (the SCR-01 window)",
        ),
        denominator=Text(
            "报告期内新诊断的患者，窗口已结束（诊断+30天不晚于死亡或报告期止）",
            "patients newly diagnosed in the period whose window has closed (diagnosis + 30 days on or before death or the period end)",
        ),
        exclusions=Text("诊断后30天内死亡", "death within 30 days of diagnosis"),
        period=Text("诊断日期在报告期内", "the diagnosis date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text("白皮书未报告（倡议所有初诊患者骨扫描）", "not reported (WP recommends a bone scan for every new patient)"),
        sources=(wp("专家组倡议", "推荐所有肺癌患者初诊时进行全面的骨扫描检查"), system("SCR-01 window")),
    ),
    Measure(
        id="QC-07",
        name=Text("用药前口腔检查", "Dental examination before BTA"),
        numerator=Text(
            "首剂时不触发SAFE-08：首剂前90天内（含首剂当日）最近一次口腔检查未发现需治疗的疾病",
            "starters without SAFE-08 at the first dose: the latest dental examination in the 90 days up to the first dose did not find disease needing treatment (rules 1.1)",
        ),
        denominator=Text("首剂在报告期内的骨改良药物起始患者", "BTA starters whose first dose lies in the period"),
        exclusions=Text("无", "none"),
        period=Text("首剂日期在报告期内", "the first dose's date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text("白皮书未报告", "not reported"),
        sources=(wp("ONJ 倡议"), system("SAFE-08 (engine fact dental_before_start)")),
    ),
    Measure(
        id="QC-08",
        name=Text("逾期随访完成率", "Overdue follow-up completion"),
        numerator=Text(
            "开启后7天内由护士关闭并记录中断原因（费用、安全顾虑、口腔、体能状态、拒绝、不明、转院、已故、其他）的ADH-03任务；系统自动关闭不计",
            "ADH-03 tasks closed by a nurse with an interruption reason (cost, safety worry, dental, performance status, declined, unknown, transferred, deceased, other) within 7 days of opening; system closes do not count",
        ),
        denominator=Text(
            "提醒服务在报告期内开启、且开启后7天已过的ADH-03任务；无任务数据时：报告期止日ADH-03触发的患者（分子不可得）",
            "ADH-03 tasks of the reminder service opened in the period with their 7 days passed by its end; without task data: the patients for whom ADH-03 fires on the period end (numerator unknown)",
        ),
        exclusions=Text("SAFE-02/04/05暂停用药（ADH-06，不生成任务）", "doses held by SAFE-02/04/05 (ADH-06: no task)"),
        period=Text("任务开启日在报告期内", "the task's opening day lies in the period"),
        unit=Unit.TASK,
        baseline=None,
        baseline_text=Text("白皮书未报告", "not reported"),
        sources=(
            wp("规范用药", "对超4周未规范用药的患者主动随访，分析中断原因并针对性干预"),
            system("7 days"),
        ),
    ),
    Measure(
        id="QC-09",
        name=Text("MDT使用", "MDT use"),
        numerator=Text(
            "首个MDT-01触发之日或之后有MDT记录的患者",
            "patients with an mdt item on or after the first MDT-01 trigger",
        ),
        denominator=Text(
            "首个MDT-01触发（DX-04、Mirels≥8、SINS≥7、Tokuhashi≥9、RT-05、SAFE-11、重度疼痛+强阿片）在报告期内的患者",
            "patients whose first MDT-01 trigger (DX-04, Mirels ≥ 8, SINS ≥ 7, Tokuhashi ≥ 9, RT-05, SAFE-11, severe pain on a strong opioid) lies in the period",
        ),
        exclusions=Text(
            "无；一过性触发（RT-05 7天、疼痛30天）在报告期内出现神经功能障碍或重度疼痛的每一天回放评估",
            "none; transient triggers (RT-05: 7 days, pain: 30 days) are replayed on every day of the period with a neurological deficit or severe pain",
        ),
        period=Text("首个触发日期在报告期内", "the first trigger's date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text(
            "患者层面未报告；35%–54%的医院建立了肺癌MDT（医院层面）",
            "not reported per patient; 35–54 % of hospitals run a lung-cancer MDT (hospital level)",
        ),
        sources=(wp("MDT", "我国仅有35%~54%的医院建立了肺癌MDT"), system("MDT-01 triggers (engine)")),
    ),
    Measure(
        id="QC-10",
        name=Text("SRE后继续骨改良药物", "BTA continued after an SRE"),
        numerator=Text("SRE之后再次给药的患者", "patients dosed again after the SRE"),
        denominator=Text(
            "报告期内在用药期间发生SRE（试验定义；首剂之后、该疗程停药记录之前）的患者，以期内首个此类SRE计",
            "patients with an SRE (trial definition) on BTA in the period — after a dose and before that course's recorded stop; the first such SRE in the period counts",
        ),
        exclusions=Text(
            "SRE后28天内死亡；SRE距报告期止不足该药计划间隔+28天（尚无法判断）",
            "death within 28 days of the SRE; an SRE less than the planned interval + 28 days before the period end (too early to judge)",
        ),
        period=Text("SRE日期在报告期内", "the SRE's date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text("白皮书未报告（倡议避免因SRE中断有效治疗）", "not reported (WP: do not stop effective treatment because of an SRE)"),
        sources=(wp("专家组倡议", "避免因SRE出现而中断有效治疗"), system("grace = interval + 28 days")),
    ),
    Measure(
        id="QC-11",
        name=Text("胸部CT报告骨骼描述率", "Chest CT reports that describe the bones"),
        numerator=Text(
            "报告检查器判断为描述了骨骼（骨窗、骨质、椎体、肋骨等，正常描述亦计）的胸部/胸腹部CT报告",
            "chest or chest-abdomen CT reports that the report checker reads as describing the bones (bone window, bone, vertebrae, ribs …; a normal statement counts)",
        ),
        denominator=Text(
            "报告期内有报告文本（report_text）的胸部/胸腹部CT",
            "chest or chest-abdomen CT exams with a report_text in the period",
        ),
        exclusions=Text(
            "无报告文本的CT；其他部位CT。记录无放射科医师字段：按医院、科室等分层；按阅片医师见“QC-11 按阅片医师”表（取自已关联DICOM检查的头信息）",
            "CTs without report text; CTs of other regions. The record has no radiologist field: stratified by hospital, department …; by reading radiologist in the table 'QC-11 by reading radiologist' (from the linked DICOM study's header)",
        ),
        period=Text("CT检查日期在报告期内", "the CT's date lies in the period"),
        unit=Unit.EXAM,
        baseline=None,
        baseline_text=Text(
            "白皮书未报告（倡议将骨窗纳入影像报告质控指标）",
            "not reported (WP: make the bone window an imaging-report quality indicator)",
        ),
        sources=(
            wp("结语", "将骨窗纳入影像报告质控指标"),
            system("CT report checker (bonepath.imaging.report; unvalidated aid, docs/imaging.md)"),
        ),
    ),
    Measure(
        id="QC-12",
        name=Text("MDT-01按期讨论", "MDT-01 triggers discussed by their due date"),
        numerator=Text(
            "自首个MDT-01触发至其截止日期（RT-05次日、SINS≥13为2天、其余14天）之间有MDT记录的患者",
            "patients with an mdt item from the first MDT-01 trigger to its due date (the next day with RT-05, 2 days with SINS ≥ 13, else 14 days)",
        ),
        denominator=Text(
            "报告期末评估时存在MDT-01触发、首个触发在报告期内且截止日期不晚于报告期止的患者",
            "patients with an MDT-01 trigger standing on the period end whose first trigger lies in the period and whose due date is on or before the period end",
        ),
        exclusions=Text(
            "截止日期晚于报告期止（尚无法判断）；报告期末前已消退的一过性触发（RT-05 7天、疼痛30天）不计入（QC-09会回放这些触发，但回放不含截止日期类别）",
            "due date after the period end (too early to judge); transient triggers that lapsed before the period end (RT-05 after 7 days, pain after 30) are not counted (QC-09 replays them, but the replay carries no due-date class)",
        ),
        period=Text("首个触发日期在报告期内", "the first trigger's date lies in the period"),
        unit=Unit.PATIENT,
        baseline=None,
        baseline_text=Text(
            "白皮书未报告（MDT-01截止日期：规则目录 1.1 版）",
            "not reported (MDT-01's due date: rule catalogue version 1.1)",
        ),
        sources=(
            wp("MDT", "在骨转移诊断方面面临困难时，可通过骨转移MDT"),
            system("due = earliest trigger + 1 d (RT-05), + 2 d (SINS ≥ 13), else + 14 d (v1.1)"),
        ),
    ),
)

MEASURE_IDS: Final[tuple[str, ...]] = tuple(m.id for m in MEASURES)


def measure(measure_id: str) -> Measure:
    """The measure with id ``measure_id`` (``KeyError`` when unknown)."""
    for m in MEASURES:
        if m.id == measure_id:
            return m
    raise KeyError(measure_id)


__all__ = [
    "MEASURES",
    "MEASURE_IDS",
    "SMALL_STRATUM",
    "STRATA",
    "STRATUM_NAMES",
    "Measure",
    "Stratum",
    "Text",
    "Unit",
    "measure",
    "value_label",
]
