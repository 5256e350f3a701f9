"""Seeded synthetic patient records (format v1), one patient at a time, deterministic.

Patient ``i`` of seed ``s`` is drawn from its own generator, ``random.Random("bonepath-synth/1:s:i")``
(string seeding hashes with SHA-512 and, like ``Random.random``, is guaranteed stable across
Python versions; every other draw is built here on ``random()`` alone), so a record never
depends on the cohort size: the first 1,000 records of a 1,000,000-patient cohort are the
1,000-patient cohort. Nothing is dated after ``as_of`` (the cohort's "now") or before birth.

A patient is simulated in this order: hospital and physician, demography, tumour, natural
history (recurrence, bone-metastasis onset, death), routine imaging, detection and confirmation
of bone metastasis (confirmed_date is recomputed from the imaging by the DX-07 criteria, so the
record never contradicts itself), BTA courses, SREs (hazard depends on BTA exposure), then the
visits with labs, vitals, performance and symptoms. Parameters: :mod:`bonepath.synth.params`;
the models they feed: :mod:`bonepath.synth.calibration`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bonepath.synth.calibration import (
    SreModel,
    fit_bone_window_model,
    fit_sre_model,
    physician_titles,
)
from bonepath.synth.params import DEFAULT_PARAMS, HospitalSpec, SynthParams, Weights, weight_of
from bonepath.vocab import RECORD_FORMAT

SEED_PREFIX: Final = "bonepath-synth/1"
"""Part of every per-patient seed; bump it only with a deliberate change of every record."""

_INF: Final = 10**9
_BY_DATE: Final = operator.itemgetter("date")
_LN2: Final = math.log(2.0)
_YEAR: Final = 365.25

# ---- structural constants (docs/synthetic-cohort.md, "Structural choices") -------------------

SPINE: Final = frozenset({"cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"})
LONG_BONES: Final = frozenset({"humerus", "radius_ulna", "femur", "tibia_fibula"})
CHEST_BONES: Final = frozenset({"rib", "sternum", "clavicle", "scapula"})
CT_FIELD: Final[dict[str, frozenset[str]]] = {
    "chest": frozenset({"rib", "sternum", "clavicle", "scapula", "thoracic_spine"}),
    "chest_abdomen": frozenset(
        {"rib", "sternum", "clavicle", "scapula", "thoracic_spine", "lumbar_spine"}
    ),
}
"""Bone sites a routine CT shows (assumption: chest CT to the adrenals, abdomen to L5)."""

LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "cervical_spine": tuple(f"C{i}" for i in range(1, 8)),
    "thoracic_spine": tuple(f"T{i}" for i in range(1, 13)),
    "lumbar_spine": tuple(f"L{i}" for i in range(1, 6)),
    "sacrum": tuple(f"S{i}" for i in range(1, 6)),
}
TNM_BY_STAGE: Final[dict[str, tuple[str, ...]]] = {
    "I": ("T1aN0M0", "T1bN0M0", "T1cN0M0", "T2aN0M0"),
    "II": ("T2bN0M0", "T1bN1M0", "T2aN1M0", "T3N0M0"),
    "III": ("T3N1M0", "T2aN2M0", "T4N0M0", "T1cN2M0", "T3N2M0", "T4N2M0", "T2bN3M0"),
    "IV": ("T2aN2M1a", "T1cN3M1a", "T3N2M1c", "T4N2M1c", "T2bN1M1c"),
}
TNM_BONE: Final = ("T2aN2M1b", "T3N1M1b", "T4N2M1c", "T2bN3M1c", "T1cN2M1c")

UNTESTED_RECORDED: Final = 0.3
"""P(an untested advanced NSCLC records EGFR/ALK as ``unknown`` rather than nothing)."""
MDT_ATTENDANCE: Final = 0.6
"""P(each of orthopedics, radiotherapy, nuclear medicine, thoracic surgery attends an MDT)."""

ZOLEDRONIC_BANDS: Final = ((60.0, 4.0), (50.0, 3.5), (40.0, 3.3), (30.0, 3.0))
"""(CrCl lower bound, dose mg): rules.md BTA-03 (Zometa label); 60.0 itself takes 3.5 mg."""
MDT_DECISIONS: Final = (
    "继续系统治疗+骨改良药物",
    "建议局部放疗",
    "建议手术固定",
    "建议骨活检明确诊断",
    "建议双膦酸盐改为地舒单抗",
)
REPORT_TEXT: Final[dict[str, tuple[str, str]]] = {
    "bone_scan": ("全身骨显像未见明显异常", "全身骨显像：多发骨代谢异常浓聚，考虑骨转移"),
    "pet_ct": ("PET-CT未见骨代谢异常", "PET-CT：多发骨FDG高代谢灶，考虑骨转移"),
    "ct": ("胸部CT骨窗未见骨质破坏", "CT骨窗：骨质破坏，考虑转移"),
}


# ---- compiled tables --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cat:
    """A categorical distribution ready for inverse-CDF draws."""

    codes: tuple[str, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, weights: Weights) -> _Cat:
        total = 0.0
        cum = []
        for _, w in weights:
            total += w
            cum.append(total)
        return cls(tuple(c for c, _ in weights), tuple(c / total for c in cum))

    def draw(self, u: float) -> str:
        return self.codes[min(bisect.bisect_right(self.cum, u), len(self.codes) - 1)]


@dataclass(frozen=True, slots=True)
class _Tables:
    params: SynthParams
    hospitals: tuple[HospitalSpec, ...]
    hospital_cum: tuple[float, ...]
    titles: tuple[str, ...]
    bone_window: tuple[tuple[float, ...], ...]  # [hospital][physician]
    sre: SreModel
    cats: dict[str, _Cat]
    iso_base: int
    iso: tuple[str, ...]


_ISO_FIRST: Final = dt.date(1900, 1, 1).toordinal()
_ISO_LAST: Final = dt.date(2200, 12, 31).toordinal()
LATEST_AS_OF: Final = dt.date(2199, 12, 31)
"""The latest accepted ``as_of`` (dates are formatted from a precomputed table)."""


_TABLES: dict[int, _Tables] = {}
"""Compiled tables by ``id(params)``: hashing a SynthParams on every record is too slow."""


def _tables(params: SynthParams) -> _Tables:
    """The compiled tables of ``params`` (built once per process and parameter set)."""
    tables = _TABLES.get(id(params))
    if tables is None or tables.params is not params:
        if len(_TABLES) >= 8:  # tuning loops make many parameter sets; keep the cache small
            _TABLES.clear()
        tables = _compile(params)
        _TABLES[id(params)] = tables
    return tables


def _compile(params: SynthParams) -> _Tables:
    """Cumulative tables, the fitted practice models and the ISO date strings."""
    total = sum(h.weight for h in params.hospitals)
    running = 0.0
    cum = []
    for h in params.hospitals:
        running += h.weight
        cum.append(running / total)
    titles = physician_titles(params)
    model = fit_bone_window_model(params)
    bone_window = tuple(
        tuple(model.probability(h.city_tier, h.type, t) for t in titles) for h in params.hospitals
    )
    cats: dict[str, _Cat] = {}
    for section in dataclasses.fields(params):
        group = getattr(params, section.name)
        if not dataclasses.is_dataclass(group):
            continue
        for item in dataclasses.fields(group):
            name, value = item.name, getattr(group, item.name)
            if isinstance(value, tuple) and value and isinstance(value[0], tuple):
                if name in cats:  # draws are looked up by field name alone
                    raise ValueError(f"categorical parameter {name!r} is defined twice")
                cats[name] = _Cat.of(value)
    iso = tuple(dt.date.fromordinal(d).isoformat() for d in range(_ISO_FIRST, _ISO_LAST + 1))
    return _Tables(
        params=params,
        hospitals=params.hospitals,
        hospital_cum=tuple(cum),
        titles=titles,
        bone_window=bone_window,
        sre=fit_sre_model(params),
        cats=cats,
        iso_base=_ISO_FIRST,
        iso=iso,
    )


# ---- one patient ------------------------------------------------------------------------------


Event = dict[str, Any]


@dataclass(slots=True)
class _Exam:
    """A routine or work-up imaging exam before its result is known."""

    day: int
    modality: str
    region: str
    bone_window: bool | None = None
    result: str | None = None
    sites: tuple[str, ...] = ()
    lesion_count: int | None = None


@dataclass(slots=True)
class _Course:
    """One BTA course: consecutive doses of one drug until a stop, a silent end or the horizon.

    ``extended[k]`` says whether the gap after ``doses[k]`` is longer than standard (ADH-04).
    """

    drug: str
    dose_mg: float
    interval: int
    doses: list[int]
    extended: list[bool]
    stop_day: int | None = None
    stop_reason: str | None = None


class _Patient:
    """Simulates one patient; :meth:`build` returns the record as JSON-ready data."""

    def __init__(self, tables: _Tables, seed: int, index: int, as_of: int) -> None:
        self.t = tables
        self.p = tables.params
        self.u: Callable[[], float] = random.Random(f"{SEED_PREFIX}:{seed}:{index}").random
        self.index = index
        self.as_of = as_of
        self.end = as_of
        self.spare: float | None = None
        self.courses: list[_Course] = []
        self.rt_days: list[int] = []
        self.visit_days: list[int] = []
        self.baseline_scr: dict[int, float] = {}
        self.mscc_day = _INF
        self.renal_day = _INF
        self.plan: dict[str, Any] | None = None
        self.planned_start = _INF
        self.lesions: list[dict[str, Any]] = []
        self.sites: tuple[str, ...] = ()
        self.lesion_count = 0
        self.extra_exams: list[_Exam] = []
        self.symptomatic = False
        self.pain_band = "none"
        self.events: dict[str, list[Event]] = {
            name: []
            for name in (
                "imaging",
                "biopsy",
                "labs",
                "vitals",
                "performance",
                "symptoms",
                "bta",
                "bta_stop",
                "supplements",
                "dental",
                "medications",
                "treatments",
                "adverse_events",
                "sre",
                "mdt",
            )
        }

    # -- draws built on random() only (stable across Python versions) --

    def chance(self, p: float) -> bool:
        return self.u() < p

    def between(self, low: int, high: int) -> int:
        """A uniform integer in [low, high]."""
        return low + int(self.u() * (high - low + 1))

    def normal(self, mean: float, sd: float) -> float:
        """Box-Muller, using both variates of each pair."""
        z = self.spare
        if z is None:
            radius = math.sqrt(-2.0 * math.log(1.0 - self.u()))
            angle = 2.0 * math.pi * self.u()
            z = radius * math.cos(angle)
            self.spare = radius * math.sin(angle)
        else:
            self.spare = None
        return mean + sd * z

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def pick(self, name: str) -> str:
        return self.t.cats[name].draw(self.u())

    def iso(self, day: int) -> str:
        return self.t.iso[day - self.t.iso_base]

    def add(self, list_name: str, day: int, /, **fields: Any) -> None:
        """Record an event on ``day`` unless it falls after the patient's horizon."""
        if day <= self.end:
            self.events[list_name].append({"date": day, **fields})

    # -- the patient ----------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        p = self.p
        self._place()
        self._demography()
        self._tumour()
        self._natural_history()
        self.end = min(self.death, self.as_of)
        self._routine_imaging()
        self._bone_metastasis()
        if self.confirmed <= self.end:
            self._bta_and_sre()
        elif self.presenting_sre is not None:
            self._sre(self.presenting_sre[0], self.presenting_sre[1], presenting=True)
        self._imaging_json()
        self._treatments()
        self._visits()
        record: dict[str, Any] = {
            "format": RECORD_FORMAT,
            "id": f"S{self.index + 1:07d}",
            "source": p.cohort.source_name,
            "hospital": {
                "id": self.hospital.id,
                "name": self.hospital.name,
                "city_tier": self.hospital.city_tier,
                "type": self.hospital.type,
            },
            "department": self.department,
            "physician": {"id": self.physician_id, "title": self.title},
            "sex": self.sex,
            "birth_date": self.iso(self.birth),
        }
        if self.death <= self.as_of:
            record["death_date"] = self.iso(self.death)
        record["smoking"] = self.smoking
        if self.comorbidities is not None:
            record["comorbidities"] = self.comorbidities
        record["cancer"] = self._cancer_json()
        bone = self._bone_json()
        if bone is not None:
            record["bone_metastasis"] = bone
        if self.plan is not None:
            record["bta_plan"] = self.plan
        events: dict[str, list[Event]] = {}
        iso = self.t.iso
        base = self.t.iso_base
        for name, items in self.events.items():
            if items:
                items.sort(key=_BY_DATE)
                for item in items:
                    item["date"] = iso[item["date"] - base]
                events[name] = items
        record["events"] = events
        return record

    # -- hospital, physician, demography --

    def _place(self) -> None:
        t = self.t
        h = min(bisect.bisect_right(t.hospital_cum, self.u()), len(t.hospitals) - 1)
        j = int(self.u() * len(t.titles))
        self.hospital = t.hospitals[h]
        self.title = t.titles[j]
        self.physician_id = f"{self.hospital.id}-D{j + 1:02d}"
        self.bone_window_p = t.bone_window[h][j]
        self.ct_abdomen = self.p.imaging.ct_chest_abdomen_share
        self.tier12 = self.hospital.city_tier == "tier1-2"
        self._units()

    def _demography(self) -> None:
        c = self.p.cohort
        male = self.chance(c.male_share)
        self.sex = "male" if male else "female"
        age = min(
            max(self.normal(c.age_mean_years, c.age_sd_years), c.age_min_years), c.age_max_years
        )
        start = c.start.toordinal()
        self.dx = start + int(self.u() * (self.as_of - start + 1))
        self.birth = self.dx - int(age * _YEAR) - self.between(0, 30)
        self.smoking = self.pick("smoking_male" if male else "smoking_female")
        self.comorbidities: list[str] | None = None
        found = [code for code, rate in c.comorbidity_rates if self.chance(rate)]
        if "dialysis" in found and "ckd" not in found:
            found.insert(1, "ckd")
        self.ckd = "ckd" in found
        self.dialysis = "dialysis" in found
        self.diabetes = "diabetes" in found
        if self.chance(c.comorbidities_recorded):
            self.comorbidities = found
        labs = self.p.labs
        if self.dialysis:
            self.scr0 = labs.dialysis_creatinine_mg_dl * math.exp(self.normal(0, 0.15))
        else:
            median = weight_of(labs.creatinine_median_mg_dl, self.sex)
            self.scr0 = median * math.exp(self.normal(0, labs.creatinine_log_sd))
            if self.ckd:
                self.scr0 *= labs.ckd_factor
        self.weight0 = min(
            max(self.normal(weight_of(labs.weight_mean_kg, self.sex), labs.weight_sd_kg), 38.0),
            120.0,
        )
        self.height = self.normal(168.0 if male else 157.0, 6.0)

    def age_at(self, day: int) -> float:
        return (day - self.birth) / _YEAR

    # -- tumour --

    def _tumour(self) -> None:
        tp = self.p.tumour
        self.histology = self.pick("histology")
        self.stage = self.pick("stage")
        if self.stage in ("I", "II") or (self.stage == "III" and self.chance(tp.resect_stage3)):
            self.initial = "resected"
        elif self.stage == "III":
            self.initial = "locally_advanced"
        else:
            self.initial = "advanced"
        self.surgery: int | None = None
        if self.initial == "resected":
            self.surgery = self.dx + self.between(*tp.surgery_delay_days)
        self.department = self.pick(
            "department_resected" if self.initial == "resected" else "department_other"
        )
        # driver biology (mutually exclusive), then what testing shows
        self.drivers: dict[str, str] | None = None
        self.targetable = False
        self.pd_l1: float | None = None
        if self.histology == "sclc":
            return
        factor = 1.0 if self.histology == "adenocarcinoma" else tp.driver_rate_nonadeno_nsclc
        x = self.u()
        positive = None
        acc = 0.0
        for gene, rate in (("EGFR", tp.egfr_adeno), ("ALK", tp.alk_adeno), *tp.other_drivers_adeno):
            acc += rate * factor
            if x < acc:
                positive = gene
                break
        tested = self.chance(
            tp.genotyped_squamous if self.histology == "squamous" else tp.genotyped_nonsquamous
        )
        if tested:
            genes: Sequence[str] = (
                ("EGFR", "ALK", "ROS1", "KRAS_G12C", "BRAF_V600E", "MET", "RET", "NTRK", "HER2")
                if self.chance(tp.broad_panel)
                else ("EGFR", "ALK", "ROS1")
            )
            self.drivers = {g: "positive" if g == positive else "negative" for g in genes}
            self.targetable = positive in genes and positive != "KRAS_G12C"
        elif self.initial == "advanced" and self.chance(UNTESTED_RECORDED):
            self.drivers = {"EGFR": "unknown", "ALK": "unknown"}
        if self.chance(tp.pd_l1_tested):
            band = self.pick("pd_l1_bands")
            if band == "lt1":
                self.pd_l1 = 0.0
            elif band == "1to49":
                self.pd_l1 = float(self.between(1, 49))
            else:
                self.pd_l1 = float(5 * self.between(10, 20))

    # -- natural history --

    def _natural_history(self) -> None:
        cp = self.p.course
        other_rate = cp.other_death_per_year / _YEAR
        self.ecog0 = int(self.pick("ecog_advanced" if self.initial == "advanced" else "ecog_early"))
        advanced_from: int | None = None
        if self.initial == "advanced":
            advanced_from = self.dx
        elif self.initial == "resected":
            if not self.chance(weight_of(cp.cured_fraction_resected, self.stage)):
                delay = cp.recurrence_median_days * math.exp(self.normal(0, cp.recurrence_log_sd))
                advanced_from = (self.surgery or self.dx) + max(90, int(delay))
        elif not self.chance(cp.cured_fraction_locally_advanced):
            delay = cp.progression_median_days * math.exp(self.normal(0, cp.progression_log_sd))
            advanced_from = self.dx + max(60, int(delay))
        pre_rate = other_rate
        if self.initial == "locally_advanced":
            pre_rate += cp.locally_advanced_death_per_year / _YEAR
        self.death = self.dx + 1 + int(self.expo(1.0 / pre_rate))
        self.onset = _INF
        self.ecog_adv = self.ecog0
        self.ecog_decline = _INF
        self.advanced = _INF
        if advanced_from is None or (self.initial != "advanced" and self.death < advanced_from):
            return
        self.advanced = advanced_from
        self.ecog_decline = advanced_from + 180 + int(self.expo(_YEAR))
        if self.initial != "advanced":
            self.ecog_adv = int(self.pick("ecog_advanced"))
        if self.histology == "sclc":
            median = cp.os_median_sclc_days
        elif self.targetable:
            median = cp.os_median_driver_days
        else:
            median = cp.os_median_advanced_days
        rate = _LN2 / median * (cp.hr_death_poor_ecog if self.ecog_adv >= 2 else 1.0) + other_rate
        bp = self.p.bone
        sync = bp.synchronous_stage4 if self.initial == "advanced" else bp.synchronous_recurrence
        if self.chance(sync):
            low, high = bp.synchronous_onset_before_days
            if self.initial == "advanced":
                self.onset = advanced_from - self.between(low, high)
            else:  # found with the recurrence; it cannot precede it by much
                self.onset = advanced_from - self.between(0, 30)
            self.death = (
                advanced_from + 1 + int(self.expo(1.0 / (rate * cp.hr_death_bone_metastasis)))
            )
        else:
            death = advanced_from + 1 + int(self.expo(1.0 / rate))
            meta = advanced_from + 30 + int(self.expo(_YEAR / bp.metachronous_per_year))
            if meta < death:
                self.onset = meta
                death = meta + 1 + int(self.expo(1.0 / (rate * cp.hr_death_bone_metastasis)))
            self.death = death

    # -- routine imaging --

    def _ct(self, day: int) -> None:
        if day <= self.end:
            u = self.u
            region = "chest_abdomen" if u() < self.ct_abdomen else "chest"
            self.exams.append(_Exam(day, "ct", region, u() < self.bone_window_p))

    def _survey_modality(self) -> str:
        share = weight_of(self.p.imaging.pet_share, self.hospital.city_tier)
        return "pet_ct" if self.chance(share) else "bone_scan"

    def _survey(self, day: int) -> None:
        if day <= self.end:
            self.exams.append(_Exam(day, self._survey_modality(), "whole_body"))

    def _ct_series(
        self,
        start: int,
        stop: int,
        early: tuple[float, float],
        late: tuple[float, float],
        early_days: int,
    ) -> None:
        day = start
        while True:
            mean, sd = early if day - start < early_days else late
            day += max(42, int(self.normal(mean, sd)))
            if day >= stop or day > self.end:
                return
            self._ct(day)

    def _routine_imaging(self) -> None:
        ip = self.p.imaging
        self.exams: list[_Exam] = []
        self._ct(self.dx - self.between(0, 30))
        if self.chance(weight_of(ip.baseline_bone_survey, self.initial)):
            self._survey(self.dx + self.between(-30, 20))
        advanced_visible = self.advanced <= self.end
        stop = min(self.advanced, self.end + 1)
        if self.initial == "resected":
            base = self.surgery or self.dx
            self._ct_series(base, stop, ip.ct_interval_resected_days, ip.ct_interval_late_days, 730)
            if self.chance(ip.resected_yearly_bone_scan):
                day = base
                while True:
                    day += self.between(330, 380)
                    if day >= stop or day > self.end:
                        break
                    self._survey(day)
        elif self.initial == "locally_advanced":
            self._ct_series(
                self.dx, stop, ip.ct_interval_advanced_days, ip.ct_interval_resected_days, 730
            )
        if not advanced_visible:
            return
        start = self.advanced
        if self.initial != "advanced":
            start = self.advanced - self.between(0, 7)
            self._ct(start)
            if self.chance(ip.recurrence_bone_survey):
                self._survey(self.advanced + self.between(-7, 14))
        self._ct_series(start, _INF, ip.ct_interval_advanced_days, ip.ct_interval_advanced_days, 0)
        last = max(
            (e.day for e in self.exams if e.modality != "ct" and e.day >= self.advanced - 60),
            default=self.advanced,
        )
        adherent = self.chance(weight_of(ip.six_monthly_bone_scan, self.hospital.city_tier))
        low, high = ip.six_monthly_gap_days
        sparse_min, sparse_mean = ip.sparse_scan_gap_days
        while True:
            gap = self.between(low, high) if adherent else int(sparse_min + self.expo(sparse_mean))
            last += gap
            if last > self.end:
                break
            self._survey(last)

    # -- bone metastasis: lesions, detection, confirmation --

    def _lesions(self) -> None:
        bp = self.p.bone
        band = self.pick("lesion_count")
        n = {"1": 1, "2-3": self.between(2, 3), "4-5": self.between(4, 5)}.get(
            band
        ) or self.between(6, 9)
        self.lesion_count = n
        lesions: list[dict[str, Any]] = []
        for _ in range(n):
            site = self.pick("site_weights")
            lesion: dict[str, Any] = {"site": site, "kind": self.pick("lesion_kind")}
            lesion["size_mm"] = round(min(max(18.0 * math.exp(self.normal(0, 0.5)), 4.0), 90.0), 1)
            if (site in LONG_BONES or site in ("pelvis", "acetabulum")) and self.chance(
                bp.cortical_recorded
            ):
                lesion["cortical_involvement_pct"] = float(self.between(10, 90))
            if site == "femur":
                lesion["peritrochanteric"] = self.chance(0.3)
            if site in SPINE:
                levels = LEVELS[site]
                lesion["level"] = levels[int(self.u() * len(levels))]
                if self.chance(bp.spine_details_recorded):
                    lesion["alignment"] = self.pick("alignment")
                    lesion["collapse"] = self.pick("collapse")
                    lesion["posterolateral"] = self.pick("posterolateral")
            lesions.append(lesion)
        self.lesions = lesions
        seen: dict[str, None] = {}
        for lesion in lesions:
            seen.setdefault(lesion["site"], None)
        self.sites = tuple(seen)

    def _bone_metastasis(self) -> None:
        """Detect the onset through imaging, symptoms or a presenting SRE; derive confirmation."""
        bp = self.p.bone
        self.detected = _INF
        self.confirmed = _INF
        self.pain_day = _INF
        self.presenting_sre: tuple[int, str, str] | None = None
        self.exams.sort(key=lambda e: e.day)
        if self.onset <= self.end:
            self._lesions()
            self.symptomatic = self.chance(bp.symptomatic_at_detection)
            detected = _INF
            how: _Exam | str | None = None
            for exam in self.exams:
                if exam.day < self.onset:
                    continue
                if exam.modality == "ct":
                    in_field = exam.bone_window and any(
                        s in CT_FIELD[exam.region] for s in self.sites
                    )
                    if in_field and self.chance(bp.sensitivity_ct_bone_window):
                        detected, how = exam.day, exam
                        break
                else:
                    sensitivity = (
                        bp.sensitivity_pet_ct
                        if exam.modality == "pet_ct"
                        else bp.sensitivity_bone_scan
                    )
                    if self.chance(sensitivity):
                        detected, how = exam.day, exam
                        break
            if self.symptomatic:
                self.pain_day = self.onset + int(self.expo(bp.pain_onset_mean_days))
                workup = self.pain_day + self.between(*bp.symptom_workup_days)
                if workup < detected:
                    detected, how = workup, "workup"
            if self.chance(bp.presenting_sre):
                day = self.onset + int(self.expo(bp.presenting_sre_mean_days))
                if day < detected:
                    detected, how = day, "sre"
            if self.symptomatic and detected < self.pain_day:
                self.pain_day = max(self.onset, detected - self.between(0, 14))
            if not self.symptomatic:
                self.pain_day = detected + int(self.expo(bp.late_pain_mean_days))
            if detected <= self.end:
                self.detected = detected
                self._work_up(how)
        self._read_exams()
        self.confirmed = self._dx07_date()

    def _confirming_exam(self, day: int) -> None:
        """Anatomical imaging (or biopsy) of one lesion after a positive bone scan."""
        bp = self.p.bone
        x = self.u()
        if x < bp.never_confirmed:
            return
        lesion = self.lesions[int(self.u() * len(self.lesions))]
        site = lesion["site"]
        when = day + self.between(*bp.confirm_delay_days)
        if x < bp.never_confirmed + bp.confirm_by_biopsy:
            self.add("biopsy", when + self.between(4, 14), site=site, result="metastatic_lung")
            return
        y = self.u()
        if site in SPINE:
            modality, region = (
                ("mri", "spine")
                if y < 0.5
                else ("ct", "spine")
                if y < 0.8
                else ("spect_ct", "spine")
            )
        elif site in ("pelvis", "acetabulum"):
            modality, region = (
                ("ct", "pelvis")
                if y < 0.6
                else ("mri", "pelvis")
                if y < 0.8
                else ("spect_ct", "pelvis")
            )
        elif site in LONG_BONES:
            modality, region = (
                ("xray", "limb") if y < 0.3 else ("ct", "limb") if y < 0.8 else ("mri", "limb")
            )
        elif site == "skull":
            modality, region = ("ct", "head") if y < 0.7 else ("mri", "head")
        elif site in CHEST_BONES:
            modality, region = "spect_ct", "chest"
        else:
            modality, region = "spect_ct", "other"
        exam = _Exam(when, modality, region, bone_window=True if modality == "ct" else None)
        exam.result, exam.sites = "positive", (site,)
        self.extra_exams.append(exam)

    def _work_up(self, how: _Exam | str | None) -> None:
        bp = self.p.bone
        day = self.detected
        if isinstance(how, _Exam):
            if how.modality == "bone_scan":
                self._confirming_exam(day)
            elif how.modality == "ct":
                x = self.u()
                if x < bp.confirm_by_biopsy:
                    site = next(s for s in self.sites if s in CT_FIELD[how.region])
                    self.add(
                        "biopsy", day + self.between(7, 35), site=site, result="metastatic_lung"
                    )
                elif x >= bp.confirm_by_biopsy + bp.never_confirmed:
                    scan = _Exam(
                        day + self.between(*bp.confirm_delay_days),
                        self._survey_modality(),
                        "whole_body",
                    )
                    scan.result, scan.sites, scan.lesion_count = (
                        "positive",
                        self.sites,
                        self.lesion_count,
                    )
                    self.extra_exams.append(scan)
        elif how == "workup":
            scan = _Exam(day, self._survey_modality(), "whole_body")
            scan.result, scan.sites, scan.lesion_count = "positive", self.sites, self.lesion_count
            self.extra_exams.append(scan)
            if scan.modality == "bone_scan":
                self._confirming_exam(day)
        elif how == "sre":
            spine = [lesion["site"] for lesion in self.lesions if lesion["site"] in SPINE]
            kind = (
                "spinal_cord_compression" if spine and self.chance(0.3) else "pathologic_fracture"
            )
            if kind == "spinal_cord_compression":
                site = spine[0]
                exam = _Exam(day, "mri", "spine")
            else:
                weight_bearing = [
                    lesion["site"]
                    for lesion in self.lesions
                    if lesion["site"] in LONG_BONES
                    or lesion["site"] in SPINE
                    or lesion["site"] in ("pelvis", "rib")
                ]
                site = weight_bearing[0] if weight_bearing else self.lesions[0]["site"]
                exam = _Exam(day, "xray", _region_of(site))
            exam.result, exam.sites = "positive", (site,)
            self.extra_exams.append(exam)
            scan = _Exam(day + self.between(2, 14), "bone_scan", "whole_body")
            scan.result, scan.sites, scan.lesion_count = "positive", self.sites, self.lesion_count
            self.extra_exams.append(scan)
            self.presenting_sre = (day, kind, site)
            if self.symptomatic or kind == "spinal_cord_compression":
                self.pain_day = min(self.pain_day, day)
        self.exams.extend(e for e in self.extra_exams if e.day <= self.end)
        self.exams.sort(key=lambda e: e.day)

    def _read_exams(self) -> None:
        """Results of routine exams: negative before detection, positive from it on."""
        for exam in self.exams:
            if exam.result is not None:
                continue
            if exam.modality == "ct" and not exam.bone_window:
                continue  # bone not assessed: no bone result recorded
            if exam.day < self.detected:
                exam.result = "negative"
            elif exam.modality == "ct":
                shown = tuple(s for s in self.sites if s in CT_FIELD.get(exam.region, ()))
                exam.result = "positive" if shown else "negative"
                exam.sites = shown
            else:
                exam.result, exam.sites, exam.lesion_count = (
                    "positive",
                    self.sites,
                    self.lesion_count,
                )

    def _dx07_date(self) -> int:
        """The earliest day the record meets DX-07 (PET-CT, bone scan + anatomy, or biopsy)."""
        scan_sites: set[str] = set()
        anatomy_sites: set[str] = set()
        best = min((b["date"] for b in self.events["biopsy"]), default=_INF)
        for exam in self.exams:
            if exam.day >= best:
                break
            if exam.result != "positive":
                continue
            if exam.modality == "pet_ct":
                return exam.day
            if exam.modality == "bone_scan":
                if anatomy_sites.intersection(exam.sites):
                    return exam.day
                scan_sites.update(exam.sites)
            else:
                if scan_sites.intersection(exam.sites):
                    return exam.day
                anatomy_sites.update(exam.sites)
        return best

    # -- BTA courses and SREs --

    def _crcl(self, day: int, scr: float) -> float:
        crcl = (140 - int(self.age_at(day))) * self.weight_at(day) / (72 * scr)
        return crcl * 0.85 if self.sex == "female" else crcl

    def _dose(self, drug: str, crcl: float, age: float) -> float:
        bp = self.p.bta
        if self.chance(bp.wrong_dose):
            return {
                "zoledronic_acid": 5.0,
                "denosumab": 60.0,
                "ibandronate": 8.0,
                "incadronate": 15.0,
                "pamidronate": 60.0,
            }[drug]
        if drug == "denosumab":
            return 60.0 if self.chance(bp.denosumab_60mg) else 120.0
        if drug == "pamidronate":
            return 90.0
        if drug == "incadronate":
            if (age >= 65 or crcl < 30) and self.chance(bp.incadronate_age_adjusted):
                return 5.0
            return 10.0
        adjust = self.chance(bp.renal_dose_adjusted)
        if drug == "ibandronate":
            if crcl < 50 and adjust:
                return 4.0 if crcl >= 30 else 2.0
            return 6.0
        rounded = math.floor(crcl * 10 + 0.5) / 10
        if rounded > 60 or not adjust:
            return 4.0
        return next((dose for low, dose in ZOLEDRONIC_BANDS[1:] if rounded >= low), 3.0)

    def _gap(self, course: _Course) -> tuple[int, bool]:
        """Days to the next dose, and whether that gap is extended (rules.md ADH-04 bands)."""
        bp = self.p.bta
        x = self.u()
        denosumab = course.drug == "denosumab"
        if course.interval == 84:
            standard, short, top = (80, 90), (56, 76), 91
        elif denosumab:
            standard, short, top = (27, 30), (21, 26), 30
        elif course.interval == 21:
            standard, short, top = (21, 23), (14, 20), 30
        else:
            standard, short, top = (27, 30), (14, 20), 30
        if x < bp.short_gap:
            return self.between(*short), False
        if x < bp.short_gap + bp.standard_gap:
            return self.between(*standard), False
        return top + self.between(*bp.extended_extra_days), True

    def _start_course(self, day: int, drug: str | None = None) -> _Course:
        bp = self.p.bta
        if drug is None:
            drug = self.pick("drug_tier12" if self.tier12 else "drug_tier34")
        scr = self.scr_at(day)
        crcl = self._crcl(day, scr)
        if drug == "zoledronic_acid" and crcl < 30 and self.chance(bp.zoledronic_low_crcl_switch):
            drug = "denosumab"
        if drug == "zoledronic_acid":
            interval = int(self.pick("interval_zoledronic"))
        elif drug == "denosumab":
            interval = 28
        else:
            interval = int(self.pick("interval_other_bp"))
        course = _Course(
            drug,
            self._dose(drug, crcl, self.age_at(day)),
            interval,
            [],
            [],
        )
        self.baseline_scr[day] = scr
        limit = min(self.end, self.death - self.between(7, 45))
        t = day
        while t <= limit:
            course.doses.append(t)
            x = self.u()
            if x < bp.stop_per_dose:
                course.stop_day = t + self.between(14, course.interval + 14)
                course.stop_reason = self.pick("stop_reasons")
                break
            if x < bp.stop_per_dose + bp.silent_stop_per_dose:
                break
            gap, extended = self._gap(course)
            course.extended.append(extended)
            t += gap
        if not course.doses:
            return course
        last = course.doses[-1]
        near_death = self.death - last < 60 and self.death <= self.as_of
        if course.stop_day is None and near_death and self.chance(bp.stop_near_death):
            course.stop_day = last + self.between(14, 28)
            course.stop_reason = "poor_performance_status"
        return course

    def _exposure(self) -> list[tuple[int, int, float]]:
        """(from, to, SRE hazard ratio) spans of BTA protection, one per dose gap.

        A gap of standard length protects fully; an extended gap keeps only part of the log
        hazard ratio (``stretched_effect_kept``); the last dose protects for its interval plus
        ``effect_tail_days`` (or until a recorded stop plus that tail).
        """
        bp = self.p.bta
        spans: list[tuple[int, int, float]] = []
        for course in self.courses:
            if not course.doses:
                continue
            hr = bp.hr_sre_denosumab if course.drug == "denosumab" else bp.hr_sre_bisphosphonate
            if course.dose_mg == 60.0 and course.drug == "denosumab":
                hr = 1.0  # the osteoporosis product does not protect against SREs (VAL-04)
            weak = hr**bp.stretched_effect_kept
            doses = course.doses
            for k in range(len(doses) - 1):
                m = weak if course.extended[k] else hr
                if spans and spans[-1][1] == doses[k] and spans[-1][2] == m:
                    spans[-1] = (spans[-1][0], doses[k + 1], m)
                else:
                    spans.append((doses[k], doses[k + 1], m))
            end = doses[-1] + course.interval + bp.effect_tail_days
            if course.stop_day is not None:
                end = min(end, course.stop_day + bp.effect_tail_days)
            spans.append((doses[-1], end, hr))
        return spans

    def _hazard_segments(self, start: int) -> list[tuple[int, int, float]]:
        """Non-overlapping (from, to, multiplier) covering [start, end]."""
        spans = self._exposure()
        points = {start, self.end + 1}
        for s, e, _ in spans:
            points.update(x for x in (s, e) if start < x <= self.end)
        edges = sorted(points)
        out = []
        for a, b in zip(edges, edges[1:], strict=False):
            m = 1.0
            for s, e, hr in spans:
                if s <= a < e:
                    m = min(m, hr)
            out.append((a, b, m))
        return out

    def _first_sre(self) -> int:
        """Invert the Weibull cumulative hazard, scaled by BTA exposure, from confirmation."""
        model = self.t.sre
        target = self.expo(1.0)
        for a, b, m in self._hazard_segments(self.confirmed):
            h_a = model.cumulative_hazard(a - self.confirmed)
            delta = m * (model.cumulative_hazard(b - self.confirmed) - h_a)
            if target <= delta:
                return self.confirmed + max(
                    1, math.ceil(model.inverse_cumulative_hazard(h_a + target / m))
                )
            target -= delta
        return _INF

    def _later_sres(self, first: int) -> list[int]:
        """Further SREs: a constant rate scaled by BTA exposure, inverted segment by segment."""
        rate = self.p.sre.later_sre_per_year / _YEAR
        days: list[int] = []
        target = self.expo(1.0)
        cursor = float(first)
        for a, b, m in self._hazard_segments(first + 1):
            cursor = max(cursor, float(a))
            while len(days) < self.p.sre.max_sres - 1:
                available = m * rate * (b - cursor)
                if target > available:
                    target -= available
                    break
                cursor += target / (m * rate)
                days.append(math.ceil(cursor))
                target = self.expo(1.0)
        return [d for d in days if d <= self.end]

    def _bta_and_sre(self) -> None:
        bp = self.p.bta
        short_life = (
            self.death - self.confirmed <= 90
            and self.death <= self.as_of
            and self.chance(bp.short_life_record)
        )
        if short_life:
            self.add(
                "performance",
                self.confirmed,
                ecog=3 + (1 if self.chance(0.3) else 0),
                life_expectancy_months=round(1.0 + self.u() * 1.9, 1),
            )
        symptomatic = self.pain_day <= self.confirmed
        x = self.u()
        if short_life:
            immediate, never = bp.immediate_start_short_life, 0.6
        elif symptomatic:
            immediate, never = bp.immediate_start_symptomatic, bp.never_start_symptomatic
        else:
            immediate, never = bp.immediate_start_asymptomatic, bp.never_start_asymptomatic
        if x < immediate:
            planned = self.confirmed + self.between(0, 14)
        elif x < immediate + never:
            planned = _INF
        else:
            planned = self.confirmed + 15 + int(self.expo(bp.delayed_start_mean_days))
        self.planned_start = planned
        if planned <= self.end:
            self.courses.append(self._start_course(planned))
            self._restarts()
        # the first SRE: ground truth clock from confirmation (calibration.fit_sre_model)
        if self.presenting_sre is not None:
            first = self.presenting_sre[0]
            self._sre(first, self.presenting_sre[1], presenting=True)
        else:
            first = self._first_sre()
            if first <= self.end:
                self._sre(first, self.pick("first_kind"))
        if first > self.end:
            self._bta_events()
            return
        # what the SRE changes: only exposure after it, so the first SRE's law is unchanged
        on_bta = any(c.doses and c.doses[0] < first for c in self.courses)
        if not on_bta and first >= self.confirmed and planned > first:
            if self.chance(bp.start_after_sre):
                self.courses = []
                start = first + self.between(3, 21)
                if start <= self.end:
                    self.courses.append(self._start_course(start))
                    self._restarts()
        elif on_bta and self.chance(bp.stop_after_sre):
            self._stop_after(first)
        for day in self._later_sres(max(first, self.confirmed)):
            self._sre(day, self.pick("first_kind"))
        self._bta_events()

    def _stop_after(self, day: int) -> None:
        """Stop the course running on ``day`` at its next dose (WP: SRE seen as failure)."""
        for n, course in enumerate(self.courses):
            if not course.doses or course.doses[0] >= day:
                continue
            ends = (
                course.stop_day
                if course.stop_day is not None
                else course.doses[-1] + course.interval
            )
            if ends < day:
                continue
            after = [d for d in course.doses if d > day]
            if not after:
                return
            course.doses = [d for d in course.doses if d <= after[0]]
            del course.extended[len(course.doses) - 1 :]
            course.stop_day = after[0] + self.between(7, 30)
            course.stop_reason = "other"
            del self.courses[n + 1 :]
            self._restarts()
            return

    def _restarts(self) -> None:
        """Chain new courses after recorded stops (never after ONJ or poor performance)."""
        bp = self.p.bta
        while 0 < len(self.courses) < 3:
            last = self.courses[-1]
            if last.stop_day is None or not self.chance(bp.restart_after_stop):
                return
            if last.stop_reason in ("onj", "poor_performance_status"):
                return
            day = last.stop_day + self.between(60, 240)
            if day > self.end:
                return
            drug = "denosumab" if self.chance(0.4) else last.drug
            self.courses.append(self._start_course(day, drug))

    def _bta_events(self) -> None:
        bp = self.p.bta
        for n, course in enumerate(self.courses):
            if not course.doses:
                continue
            first = course.doses[0]
            route = "sc" if course.drug == "denosumab" else "iv"
            doses = self.events["bta"]
            for day in course.doses:  # every dose is on or before the horizon
                dose: Event = {
                    "date": day,
                    "drug": course.drug,
                    "dose_mg": course.dose_mg,
                    "route": route,
                }
                if course.interval != 28 or self.chance(bp.interval_recorded):
                    dose["interval_days"] = course.interval
                doses.append(dose)
                if course.drug != "denosumab" and (
                    day == first or self.chance(bp.creatinine_before_dose)
                ):
                    scr = self.baseline_scr.get(day) or self.scr_at(day)
                    self._creatinine(day - self.between(0, 3), scr)
                if self.chance(bp.calcium_before_dose):
                    self._calcium(day - self.between(0, 3))
                self.visit_days.append(day)
            if course.stop_day is not None:
                self.add("bta_stop", course.stop_day, reason=course.stop_reason)
                self._stop_consequence(course)
            if n == 0:
                if self.chance(weight_of(bp.dental_before_start, self.hospital.city_tier)):
                    self.add(
                        "dental", first - self.between(7, 85), result=self.pick("dental_results")
                    )
                if self.chance(bp.supplements_at_start):
                    calcium, vitamin_d = self.pick("supplement_products").split("/")
                    self.add(
                        "supplements",
                        first,
                        calcium_mg_daily=float(calcium),
                        vitamin_d_iu_daily=float(vitamin_d),
                    )
            year = first + 365
            while year <= course.doses[-1]:
                if self.chance(bp.dental_yearly):
                    self.add(
                        "dental", year + self.between(-30, 30), result=self.pick("dental_results")
                    )
                year += 365
        waiting = self.end < self.planned_start < _INF and self.end == self.as_of
        if not any(c.doses for c in self.courses) and waiting and self.chance(bp.plan_recorded):
            drug = self.pick("drug_tier12" if self.tier12 else "drug_tier34")
            self.plan = {"drug": drug, "interval_days": 28}

    def _stop_consequence(self, course: _Course) -> None:
        day = course.stop_day
        assert day is not None
        if course.stop_reason == "onj":
            self.add(
                "adverse_events", day - self.between(0, 14), kind="onj", stage=self.between(1, 3)
            )
        elif course.stop_reason == "renal_toxicity":
            self.renal_day = min(self.renal_day, day - self.between(0, 14))
            self.add(
                "adverse_events", self.renal_day, kind="renal_toxicity", grade=self.between(1, 2)
            )
            self._creatinine(self.renal_day, self.scr_at(self.renal_day))
        elif course.stop_reason == "hypocalcemia":
            low_day = day - self.between(0, 14)
            self.add("adverse_events", low_day, kind="hypocalcemia", grade=self.between(1, 2))
            self._calcium(low_day, low=True)

    def _sre(self, day: int, kind: str, presenting: bool = False) -> None:
        """One SRE with the exams, treatments and symptoms it brings."""
        sp = self.p.sre
        if day > self.end:
            return
        spine = [lesion["site"] for lesion in self.lesions if lesion["site"] in SPINE]
        if kind == "spinal_cord_compression" and not spine:
            kind = "pathologic_fracture"
        if presenting and self.presenting_sre is not None:
            site = self.presenting_sre[2]
        elif kind == "spinal_cord_compression":
            site = spine[int(self.u() * len(spine))]
        else:
            site = self.lesions[int(self.u() * len(self.lesions))]["site"]
        self.add("sre", day, kind=kind)
        self.pain_day = min(self.pain_day, day)
        if kind == "radiation_to_bone":
            self._radiotherapy(day, site)
        elif kind == "surgery_to_bone":
            self._bone_surgery(day, site, counted=True)
        elif kind == "hypercalcemia":
            self._calcium(day, high=True)
        elif kind == "pathologic_fracture":
            if not presenting:
                self.add(
                    "imaging",
                    day,
                    modality="xray",
                    region=_region_of(site),
                    result="positive",
                    sites=[site],
                )
            surgery = sp.surgery_at_presentation if presenting else sp.surgery_after_fracture
            if self.chance(surgery):
                self._bone_surgery(day + self.between(1, 14), site)
        else:  # spinal cord compression: MRI, steroids, then surgery or RT
            self.mscc_day = day
            if not presenting:
                self.add(
                    "imaging", day, modality="mri", region="spine", result="positive", sites=[site]
                )
            self.add("medications", day, **{"class": "corticosteroid", "action": "start"})
            self.add(
                "medications",
                day + self.between(10, 28),
                **{"class": "corticosteroid", "action": "stop"},
            )
            surgery = sp.surgery_at_presentation if presenting else sp.surgery_after_mscc
            if self.chance(surgery):
                self._bone_surgery(day + self.between(0, 2), site)
            else:
                rt = day + self.between(0, 3)
                if rt <= self.end:
                    self.add("sre", rt, kind="radiation_to_bone")
                    self._radiotherapy(rt, site)
        if self.chance(sp.mdt_after_sre):
            self._mdt(day + self.between(0, 7))

    def _bone_surgery(self, day: int, site: str, counted: bool = False) -> None:
        if day > self.end:
            return
        if not counted:
            self.add("sre", day, kind="surgery_to_bone")
        self.add("treatments", day, kind="surgery_bone", site=site)
        if self.chance(self.p.sre.rt_after_surgery):
            rt = day + self.between(14, 42)
            if rt <= self.end:
                self.add("sre", rt, kind="radiation_to_bone")
                self._radiotherapy(rt, site)

    def _radiotherapy(self, day: int, site: str) -> None:
        sbrt = self.chance(self.p.therapy.sbrt_share)
        dose, fractions = self.pick("sbrt_schemes" if sbrt else "rt_schemes").split("/")
        self.add(
            "treatments",
            day,
            kind="sbrt_bone" if sbrt else "radiotherapy_bone",
            site=site,
            dose_gy=float(dose),
            fractions=int(fractions),
        )
        self.rt_days.append(day)

    def _mdt(self, day: int) -> None:
        attendees = ["oncology", "radiology"]
        for dept in ("orthopedics", "radiotherapy", "nuclear_medicine", "thoracic_surgery"):
            if self.chance(MDT_ATTENDANCE):
                attendees.append(dept)
        self.add(
            "mdt",
            day,
            decision=MDT_DECISIONS[int(self.u() * len(MDT_DECISIONS))],
            attendees=attendees,
        )

    # -- systemic treatments and analgesia --

    def _treatments(self) -> None:
        """Systemic lines (adjuvant, consolidation, first/second line), analgesia, MDT."""
        tp = self.p.therapy
        lines: list[tuple[int, str]] = []
        if self.initial == "resected" and self.surgery is not None and self.stage != "I":
            egfr = self.targetable and (self.drivers or {}).get("EGFR") == "positive"
            if egfr and self.chance(tp.adjuvant_targeted_egfr):
                lines.append((self.surgery + self.between(30, 60), "targeted"))
            elif self.chance(tp.adjuvant_chemotherapy):
                lines.append((self.surgery + self.between(30, 60), "chemotherapy"))
        elif self.initial == "locally_advanced":
            start = self.dx + self.between(7, 28)
            lines.append((start, "chemotherapy"))
            if self.chance(tp.consolidation_immunotherapy):
                lines.append((start + self.between(100, 140), "immunotherapy"))
        if self.advanced <= self.end:
            start = self.advanced + self.between(7, 28)
            if self.histology == "sclc":
                first = self.pick("first_line_sclc")
            elif self.targetable and self.chance(tp.targeted_if_driver):
                first = "targeted"
            else:
                first = self.pick("first_line_no_driver")
            lines.append((start, first))
            if self.chance(tp.second_line):
                low, mean = tp.second_line_days
                second = start + int(low + self.expo(mean))
                lines.append((second, "chemotherapy" if first != "chemotherapy" else "other"))
        for day, kind in lines:
            self.add("treatments", day, kind=kind)
            if kind in ("chemotherapy", "chemo_immunotherapy") and self.chance(tp.cisplatin_share):
                self.add("medications", day, **{"class": "cisplatin", "action": "start"})
                stop = day + self.between(*tp.cisplatin_days)
                self.add("medications", stop, **{"class": "cisplatin", "action": "stop"})
        if self.pain_day <= self.end and self.lesions:
            self.pain_band = self.pick("pain_band")
            day = self.pain_day + self.between(0, 7)
            if self.pain_band == "mild":
                if self.chance(tp.nsaid_for_mild_pain):
                    self.add("medications", day, **{"class": "nsaid", "action": "start"})
            elif self.pain_band == "moderate":
                drug = "weak_opioid" if self.chance(tp.weak_opioid_for_moderate_pain) else "nsaid"
                self.add("medications", day, **{"class": drug, "action": "start"})
            else:
                self.add("medications", day, **{"class": "strong_opioid_short", "action": "start"})
                later = day + self.between(3, 14)
                self.add("medications", later, **{"class": "strong_opioid_long", "action": "start"})
            if self.chance(tp.adjuvant_analgesic):
                self.add("medications", day, **{"class": "adjuvant_analgesic", "action": "start"})
        mdt = self.p.sre.mdt_at_confirmation
        key = "cancer" if self.hospital.type == "cancer" else self.hospital.city_tier
        if self.confirmed <= self.end and self.chance(weight_of(mdt, key)):
            self._mdt(self.confirmed + self.between(0, 14))

    # -- visits: labs, vitals, performance, symptoms --

    def weight_at(self, day: int) -> float:
        w = self.weight0
        if day > self.advanced:
            w -= 0.008 * (day - self.advanced)
        if self.death - day < 120:
            w -= 0.03 * (120 - max(0, self.death - day))
        return min(max(w, 32.0), 150.0)

    def scr_at(self, day: int) -> float:
        """Serum creatinine (mg/dL) measured on ``day``: the patient's level with assay noise."""
        scr = self.scr0 * math.exp(self.normal(0.0, self.p.labs.creatinine_noise_log_sd))
        if day >= self.renal_day:
            scr *= 1.6
        return min(max(scr, 0.3), 14.0)

    def _units(self) -> None:
        """The hospital lab's unit and the other accepted unit, per test (VAL-03)."""
        h = self.hospital
        self.creatinine_units = (
            h.creatinine_unit,
            "mg/dL" if h.creatinine_unit == "umol/L" else "umol/L",
        )
        self.calcium_units = (h.calcium_unit, "mg/dL" if h.calcium_unit == "mmol/L" else "mmol/L")
        self.albumin_units = (h.albumin_unit, "g/dL" if h.albumin_unit == "g/L" else "g/L")
        self.flip = self.p.labs.outside_lab_unit
        self.limits = self.p.labs.reference_limits

    def _creatinine(self, day: int, scr: float) -> None:
        """A creatinine result (``scr`` in mg/dL) in the lab's unit, sometimes with its limits."""
        if day > self.end:
            return
        u = self.u
        unit = self.creatinine_units[u() < self.flip]
        if unit == "umol/L":
            item: Event = {
                "date": day,
                "test": "creatinine",
                "value": float(round(scr * 88.4)),
                "unit": unit,
            }
            if u() < self.limits:
                item["lln"], item["uln"] = 44.0, 106.0
        else:
            item = {"date": day, "test": "creatinine", "value": round(scr, 2), "unit": unit}
            if u() < self.limits:
                item["lln"], item["uln"] = 0.5, 1.2
        self.events["labs"].append(item)

    def _calcium(self, day: int, low: bool = False, high: bool = False) -> None:
        """Total calcium (with albumin the same day) in the lab's units."""
        if day > self.end:
            return
        lp = self.p.labs
        u = self.u
        radius = math.sqrt(-2.0 * math.log(1.0 - u()))
        angle = 6.283185307179586 * u()
        if low:
            value = 1.80 + u() * 0.2
        elif high:
            value = 2.9 + u() * 0.6
        else:
            value = lp.calcium_mean_mmol_l + lp.calcium_sd_mmol_l * radius * math.cos(angle)
            value = 2.0 if value < 2.0 else 2.7 if value > 2.7 else value
        unit = self.calcium_units[u() < self.flip]
        if unit == "mmol/L":
            item: Event = {"date": day, "test": "calcium", "value": round(value, 2), "unit": unit}
            if u() < self.limits:
                item["lln"], item["uln"] = 2.10, 2.55
        else:
            item = {"date": day, "test": "calcium", "value": round(value * 4.0, 1), "unit": unit}
            if u() < self.limits:
                item["lln"], item["uln"] = 8.5, 10.2
        labs = self.events["labs"]
        labs.append(item)
        albumin = lp.albumin_mean_g_l + lp.albumin_sd_g_l * radius * math.sin(angle)
        if self.death - day < 90:
            albumin -= 6.0
        albumin = 20.0 if albumin < 20.0 else 52.0 if albumin > 52.0 else albumin
        unit = self.albumin_units[u() < self.flip]
        if unit == "g/L":
            labs.append({"date": day, "test": "albumin", "value": round(albumin, 1), "unit": unit})
        else:
            labs.append(
                {"date": day, "test": "albumin", "value": round(albumin / 10, 2), "unit": unit}
            )

    def _marker(self, day: int) -> None:
        bone = day >= self.onset
        factor = 2.2 if bone else 1.0
        test = ("balp", "pinp", "ctx", "ntx", "vitamin_d")[int(self.u() * 5)]
        noise = math.exp(self.normal(0, 0.3))
        if test == "balp":
            if self.chance(0.7):
                self.add(
                    "labs",
                    day,
                    test=test,
                    value=round(18 * factor * noise, 1),
                    unit="U/L",
                    uln=30.0,
                )
            else:
                self.add(
                    "labs",
                    day,
                    test=test,
                    value=round(12 * factor * noise, 1),
                    unit="ug/L",
                    uln=22.0,
                )
        elif test == "pinp":
            unit = "ng/mL" if self.chance(0.7) else "ug/L"
            self.add(
                "labs", day, test=test, value=round(50 * factor * noise, 1), unit=unit, uln=75.0
            )
        elif test == "ctx":
            value = 0.45 * factor * noise
            if self.chance(0.7):
                self.add("labs", day, test=test, value=round(value, 3), unit="ng/mL", uln=0.7)
            else:
                self.add(
                    "labs",
                    day,
                    test=test,
                    value=float(round(value * 1000)),
                    unit="pg/mL",
                    uln=700.0,
                )
        elif test == "ntx":
            self.add(
                "labs",
                day,
                test=test,
                value=round(40 * factor * noise, 1),
                unit="nmol BCE/mmol Cr",
                uln=65.0,
            )
        else:
            value = 22.0 * noise
            if self.chance(0.7):
                self.add("labs", day, test=test, value=round(value, 1), unit="ng/mL", lln=20.0)
            else:
                self.add(
                    "labs", day, test=test, value=round(value * 2.496, 1), unit="nmol/L", lln=50.0
                )

    def _ecog_at(self, day: int) -> int:
        """ECOG: the start value, one point worse after ``ecog_decline``, 3-4 near death."""
        ecog = self.ecog_adv if day >= self.advanced else self.ecog0
        if day >= self.ecog_decline:
            ecog = min(ecog + 1, 4)
        to_death = self.death - day
        if to_death < 60:
            ecog = max(ecog, 4 if to_death < 14 else 3)
        return ecog

    def _pain_at(self, day: int) -> tuple[int, tuple[str, ...]]:
        if day >= self.pain_day and self.lesions:
            base = {"mild": 2, "moderate": 5, "severe": 8}.get(self.pain_band, 2)
            if any(r < day for r in self.rt_days):
                base = max(1, base - 2)
            nrs = min(max(base + self.between(-1, 1), 1), 10)
            sites = self.sites[: 1 + (1 if len(self.sites) > 1 and self.chance(0.4) else 0)]
            return nrs, sites
        if self.chance(self.p.labs.benign_pain):
            return self.between(1, 2), ()
        return 0, ()

    def _visits(self) -> None:
        """Labs, weight, ECOG and pain recorded at routine CT visits, dose days and confirmation."""
        lp = self.p.labs
        u = self.u
        days = sorted({e.day for e in self.exams if e.modality == "ct" and e.day >= self.dx - 30})
        if self.confirmed <= self.end:
            days.append(self.confirmed)
        days.extend(self.visit_days)
        days.sort()
        markers = weight_of(lp.markers_at_visit, self.hospital.city_tier)
        first_vitals = True
        watch_from = min(self.detected, self.pain_day)
        events = self.events
        labs, vitals, performance, symptoms = (
            events["labs"],
            events["vitals"],
            events["performance"],
            events["symptoms"],
        )
        dose_days = set(self.visit_days)  # their labs were drawn before the dose
        for day in days:
            if day > self.end:
                break
            if day not in dose_days and u() < lp.lab_at_visit:
                self._creatinine(day, self.scr_at(day))
                self._calcium(day)
                if u() < lp.alp_at_visit:
                    alp = lp.alp_median_u_l * math.exp(self.normal(0.0, 0.3))
                    if day >= self.onset:
                        alp *= lp.alp_bone_factor
                    item: Event = {
                        "date": day,
                        "test": "alp",
                        "value": float(round(min(alp, 900.0))),
                        "unit": "U/L",
                    }
                    if u() < self.limits:
                        item["lln"], item["uln"] = 45.0, 125.0
                    labs.append(item)
            if u() < markers:
                self._marker(day)
            if u() < lp.vitals_at_visit:
                weight = round(self.weight_at(day) + self.normal(0.0, 0.8), 1)
                if first_vitals and u() < 0.7:
                    vitals.append(
                        {"date": day, "weight_kg": weight, "height_cm": round(self.height, 1)}
                    )
                else:
                    vitals.append({"date": day, "weight_kg": weight})
                first_vitals = False
            if u() < lp.performance_at_visit:
                perf: Event = {"date": day, "ecog": self._ecog_at(day)}
                if u() < lp.life_expectancy_recorded:
                    left = (self.death - day) / 30.4
                    perf["life_expectancy_months"] = (
                        round(1.0 + u() * 1.9, 1)
                        if left < 3
                        else float(max(3, round(left * (0.6 + 0.8 * u()))))
                    )
                performance.append(perf)
            rate = lp.symptoms_at_visit if day >= watch_from else lp.symptoms_at_visit_other
            if u() < rate:
                nrs, sites = self._pain_at(day)
                assessment: Event = {"date": day, "bone_pain": nrs}
                if sites:
                    assessment["pain_sites"] = list(sites)
                    if any(s in SPINE or s in LONG_BONES for s in sites):
                        assessment["mechanical_pain"] = u() < lp.mechanical_pain
                if 0 <= day - self.mscc_day <= 60:
                    assessment["neuro_deficit"] = True
                    assessment["frankel"] = ("B", "C", "C", "D", "D")[int(u() * 5)]
                elif sites:
                    assessment["neuro_deficit"] = False
                symptoms.append(assessment)

    # -- record sections --

    def _cancer_json(self) -> dict[str, Any]:
        tp = self.p.tumour
        cancer: dict[str, Any] = {
            "diagnosis_date": self.iso(self.dx),
            "histology": self.histology,
            "stage": self.stage,
        }
        if self.chance(tp.tnm_recorded):
            bone_at_dx = self.stage == "IV" and self.onset <= self.dx + 30
            table = TNM_BONE if bone_at_dx else TNM_BY_STAGE[self.stage]
            cancer["tnm"] = table[int(self.u() * len(table))]
        if self.drivers is not None:
            cancer["drivers"] = self.drivers
        if self.pd_l1 is not None:
            cancer["pd_l1_tps"] = self.pd_l1
        setting: str | None = self.initial
        if self.initial == "resected" and (self.surgery is None or self.surgery > self.end):
            setting = None  # awaiting surgery on as_of: the setting is not recorded yet
        if self.advanced <= self.end and self.initial != "advanced":
            setting = "advanced"
            cancer["recurrence_date"] = self.iso(self.advanced)
        if setting is not None:
            cancer["setting"] = setting
        if self.surgery is not None and self.surgery <= self.end:
            cancer["surgery_date"] = self.iso(self.surgery)
        if self.advanced <= self.end and self.chance(tp.visceral_recorded):
            cancer["visceral_metastasis"] = self.pick("visceral")
        return cancer

    def _bone_json(self) -> dict[str, Any] | None:
        if self.confirmed <= self.end:
            return {
                "status": "confirmed",
                "confirmed_date": self.iso(self.confirmed),
                "lesions": self.lesions,
            }
        if self.detected <= self.end:
            bone: dict[str, Any] = {"status": "suspected"}
            if self.chance(0.5):
                bone["lesions"] = self.lesions
            return bone
        if self.chance(self.p.bone.status_omitted_when_none):
            return None
        return {"status": "none"}

    def _imaging_json(self) -> None:
        text = self.p.imaging.report_text
        u = self.u
        out = self.events["imaging"]
        for exam in self.exams:
            if exam.day > self.end:
                continue
            item: Event = {"date": exam.day, "modality": exam.modality, "region": exam.region}
            result = exam.result
            if result is not None:
                item["result"] = result
            if exam.modality == "ct":
                item["bone_window_reviewed"] = bool(exam.bone_window)
            if exam.lesion_count is not None and result == "positive":
                item["lesion_count"] = exam.lesion_count
            if exam.sites:
                item["sites"] = list(exam.sites)
            if result is not None and u() < text and exam.modality in REPORT_TEXT:
                item["report_text"] = REPORT_TEXT[exam.modality][result == "positive"]
            out.append(item)


def _region_of(site: str) -> str:
    if site in SPINE:
        return "spine"
    if site in ("pelvis", "acetabulum"):
        return "pelvis"
    if site in LONG_BONES:
        return "limb"
    if site == "skull":
        return "head"
    if site in CHEST_BONES:
        return "chest"
    return "other"


def generate_record(
    index: int,
    seed: int,
    as_of: dt.date | None = None,
    params: SynthParams = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Patient ``index`` (0-based; id ``S{index+1:07d}``) of the cohort ``seed`` as of ``as_of``.

    The result is format-v1 JSON data; it depends only on (seed, index, as_of, params).

    Raises
    ------
    ValueError
        If ``as_of`` is before ``params.cohort.start`` or after :data:`LATEST_AS_OF`.
    """
    when = as_of or params.cohort.default_as_of
    if not params.cohort.start <= when <= LATEST_AS_OF:
        raise ValueError(
            f"as_of {when} is outside {params.cohort.start} .. {LATEST_AS_OF}; the cohort's "
            "diagnoses start on cohort.start"
        )
    return _Patient(_tables(params), seed, index, when.toordinal()).build()
