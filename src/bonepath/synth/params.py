"""Calibration parameters of the synthetic cohort, every number with its source.

The synthetic cohort imitates the care *practice* the whitepaper (WP, ``000_e41800b93e446bea.txt``,
中国肺癌骨转移诊疗现状白皮书, physician survey n = 472) describes, so that the quality
indicators of rules.md §13 measured on it can be compared with known ground truth. Each
parameter is a field of a frozen dataclass whose ``metadata`` carries its ``source`` (a WP
chapter and figure, a published fact marked ``[K]``, or ``assumption``) and its meaning;
:func:`describe_parameters` lists them all (``docs/synthetic-cohort.md`` is written from it).

Categorical distributions are tuples of ``(code, weight)`` pairs; weights need not sum to 1.
Durations are in days unless the name says otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

T = TypeVar("T")

WP: Final = "WP"
"""Short name of the whitepaper seed ``000_e41800b93e446bea.txt`` in the ``source`` strings."""

ASSUMPTION: Final = "assumption"

Weights = tuple[tuple[str, float], ...]


def param(default: T, *, source: str, meaning: str) -> T:
    """A dataclass field whose metadata documents where ``default`` comes from."""
    result: T = field(default=default, metadata={"source": source, "meaning": meaning})
    return result


# ---- hospitals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HospitalSpec:
    """One synthetic hospital: its stratum, its relative patient volume and its lab's units."""

    id: str
    name: str
    city_tier: str  # "tier1-2" | "tier3-4"
    type: str  # "general" | "cancer"
    weight: float  # relative share of patients
    creatinine_unit: str = "umol/L"
    calcium_unit: str = "mmol/L"
    albumin_unit: str = "g/L"


def _hospitals() -> tuple[HospitalSpec, ...]:
    """40 hospitals: 22 in tier-1/2 cities (14 general, 8 cancer), 18 in tier 3/4 (14 + 4).

    Volumes are chosen so that tier-1/2 hospitals see 52/91 = 4/7 of the patients: with the
    WP tier rates (65 % / 51 %) the overall bone-window rate is then exactly 59 %
    (0.65 x 4/7 + 0.51 x 3/7 = 0.59), as the WP overall figure says. Cancer hospitals see
    16/52 and 12/39 (both ~31 %) of each tier's patients, so that hospital type is not
    confounded with city tier and the WP type contrast shows in the type marginals. Every 7th hospital's lab
    reports creatinine in mg/dL, every 11th calcium in mg/dL and every 13th albumin in g/dL,
    so units are mixed across the registry (record-format.md lists both units).
    """
    specs: list[HospitalSpec] = []
    plan = (
        ("tier1-2", "general", 14, 36 / 14),
        ("tier1-2", "cancer", 8, 2.0),
        ("tier3-4", "general", 14, 27 / 14),
        ("tier3-4", "cancer", 4, 3.0),
    )
    number = 0
    for tier, kind, count, weight in plan:
        for _ in range(count):
            number += 1
            label = "综合医院" if kind == "general" else "肿瘤医院"
            city = "一二线城市" if tier == "tier1-2" else "三四线城市"
            specs.append(
                HospitalSpec(
                    id=f"H{number:02d}",
                    name=f"示例{city}{label}{number:02d}",
                    city_tier=tier,
                    type=kind,
                    weight=weight,
                    creatinine_unit="mg/dL" if number % 7 == 0 else "umol/L",
                    calcium_unit="mg/dL" if number % 11 == 0 else "mmol/L",
                    albumin_unit="g/dL" if number % 13 == 0 else "g/L",
                )
            )
    return tuple(specs)


# ---- parameter groups -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CohortParams:
    """Who is in the cohort and when."""

    start: dt.date = param(
        dt.date(2019, 2, 1),
        source="brief (timelines over 2019-01 .. as_of)",
        meaning="earliest diagnosis date; staging imaging may precede it by up to 30 days",
    )
    default_as_of: dt.date = param(
        dt.date(2026, 11, 1),
        source="brief",
        meaning="the cohort's 'now' when --as-of is not given (never the real today)",
    )
    source_name: str = param("synth", source="brief", meaning="`source` of every record")
    male_share: float = param(
        0.62,
        source="[K] China cancer registry: ~2/3 of lung cancers in men; assumption 0.62",
        meaning="P(sex = male)",
    )
    age_mean_years: float = param(
        62.0, source="[K] median age at diagnosis in China ~60-65", meaning="mean age at diagnosis"
    )
    age_sd_years: float = param(9.5, source=ASSUMPTION, meaning="SD of age at diagnosis")
    age_min_years: float = param(30.0, source=ASSUMPTION, meaning="lower clip of age at diagnosis")
    age_max_years: float = param(88.0, source=ASSUMPTION, meaning="upper clip of age at diagnosis")
    smoking_male: Weights = param(
        (("never", 0.25), ("former", 0.35), ("current", 0.40)),
        source="[K] Chinese male smoking prevalence; assumption",
        meaning="smoking status of men",
    )
    smoking_female: Weights = param(
        (("never", 0.85), ("former", 0.07), ("current", 0.08)),
        source="[K] most Chinese women with lung cancer never smoked; assumption",
        meaning="smoking status of women",
    )
    comorbidity_rates: Weights = param(
        (
            ("diabetes", 0.12),
            ("ckd", 0.05),
            ("dialysis", 0.004),
            ("dental_disease", 0.10),
            ("osteoporosis", 0.08),
            ("other", 0.20),
        ),
        source=ASSUMPTION,
        meaning="independent probability of each comorbidity (dialysis implies ckd)",
    )
    comorbidities_recorded: float = param(
        0.85, source=ASSUMPTION, meaning="P(comorbidities list recorded at all)"
    )
    department_resected: Weights = param(
        (
            ("thoracic_surgery", 0.60),
            ("oncology", 0.20),
            ("thoracic_oncology", 0.10),
            ("respiratory", 0.10),
        ),
        source="WP 受访医生科室 (胸外科 among respondents); shares assumed",
        meaning="department of a patient whose cancer was resected",
    )
    department_other: Weights = param(
        (
            ("oncology", 0.45),
            ("respiratory", 0.22),
            ("thoracic_oncology", 0.15),
            ("radiotherapy", 0.06),
            ("thoracic_surgery", 0.05),
            ("orthopedics", 0.02),
            ("other", 0.05),
        ),
        source="WP 受访医生科室 (肿瘤内科, 呼吸内科, 胸部/呼吸肿瘤科, 放疗科, 骨科…); shares assumed",
        meaning="department of any other patient",
    )


@dataclass(frozen=True, slots=True)
class TumourParams:
    """The lung cancer at diagnosis."""

    histology: Weights = param(
        (
            ("adenocarcinoma", 0.60),
            ("squamous", 0.22),
            ("sclc", 0.12),
            ("nsclc_nos", 0.03),
            ("large_cell", 0.01),
            ("other", 0.02),
        ),
        source="[K] Chinese hospital series: adenocarcinoma ~55-65 %, SCLC ~10-15 %",
        meaning="histology",
    )
    stage: Weights = param(
        (("I", 0.20), ("II", 0.09), ("III", 0.19), ("IV", 0.52)),
        source="brief (~50-60 % advanced at diagnosis); [K] Chinese stage mix",
        meaning="AJCC 8th stage at diagnosis",
    )
    resect_stage3: float = param(
        0.30, source=ASSUMPTION, meaning="P(radical resection | stage III); stage I-II always"
    )
    surgery_delay_days: tuple[int, int] = param(
        (7, 42), source=ASSUMPTION, meaning="diagnosis -> radical resection, uniform days"
    )
    egfr_adeno: float = param(
        0.45,
        source="brief; [K] PIONEER/Chinese series: EGFR+ 40-50 % of adenocarcinoma",
        meaning="P(EGFR positive | adenocarcinoma)",
    )
    alk_adeno: float = param(
        0.05, source="brief; [K] ALK ~5 % in Chinese adenocarcinoma", meaning="P(ALK+ | adeno)"
    )
    other_drivers_adeno: Weights = param(
        (
            ("ROS1", 0.02),
            ("KRAS_G12C", 0.04),
            ("BRAF_V600E", 0.01),
            ("MET", 0.02),
            ("RET", 0.015),
            ("NTRK", 0.002),
            ("HER2", 0.02),
        ),
        source="[K] Chinese NGS series; assumption",
        meaning="P(driver positive | adenocarcinoma) for the rarer genes (mutually exclusive)",
    )
    driver_rate_nonadeno_nsclc: float = param(
        0.25,
        source=ASSUMPTION,
        meaning="driver probabilities for squamous/NOS/large-cell/other are this x adeno's",
    )
    genotyped_nonsquamous: float = param(
        0.90, source="[K] routine EGFR/ALK testing of non-squamous NSCLC", meaning="P(tested)"
    )
    genotyped_squamous: float = param(0.40, source=ASSUMPTION, meaning="P(tested | squamous)")
    broad_panel: float = param(
        0.55, source=ASSUMPTION, meaning="P(all 9 genes reported | tested); else EGFR/ALK/ROS1"
    )
    pd_l1_tested: float = param(0.65, source=ASSUMPTION, meaning="P(PD-L1 TPS recorded | NSCLC)")
    pd_l1_bands: Weights = param(
        (("lt1", 0.35), ("1to49", 0.37), ("ge50", 0.28)),
        source="[K] NSCLC TPS distribution (<1 % / 1-49 % / >=50 %)",
        meaning="PD-L1 TPS band",
    )
    tnm_recorded: float = param(0.7, source=ASSUMPTION, meaning="P(tnm string recorded)")
    visceral_recorded: float = param(
        0.6, source=ASSUMPTION, meaning="P(visceral_metastasis recorded | advanced)"
    )
    visceral: Weights = param(
        (("none", 0.45), ("removable", 0.10), ("unremovable", 0.45)),
        source=ASSUMPTION,
        meaning="visceral metastasis (revised Tokuhashi) when advanced",
    )


@dataclass(frozen=True, slots=True)
class CourseParams:
    """Natural history: recurrence, progression and death (piecewise-exponential hazards)."""

    cured_fraction_resected: Weights = param(
        (("I", 0.80), ("II", 0.55), ("III", 0.40)),
        source="[K] 5-year recurrence-free ~80/55/40 % after resection of stage I/II/III",
        meaning="P(never recurs | resected, stage)",
    )
    recurrence_median_days: float = param(
        600.0, source="[K] most recurrences within 2 years", meaning="median time to recurrence"
    )
    recurrence_log_sd: float = param(0.6, source=ASSUMPTION, meaning="lognormal sigma of it")
    cured_fraction_locally_advanced: float = param(
        0.20,
        source="[K] PACIFIC-era long-term control",
        meaning="P(never progresses | unresected III)",
    )
    progression_median_days: float = param(
        365.0, source="[K] PACIFIC PFS ~17 months; assumption", meaning="median time to progression"
    )
    progression_log_sd: float = param(0.7, source=ASSUMPTION, meaning="lognormal sigma of it")
    os_median_advanced_days: float = param(
        430.0, source="[K] advanced NSCLC without driver, median OS ~14 months", meaning="median OS"
    )
    os_median_driver_days: float = param(
        900.0, source="[K] EGFR/ALK/ROS1+ on TKI, median OS ~30 months", meaning="median OS"
    )
    os_median_sclc_days: float = param(
        330.0, source="[K] extensive SCLC median OS ~11 months", meaning="median OS"
    )
    hr_death_bone_metastasis: float = param(
        1.5,
        source="WP 骨转移危害 (meta-analyses HR 1.45-1.67 for death with bone metastasis)",
        meaning="death hazard ratio once bone metastases exist",
    )
    hr_death_poor_ecog: float = param(
        1.6, source="[K] ECOG >= 2 prognosis", meaning="death hazard ratio with ECOG >= 2 at start"
    )
    other_death_per_year: float = param(
        0.015, source=ASSUMPTION, meaning="non-cancer death hazard (all patients)"
    )
    locally_advanced_death_per_year: float = param(
        0.05, source=ASSUMPTION, meaning="death hazard before progression, unresected stage III"
    )


@dataclass(frozen=True, slots=True)
class BoneParams:
    """Bone metastasis: who gets it, where, and how it is found."""

    synchronous_stage4: float = param(
        0.42,
        source="WP 结语 (bone ~50 % of metastatic lung cancer); split synchronous/metachronous assumed",
        meaning="P(bone metastasis at diagnosis | stage IV)",
    )
    synchronous_recurrence: float = param(
        0.30, source=ASSUMPTION, meaning="P(bone metastasis at recurrence/progression)"
    )
    metachronous_per_year: float = param(
        0.25,
        source="WP 结语 (~50 % of advanced patients overall); assumption",
        meaning="hazard of new bone metastasis while advanced without it",
    )
    synchronous_onset_before_days: tuple[int, int] = param(
        (0, 90),
        source=ASSUMPTION,
        meaning="true onset precedes diagnosis/recurrence by U(a, b) days",
    )
    lesion_count: Weights = param(
        (("1", 0.29), ("2-3", 0.22), ("4-5", 0.26), ("6-9", 0.23)),
        source="WP 骨手术前治疗方案 (骨转移灶数量: 1个 29 %, 2-3个 22 %, 4~5个 26 %, >5个 23 %)",
        meaning="number of lesions",
    )
    site_weights: Weights = param(
        (
            ("thoracic_spine", 0.16),
            ("lumbar_spine", 0.13),
            ("cervical_spine", 0.03),
            ("sacrum", 0.04),
            ("pelvis", 0.14),
            ("acetabulum", 0.03),
            ("rib", 0.16),
            ("sternum", 0.03),
            ("skull", 0.03),
            ("femur", 0.09),
            ("humerus", 0.05),
            ("scapula", 0.04),
            ("clavicle", 0.02),
            ("tibia_fibula", 0.01),
            ("radius_ulna", 0.005),
            ("other", 0.005),
        ),
        source="WP 骨转移灶位置 (脊柱 41 %, 下肢骨 25 %, 中轴骨 21 %, 上肢骨 18 %); brief (spine/pelvis/rib most frequent)",
        meaning="lesion site",
    )
    lesion_kind: Weights = param(
        (("lytic", 0.60), ("mixed", 0.25), ("blastic", 0.15)),
        source="[K] lung-cancer bone metastases are mostly osteolytic",
        meaning="lesion kind",
    )
    alignment: Weights = param(
        (("normal", 0.80), ("deformity", 0.15), ("subluxation", 0.05)),
        source=ASSUMPTION,
        meaning="SINS alignment of a spine lesion",
    )
    collapse: Weights = param(
        (("none", 0.50), ("none_gt50_involved", 0.15), ("lt50", 0.25), ("gt50", 0.10)),
        source=ASSUMPTION,
        meaning="SINS vertebral collapse",
    )
    posterolateral: Weights = param(
        (("none", 0.60), ("unilateral", 0.30), ("bilateral", 0.10)),
        source=ASSUMPTION,
        meaning="SINS posterolateral involvement",
    )
    spine_details_recorded: float = param(
        0.7, source=ASSUMPTION, meaning="P(level/alignment/collapse/posterolateral recorded)"
    )
    cortical_recorded: float = param(
        0.8, source=ASSUMPTION, meaning="P(cortical_involvement_pct recorded | long bone)"
    )
    symptomatic_at_detection: float = param(
        0.50,
        source="WP 临床表现 (~50 % of bone metastases without bone symptoms at diagnosis)",
        meaning="P(bone pain at/before detection)",
    )
    pain_onset_mean_days: float = param(
        45.0, source=ASSUMPTION, meaning="onset -> pain, exponential mean (symptomatic)"
    )
    late_pain_mean_days: float = param(
        240.0,
        source=ASSUMPTION,
        meaning="confirmation -> first pain, exponential mean (asymptomatic)",
    )
    symptom_workup_days: tuple[int, int] = param(
        (3, 30), source=ASSUMPTION, meaning="pain -> symptom-driven bone scan, uniform days"
    )
    presenting_sre: float = param(
        0.10,
        source="WP 骨科医生问卷 (~52 % of bone-met patients fracture without prior symptoms); assumption",
        meaning="P(a pathologic fracture/MSCC reveals the metastasis)",
    )
    presenting_sre_mean_days: float = param(
        120.0, source=ASSUMPTION, meaning="onset -> presenting SRE, exponential mean"
    )
    sensitivity_bone_scan: float = param(
        0.90, source="[K] 99mTc-MDP bone scan sensitivity ~0.87-0.95", meaning="P(detect)"
    )
    sensitivity_pet_ct: float = param(0.95, source="[K]", meaning="P(detect) of FDG PET-CT")
    sensitivity_ct_bone_window: float = param(
        0.74,
        source="WP CT骨窗 学术文献 (CT骨窗 sensitivity 74 %, specificity 56 %)",
        meaning="P(detect a lesion in the field) when the bone window is reviewed",
    )
    confirm_delay_days: tuple[int, int] = param(
        (3, 21), source=ASSUMPTION, meaning="suspicion -> confirming exam, uniform days"
    )
    confirm_by_biopsy: float = param(
        0.08, source=ASSUMPTION, meaning="P(confirmation by bone biopsy instead of imaging)"
    )
    never_confirmed: float = param(
        0.04, source=ASSUMPTION, meaning="P(suspicion never worked up; stays suspected)"
    )
    status_omitted_when_none: float = param(
        0.15, source=ASSUMPTION, meaning="P(bone_metastasis absent when no metastasis is known)"
    )


@dataclass(frozen=True, slots=True)
class ImagingParams:
    """Routine imaging practice (the QC-01, QC-02 and QC-06 ground truth)."""

    bone_window_overall: float = param(
        0.59,
        source="WP CT骨窗 (临床实际查看CT骨窗的患者比例 59 %)",
        meaning="target: share of chest CTs with the bone window reviewed",
    )
    bone_window_tier: Weights = param(
        (("tier1-2", 0.65), ("tier3-4", 0.51)),
        source="WP CT骨窗 分层分析 (城市级别 一二线 65 % / 三四线 51 %)",
        meaning="target marginal by city tier (fitted exactly)",
    )
    bone_window_type: Weights = param(
        (("general", 0.58), ("cancer", 0.50)),
        source="WP CT骨窗 分层分析 (医院类型 综合 58 % / 肿瘤 50 %)",
        meaning="only their odds ratio is used (both lie below the 59 % overall, so the levels cannot hold)",
    )
    bone_window_title: Weights = param(
        (("chief", 0.63), ("associate_chief", 0.56), ("attending", 0.53)),
        source="WP CT骨窗 分层分析 (医生职级 主任 63 % / 副主任 56 % / 主治 53 %)",
        meaning="target marginal by physician title (fitted by least squares)",
    )
    title_share: Weights = param(
        (("chief", 0.50), ("associate_chief", 0.35), ("attending", 0.15)),
        source="assumption, chosen so the title rates average to 59 % (0.5x63+0.35x56+0.15x53 = 59.05 %)",
        meaning="share of patients by treating physician's title",
    )
    physicians_per_hospital: int = param(
        20, source=ASSUMPTION, meaning="physician pool per hospital (titles in title_share)"
    )
    ct_chest_abdomen_share: float = param(
        0.4, source=ASSUMPTION, meaning="P(region chest_abdomen) of a routine CT, else chest"
    )
    ct_interval_advanced_days: tuple[float, float] = param(
        (91.0, 15.0),
        source="WP 长期随访表 (CT 含骨窗 at months 3/6/9/12)",
        meaning="routine CT interval, advanced/locally advanced (mean, SD)",
    )
    ct_interval_resected_days: tuple[float, float] = param(
        (182.0, 25.0),
        source="[K] post-resection CT every 6 months for 2 years",
        meaning="(mean, SD)",
    )
    ct_interval_late_days: tuple[float, float] = param(
        (365.0, 40.0), source="[K] yearly CT after year 2 (resected)", meaning="(mean, SD)"
    )
    baseline_bone_survey: Weights = param(
        (("advanced", 0.80), ("locally_advanced", 0.65), ("resected", 0.45)),
        source="WP 不同就诊阶段 骨相关检查 (确诊时重视度较高); values assumed",
        meaning="P(bone scan or PET-CT in the SCR-01 window at diagnosis), by initial setting",
    )
    pet_share: Weights = param(
        (("tier1-2", 0.30), ("tier3-4", 0.12)),
        source=ASSUMPTION,
        meaning="P(a bone survey is PET-CT rather than bone scan), by tier",
    )
    six_monthly_bone_scan: Weights = param(
        (("tier1-2", 0.32), ("tier3-4", 0.22)),
        source="WP 骨扫描 (随访阶段的周期性骨扫描使用率不足5成); QC-02 '< 50 %'; tier split assumed",
        meaning="P(an advanced patient is scanned every 6 months), by tier",
    )
    six_monthly_gap_days: tuple[int, int] = param(
        (150, 178),
        source="WP 长期随访表 (骨扫描 第6月, 第12月)",
        meaning="adherent gap, uniform days",
    )
    sparse_scan_gap_days: tuple[float, float] = param(
        (200.0, 240.0),
        source=ASSUMPTION,
        meaning="non-adherent gap: a + exponential(mean b) days (always > 6 months)",
    )
    resected_yearly_bone_scan: float = param(
        0.35,
        source="WP 专家组倡议 (术后患者每年一次); uptake assumed",
        meaning="P(yearly scans | resected)",
    )
    recurrence_bone_survey: float = param(
        0.75, source=ASSUMPTION, meaning="P(bone survey at recurrence restaging)"
    )
    report_text: float = param(
        0.05, source=ASSUMPTION, meaning="P(an imaging item carries a report_text)"
    )


@dataclass(frozen=True, slots=True)
class BtaParams:
    """Bone-targeted agents: start, drug, dose, interval, stop (QC-03, QC-04 ground truth)."""

    immediate_start_symptomatic: float = param(
        0.52,
        source="WP 骨靶向药物启用时机 (立刻启动的比例不足50 %; 以骨痛症状作为起始标志)",
        meaning="P(first dose <= 14 d after confirmation | bone pain at confirmation)",
    )
    immediate_start_asymptomatic: float = param(
        0.30,
        source="WP 骨靶向药物启用时机 (无骨相关症状 treated less); value assumed",
        meaning="P(first dose <= 14 d after confirmation | no bone pain)",
    )
    immediate_start_short_life: float = param(
        0.15,
        source="rules.md BTA-01c / D-04; assumption",
        meaning="same, life expectancy < 3 months",
    )
    never_start_symptomatic: float = param(
        0.10, source=ASSUMPTION, meaning="P(no BTA ever planned | symptomatic)"
    )
    never_start_asymptomatic: float = param(
        0.25,
        source="WP 骨手术 (4成以上…认为风险偏低、暂不需要骨保护治疗); assumption",
        meaning="P(no BTA ever planned | asymptomatic)",
    )
    delayed_start_mean_days: float = param(
        120.0,
        source="assumption, tuned with sre.surgery_at_presentation so that QC-05 lands at the WP 57 %",
        meaning="delayed start: 15 d + exponential(mean) after confirmation",
    )
    start_after_sre: float = param(
        0.6,
        source="WP (症状驱动的被动治疗模式)",
        meaning="P(an SRE triggers a not-yet-started BTA)",
    )
    short_life_record: float = param(
        0.5,
        source=ASSUMPTION,
        meaning="P(life_expectancy < 3 recorded | death <= 90 d after confirmation)",
    )
    drug_tier12: Weights = param(
        (
            ("zoledronic_acid", 0.58),
            ("denosumab", 0.28),
            ("ibandronate", 0.07),
            ("incadronate", 0.05),
            ("pamidronate", 0.02),
        ),
        source="brief (zoledronic acid majority); WP 地舒单抗 chapters; shares assumed",
        meaning="first drug, tier-1/2 hospitals",
    )
    drug_tier34: Weights = param(
        (
            ("zoledronic_acid", 0.66),
            ("denosumab", 0.16),
            ("ibandronate", 0.09),
            ("incadronate", 0.07),
            ("pamidronate", 0.02),
        ),
        source=ASSUMPTION,
        meaning="first drug, tier-3/4 hospitals",
    )
    zoledronic_low_crcl_switch: float = param(
        0.85,
        source="rules.md SAFE-04 (CrCl < 30: stop zoledronic acid)",
        meaning="P(denosumab instead)",
    )
    renal_dose_adjusted: float = param(
        0.60,
        source="rules.md BTA-03/04 (label steps); brief (renal-adjusted sometimes)",
        meaning="P(label renal dose | CrCl below the full-dose band)",
    )
    incadronate_age_adjusted: float = param(
        0.5, source="rules.md BTA-05 (>= 65 y -> 5 mg)", meaning="P(5 mg | age >= 65)"
    )
    wrong_dose: float = param(
        0.02, source="brief (some wrong doses)", meaning="P(an off-label dose for the course)"
    )
    denosumab_60mg: float = param(
        0.02,
        source="rules.md VAL-04 (60 mg osteoporosis product)",
        meaning="P(60 mg denosumab course)",
    )
    interval_zoledronic: Weights = param(
        (("28", 0.80), ("84", 0.12), ("21", 0.08)),
        source="rules.md BTA-10/D-11 (q4w; q12w only on explicit order); brief (84 sometimes)",
        meaning="planned interval_days, zoledronic acid",
    )
    interval_other_bp: Weights = param(
        (("28", 0.85), ("21", 0.15)),
        source="GL24 表1 (q3-4w)",
        meaning="planned interval, other BPs",
    )
    interval_recorded: float = param(
        0.7, source=ASSUMPTION, meaning="P(interval_days written on a dose); absent means 28"
    )
    standard_gap: float = param(
        0.45,
        source="WP 治疗模式 (7成专家倾向拉长间隔或提前中断): most courses stretch; value assumed",
        meaning="P(a gap between two doses of a course is of standard length, ADH-04)",
    )
    short_gap: float = param(
        0.02, source=ASSUMPTION, meaning="P(a gap is shorter than standard); the rest are extended"
    )
    extended_extra_days: tuple[int, int] = param(
        (4, 40), source=ASSUMPTION, meaning="extended gap = top of standard band + U(a, b) days"
    )
    stop_per_dose: float = param(
        0.025, source="WP 停药原因; assumption", meaning="P(course stopped after a dose)"
    )
    silent_stop_per_dose: float = param(
        0.01, source="WP (超4周未规范用药); assumption", meaning="P(doses just end, no bta_stop)"
    )
    stop_reasons: Weights = param(
        (
            ("pain_relief", 0.16),
            ("disease_stable", 0.18),
            ("cost", 0.12),
            ("poor_performance_status", 0.14),
            ("patient_refusal", 0.10),
            ("renal_toxicity", 0.08),
            ("onj", 0.04),
            ("hypocalcemia", 0.04),
            ("other", 0.14),
        ),
        source="WP 不规律使用骨靶向药物的原因 / 停止骨保护治疗的原因 (safety first); shares assumed",
        meaning="reason of a recorded stop",
    )
    stop_near_death: float = param(
        0.2,
        source="WP (治疗应持续进行，直至患者体能状态严重下降)",
        meaning="P(a recorded poor_performance_status stop when doses end < 60 d before death)",
    )
    stop_after_sre: float = param(
        0.20,
        source="WP (避免因SRE出现而中断有效治疗)",
        meaning="P(course stopped after an SRE on BTA)",
    )
    restart_after_stop: float = param(
        0.15, source=ASSUMPTION, meaning="P(a new course after a stop)"
    )
    creatinine_before_dose: float = param(
        0.70, source="rules.md SAFE-01 (SCr before each dose); uptake assumed", meaning="P(SCr lab)"
    )
    calcium_before_dose: float = param(
        0.50, source=ASSUMPTION, meaning="P(calcium lab before a dose)"
    )
    dental_before_start: Weights = param(
        (("tier1-2", 0.40), ("tier3-4", 0.25)),
        source="WP ONJ 专家倡议 (治疗启动前了解口腔健康); uptake assumed",
        meaning="P(dental exam <= 90 d before the first dose)",
    )
    dental_results: Weights = param(
        (("ok", 0.75), ("needs_treatment", 0.20), ("invasive_procedure_done", 0.05)),
        source=ASSUMPTION,
        meaning="result of a dental exam",
    )
    dental_yearly: float = param(0.4, source=ASSUMPTION, meaning="P(a yearly dental exam on BTA)")
    supplements_at_start: float = param(
        0.6, source="GL24 表2 (每日补充钙剂及维生素D); uptake assumed", meaning="P(supplement)"
    )
    supplement_products: Weights = param(
        (("600/125", 0.45), ("600/400", 0.25), ("1200/800", 0.15), ("300/100", 0.15)),
        source="[K] common Chinese calcium/vitamin D products (e.g. 600 mg + 125 IU)",
        meaning="calcium mg / vitamin D IU daily",
    )
    plan_recorded: float = param(
        0.6, source=ASSUMPTION, meaning="P(bta_plan when a planned first dose lies after as_of)"
    )
    hr_sre_bisphosphonate: float = param(
        0.69,
        source="[K] Rosen 2004 (zoledronic acid vs placebo, lung and other solid tumours, HR 0.693)",
        meaning="SRE hazard ratio on a bisphosphonate course",
    )
    hr_sre_denosumab: float = param(
        0.58,
        source="[K] Henry 2011 / Lipton 2012 (denosumab vs zoledronic acid HR ~0.84) x 0.69",
        meaning="SRE hazard ratio on denosumab",
    )
    stretched_effect_kept: float = param(
        0.5,
        source="WP citing Kettle 2018 (standard 27-30 d intervals halve SREs); assumption",
        meaning="share of the log hazard ratio kept during an extended gap",
    )
    effect_tail_days: int = param(
        28, source=ASSUMPTION, meaning="protection lasts this long after a course's last dose"
    )


@dataclass(frozen=True, slots=True)
class SreParams:
    """Skeletal-related events: the time-to-first-SRE ground truth for Kaplan-Meier."""

    median_first_sre_days: float = param(
        152.0,
        source="WP SRE chapter (诊断至首次SRE中位时间 ~5个月; Tsuya 2007, Decroisette)",
        meaning="median confirmation -> first SRE without BTA (5 months)",
    )
    sre_by_3_months: float = param(
        0.41,
        source="WP SRE chapter (确诊骨转移3个月后SREs发生率 ~41 %; Bhowmik 2019)",
        meaning="P(first SRE <= 3 months) without BTA",
    )
    later_sre_per_year: float = param(
        1.2,
        source="WP (首次SRE后再次发生SRE的风险会急剧升高); assumption",
        meaning="rate of further SREs after the first (x BTA hazard ratio)",
    )
    max_sres: int = param(6, source=ASSUMPTION, meaning="cap on SREs per patient")
    first_kind: Weights = param(
        (
            ("radiation_to_bone", 0.45),
            ("pathologic_fracture", 0.25),
            ("spinal_cord_compression", 0.10),
            ("surgery_to_bone", 0.10),
            ("hypercalcemia", 0.10),
        ),
        source="[K] SRE mix in lung-cancer trials (radiation most common); assumption",
        meaning="kind of an SRE",
    )
    surgery_after_fracture: float = param(
        0.35, source=ASSUMPTION, meaning="P(fixation surgery after a pathologic fracture)"
    )
    surgery_after_mscc: float = param(
        0.30, source=ASSUMPTION, meaning="P(decompression surgery after cord compression)"
    )
    surgery_at_presentation: float = param(
        0.70, source=ASSUMPTION, meaning="P(surgery after a presenting fracture/MSCC)"
    )
    rt_after_surgery: float = param(
        0.5, source="rules.md RT-02 (post-operative RT)", meaning="P(RT after bone surgery)"
    )
    mdt_after_sre: float = param(
        0.35, source="WP MDT (35-54 % of hospitals run lung-cancer MDT)", meaning="P(MDT after SRE)"
    )
    mdt_at_confirmation: Weights = param(
        (("cancer", 0.40), ("tier1-2", 0.25), ("tier3-4", 0.12)),
        source="WP MDT (省级肿瘤专科医院开展率较高; 三级综合 15-26 %)",
        meaning="P(MDT at confirmation): cancer hospitals, else general by tier",
    )


@dataclass(frozen=True, slots=True)
class TherapyParams:
    """Systemic treatment, radiotherapy schemes and analgesia."""

    targeted_if_driver: float = param(
        0.92,
        source="GL24 §3.2 (驱动基因阳性…应首选靶向治疗); uptake assumed",
        meaning="P(first line targeted | advanced, actionable driver found)",
    )
    first_line_no_driver: Weights = param(
        (
            ("chemo_immunotherapy", 0.55),
            ("chemotherapy", 0.30),
            ("immunotherapy", 0.10),
            ("other", 0.05),
        ),
        source="GL24 §3.2 (含铂双药化疗联合 ICIs 首选); shares assumed",
        meaning="first line, advanced NSCLC without actionable driver",
    )
    first_line_sclc: Weights = param(
        (("chemo_immunotherapy", 0.5), ("chemotherapy", 0.5)),
        source=ASSUMPTION,
        meaning="first line, SCLC",
    )
    second_line: float = param(0.5, source=ASSUMPTION, meaning="P(a second line is recorded)")
    second_line_days: tuple[float, float] = param(
        (60.0, 300.0), source=ASSUMPTION, meaning="first -> second line: a + exponential(mean b)"
    )
    adjuvant_chemotherapy: float = param(
        0.6, source="[K] adjuvant chemotherapy for resected stage II-III", meaning="P(given)"
    )
    adjuvant_targeted_egfr: float = param(
        0.5, source="[K] ADAURA (adjuvant osimertinib)", meaning="P(adjuvant TKI | EGFR+, II-III)"
    )
    consolidation_immunotherapy: float = param(
        0.6,
        source="[K] PACIFIC (durvalumab after chemoradiation)",
        meaning="P(given | unresected III)",
    )
    cisplatin_share: float = param(
        0.45,
        source=ASSUMPTION,
        meaning="P(cisplatin rather than carboplatin | platinum chemotherapy)",
    )
    cisplatin_days: tuple[int, int] = param(
        (63, 105), source="[K] 4 cycles q3w", meaning="cisplatin start -> stop, uniform days"
    )
    rt_schemes: Weights = param(
        (("8/1", 0.45), ("20/5", 0.20), ("30/10", 0.35)),
        source="GL24 §3.4 (单次8 Gy); ESMO 2020 [K]; shares assumed",
        meaning="palliative bone RT, Gy/fractions",
    )
    sbrt_share: float = param(
        0.15, source=ASSUMPTION, meaning="P(SBRT rather than conventional RT)"
    )
    sbrt_schemes: Weights = param(
        (("24/2", 0.5), ("27/3", 0.5)),
        source="[K] spine SBRT schedules",
        meaning="SBRT Gy/fractions",
    )
    nsaid_for_mild_pain: float = param(
        0.7, source="GL24 §3.3.1 (轻度: 非阿片类); uptake assumed", meaning="P(NSAID | NRS 1-3)"
    )
    weak_opioid_for_moderate_pain: float = param(
        0.6, source="GL24 §3.3.1; assumption", meaning="P(weak opioid, else NSAID | NRS 4-6)"
    )
    adjuvant_analgesic: float = param(
        0.3, source=ASSUMPTION, meaning="P(adjuvant analgesic with the first analgesic)"
    )


@dataclass(frozen=True, slots=True)
class LabParams:
    """Labs, vitals, performance and symptoms at visits."""

    lab_at_visit: float = param(
        0.75, source=ASSUMPTION, meaning="P(creatinine/calcium/albumin at a visit)"
    )
    alp_at_visit: float = param(0.5, source=ASSUMPTION, meaning="P(ALP with the visit's labs)")
    markers_at_visit: Weights = param(
        (("tier1-2", 0.06), ("tier3-4", 0.02)),
        source="WP 骨代谢标志物 (院内可及性 low, tier 3-4 lower)",
        meaning="P(a bone-turnover marker at a visit)",
    )
    outside_lab_unit: float = param(
        0.03, source=ASSUMPTION, meaning="P(a lab result in the other accepted unit)"
    )
    reference_limits: float = param(0.4, source=ASSUMPTION, meaning="P(lln/uln given)")
    creatinine_median_mg_dl: Weights = param(
        (("female", 0.68), ("male", 0.88)), source="[K] adult SCr reference", meaning="median SCr"
    )
    creatinine_log_sd: float = param(0.18, source=ASSUMPTION, meaning="between-patient log SD")
    creatinine_noise_log_sd: float = param(0.07, source=ASSUMPTION, meaning="visit-to-visit log SD")
    ckd_factor: float = param(2.2, source=ASSUMPTION, meaning="SCr multiplier with ckd")
    dialysis_creatinine_mg_dl: float = param(6.5, source="[K]", meaning="SCr with dialysis")
    calcium_mean_mmol_l: float = param(2.33, source="[K]", meaning="mean total calcium")
    calcium_sd_mmol_l: float = param(0.09, source=ASSUMPTION, meaning="SD of calcium")
    albumin_mean_g_l: float = param(40.0, source="[K]", meaning="mean albumin")
    albumin_sd_g_l: float = param(3.5, source=ASSUMPTION, meaning="SD of albumin")
    alp_median_u_l: float = param(75.0, source="[K]", meaning="median ALP without bone metastasis")
    alp_bone_factor: float = param(1.9, source=ASSUMPTION, meaning="ALP multiplier with bone mets")
    vitals_at_visit: float = param(0.6, source=ASSUMPTION, meaning="P(weight at a visit)")
    weight_mean_kg: Weights = param(
        (("female", 56.0), ("male", 66.0)), source="[K] Chinese adults", meaning="mean weight"
    )
    weight_sd_kg: float = param(9.0, source=ASSUMPTION, meaning="SD of weight")
    performance_at_visit: float = param(0.5, source=ASSUMPTION, meaning="P(ECOG at a visit)")
    ecog_advanced: Weights = param(
        (("0", 0.22), ("1", 0.52), ("2", 0.17), ("3", 0.08), ("4", 0.01)),
        source="[K] ECOG mix of advanced NSCLC",
        meaning="ECOG at start, advanced",
    )
    ecog_early: Weights = param(
        (("0", 0.60), ("1", 0.35), ("2", 0.05)), source=ASSUMPTION, meaning="ECOG at start, other"
    )
    life_expectancy_recorded: float = param(
        0.05, source=ASSUMPTION, meaning="P(life_expectancy_months on an assessment)"
    )
    symptoms_at_visit: float = param(
        0.6, source=ASSUMPTION, meaning="P(pain assessment at a visit, bone-met patients)"
    )
    symptoms_at_visit_other: float = param(
        0.15, source=ASSUMPTION, meaning="P(pain assessment at a visit, others)"
    )
    benign_pain: float = param(
        0.05, source=ASSUMPTION, meaning="P(NRS 1-2 benign pain on a non-met assessment)"
    )
    pain_band: Weights = param(
        (("mild", 0.45), ("moderate", 0.35), ("severe", 0.20)),
        source="[K] cancer bone pain severity mix; assumption",
        meaning="NRS band of painful bone metastasis",
    )
    mechanical_pain: float = param(
        0.3, source=ASSUMPTION, meaning="P(mechanical pain | painful spine/long-bone lesion)"
    )


@dataclass(frozen=True, slots=True)
class SynthParams:
    """Every parameter of the synthetic cohort. ``DEFAULT_PARAMS`` is the calibrated set."""

    cohort: CohortParams = field(default_factory=CohortParams)
    tumour: TumourParams = field(default_factory=TumourParams)
    course: CourseParams = field(default_factory=CourseParams)
    bone: BoneParams = field(default_factory=BoneParams)
    imaging: ImagingParams = field(default_factory=ImagingParams)
    bta: BtaParams = field(default_factory=BtaParams)
    sre: SreParams = field(default_factory=SreParams)
    therapy: TherapyParams = field(default_factory=TherapyParams)
    labs: LabParams = field(default_factory=LabParams)
    hospitals: tuple[HospitalSpec, ...] = field(default_factory=_hospitals)


DEFAULT_PARAMS: Final = SynthParams()
"""The calibrated parameters ``bonepath synth`` uses."""


@dataclass(frozen=True, slots=True)
class ParameterRow:
    """One documented parameter: dotted name, value, source and meaning."""

    name: str
    value: Any
    source: str
    meaning: str


def describe_parameters(params: SynthParams = DEFAULT_PARAMS) -> Iterator[ParameterRow]:
    """Every documented parameter of ``params`` in declaration order (docs and tests use it)."""
    for group in dataclasses.fields(params):
        value = getattr(params, group.name)
        if not dataclasses.is_dataclass(value):
            continue
        for item in dataclasses.fields(value):
            yield ParameterRow(
                name=f"{group.name}.{item.name}",
                value=getattr(value, item.name),
                source=item.metadata["source"],
                meaning=item.metadata["meaning"],
            )


def weight_of(weights: Weights, code: str) -> float:
    """The weight of ``code`` in ``weights`` (0 when absent)."""
    return next((w for c, w in weights if c == code), 0.0)


def _show(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ", ".join(f"{code} {weight:g}" for code, weight in value)
    if isinstance(value, tuple):
        return " – ".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parameter_table(params: SynthParams = DEFAULT_PARAMS) -> str:
    """The Markdown table of every parameter (docs/synthetic-cohort.md embeds it verbatim)."""
    lines = ["| parameter | value | source | meaning |", "|---|---|---|---|"]
    for row in describe_parameters(params):
        cells = (f"`{row.name}`", _show(row.value), row.source, row.meaning)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def hospital_table(params: SynthParams = DEFAULT_PARAMS) -> str:
    """The Markdown table of the synthetic hospitals (docs/synthetic-cohort.md embeds it)."""
    total = sum(h.weight for h in params.hospitals)
    lines = [
        "| id | city_tier | type | patient share | creatinine | calcium | albumin |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in params.hospitals:
        lines.append(
            f"| {h.id} | {h.city_tier} | {h.type} | {h.weight / total:.2%} | "
            f"{h.creatinine_unit} | {h.calcium_unit} | {h.albumin_unit} |"
        )
    return "\n".join(lines)
