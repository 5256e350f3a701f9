"""A form for every kind of fact a rule asks for, and correcting or voiding any entry
(issue 15 item 3).

Each kind of record entry has a :class:`FormSpec` (fields with labels, units and the record
format's codes). The patient page renders the forms the hand-written ones (dose, imaging,
lab, dental, stop) do not cover — pain, supplements, performance status, weight and height,
medications, treatments, skeletal-related events, adverse events, biopsy, a bone lesion's
details, visceral metastases — and a finding that needs data links to the form that answers
it, pre-filled with what the record already holds (:func:`answer_links`). Every entry of the
record can be corrected or voided from the timeline (``?edit=family:index``).

Forms post to ``/patients/{source}/{id}/record`` (add) and ``…/entry`` (correct / void); both
write through :mod:`bonepath.api.entries` (record parser, history row, audit), numbers read
as people type them (:func:`bonepath.interop.values.parse_number`). A refusal re-renders the
page with what was typed and each problem next to its field, in the page's language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bonepath.api import deps, entries, services
from bonepath.api.deps import Context
from bonepath.api.params import PatientId, Source
from bonepath.engine.findings import Finding
from bonepath.errors import NotFound, Problem, RecordRefused
from bonepath.record.history import Revision, canonical
from bonepath.record.model import Record
from bonepath.store.accounts import Permission, Principal
from bonepath.vocab import (
    AdverseEventKind,
    Alignment,
    BiopsyResult,
    Collapse,
    DentalResult,
    Drug,
    Frankel,
    ImagingResult,
    LabTest,
    LesionKind,
    MedicationAction,
    MedicationClass,
    Modality,
    Posterolateral,
    Region,
    Route,
    Site,
    SreKind,
    StopReason,
    TreatmentKind,
    VisceralMetastasis,
)
from bonepath.web.clinical import CODE_LABELS, Pair, text

router = APIRouter(include_in_schema=False)
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]

YES_NO: Final[tuple[tuple[str, Pair], ...]] = (("yes", ("是", "yes")), ("no", ("否", "no")))


def _choices(codes: Sequence[str], labels: Mapping[str, Pair]) -> tuple[tuple[str, Pair], ...]:
    return tuple((c, labels.get(c) or CODE_LABELS.get(c) or (c, c)) for c in codes)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: Pair
    kind: str = "select"
    """``date``, ``number``, ``int``, ``select``, ``multi``, ``bool`` or ``text``."""
    choices: tuple[tuple[str, Pair], ...] = ()
    unit: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class FormSpec:
    name: str
    family: str
    title: Pair
    fields: tuple[Field, ...]
    answers: Pair = ("", "")
    """Which rules the form answers (shown under its title)."""


DATE = Field("date", ("日期", "Date"), "date", required=True)
SITES: Final = _choices([s.value for s in Site], {"other": ("其他", "other")})
LEVELS: Final = tuple(
    (lv, (lv, lv))
    for lv in [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + [f"S{i}" for i in range(1, 6)]
)
LESION_KINDS: Final = {
    "lytic": ("溶骨性", "lytic"),
    "blastic": ("成骨性", "blastic"),
    "mixed": ("混合性", "mixed"),
}
ALIGNMENT: Final = {
    "normal": ("正常", "normal"),
    "deformity": ("后凸/侧凸畸形", "kyphosis/scoliosis"),
    "subluxation": ("半脱位/移位", "subluxation/translation"),
}
COLLAPSE: Final = {
    "none": ("无塌陷", "no collapse"),
    "none_gt50_involved": ("无塌陷但椎体受累>50%", "no collapse, > 50% involved"),
    "lt50": ("塌陷<50%", "collapse < 50%"),
    "gt50": ("塌陷≥50%", "collapse ≥ 50%"),
}
POSTEROLATERAL: Final = {
    "none": ("无", "none"),
    "unilateral": ("单侧", "unilateral"),
    "bilateral": ("双侧", "bilateral"),
}
VISCERAL: Final = {
    "none": ("无内脏转移", "none"),
    "removable": ("可切除", "removable"),
    "unremovable": ("不可切除", "unremovable"),
}
MEDICATION_CLASSES: Final = {
    "nsaid": ("非甾体抗炎药", "NSAID"),
    "weak_opioid": ("弱阿片类", "weak opioid"),
    "strong_opioid_short": ("强阿片类（短效）", "strong opioid, short-acting"),
    "strong_opioid_long": ("强阿片类（长效）", "strong opioid, long-acting"),
    "cisplatin": ("顺铂", "cisplatin"),
    "corticosteroid": ("糖皮质激素", "corticosteroid"),
    "adjuvant_analgesic": ("辅助镇痛药", "adjuvant analgesic"),
    "other": ("其他", "other"),
}
TREATMENTS: Final = {
    "targeted": ("靶向治疗", "targeted therapy"),
    "chemotherapy": ("化疗", "chemotherapy"),
    "immunotherapy": ("免疫治疗", "immunotherapy"),
    "chemo_immunotherapy": ("化疗联合免疫", "chemo-immunotherapy"),
    "radiotherapy_bone": ("骨转移灶放疗", "radiotherapy to bone"),
    "sbrt_bone": ("骨转移灶SBRT", "SBRT to bone"),
    "radionuclide": ("放射性核素治疗", "radionuclide therapy"),
    "surgery_bone": ("骨转移手术", "bone surgery"),
    "ablation_cementoplasty": ("消融/骨水泥成形", "ablation/cementoplasty"),
    "other": ("其他", "other"),
}
SRES: Final = {
    "pathologic_fracture": ("病理性骨折", "pathologic fracture"),
    "spinal_cord_compression": ("脊髓压迫", "spinal cord compression"),
    "radiation_to_bone": ("骨放疗", "radiation to bone"),
    "surgery_to_bone": ("骨手术", "surgery to bone"),
    "hypercalcemia": ("高钙血症", "hypercalcaemia"),
}
ADVERSE: Final = {
    "onj": ("颌骨坏死", "osteonecrosis of the jaw"),
    "hypocalcemia": ("低钙血症", "hypocalcaemia"),
    "renal_toxicity": ("肾毒性", "renal toxicity"),
    "other": ("其他", "other"),
}
BIOPSY: Final = {
    "metastatic_lung": ("肺癌骨转移", "metastatic lung cancer"),
    "other_malignancy": ("其他恶性肿瘤", "other malignancy"),
    "benign": ("良性", "benign"),
    "nondiagnostic": ("未能诊断", "non-diagnostic"),
}
DENTAL: Final = {
    "ok": ("未见问题", "no problem"),
    "needs_treatment": ("需治疗", "needs treatment"),
    "invasive_procedure_done": ("已行有创操作（拔牙等）", "invasive procedure done"),
}
STOPS: Final = {
    "pain_relief": ("疼痛缓解", "pain relieved"),
    "disease_stable": ("病情稳定", "disease stable"),
    "poor_performance_status": ("体能状态差", "poor performance status"),
    "onj": ("颌骨坏死", "osteonecrosis of the jaw"),
    "renal_toxicity": ("肾毒性", "renal toxicity"),
    "hypocalcemia": ("低钙血症", "hypocalcaemia"),
    "patient_refusal": ("患者拒绝", "patient refused"),
    "cost": ("费用原因", "cost"),
    "other": ("其他", "other"),
}
LABS: Final = {
    "creatinine": ("血肌酐", "creatinine"),
    "calcium": ("血钙", "calcium"),
    "albumin": ("白蛋白", "albumin"),
    "alp": ("碱性磷酸酶", "ALP"),
    "balp": ("骨特异性碱性磷酸酶", "bone ALP"),
    "pinp": ("PINP", "PINP"),
    "ctx": ("CTX", "CTX"),
    "ntx": ("NTX", "NTX"),
    "vitamin_d": ("25-羟维生素D", "25-OH vitamin D"),
}
UNITS: Final = tuple(
    (u, (u, u))
    for u in (
        "umol/L",
        "mg/dL",
        "mmol/L",
        "g/L",
        "g/dL",
        "U/L",
        "ug/L",
        "ng/mL",
        "pg/mL",
        "nmol/L",
        "nmol BCE/mmol Cr",
    )
)

FORMS: Final[Mapping[str, FormSpec]] = {
    spec.name: spec
    for spec in (
        FormSpec(
            "pain",
            "symptoms",
            ("骨痛与神经症状", "Bone pain and neurological symptoms"),
            (
                DATE,
                Field(
                    "bone_pain",
                    ("骨痛评分（NRS 0–10）", "Bone pain (NRS 0–10)"),
                    choices=tuple((str(i), (str(i), str(i))) for i in range(11)),
                ),
                Field("pain_sites", ("疼痛部位", "Pain sites"), "multi", SITES),
                Field(
                    "mechanical_pain",
                    ("机械性疼痛（活动时加重）", "Mechanical pain"),
                    "bool",
                    YES_NO,
                ),
                Field("neuro_deficit", ("神经功能障碍", "Neurological deficit"), "bool", YES_NO),
                Field(
                    "frankel",
                    ("Frankel分级", "Frankel grade"),
                    choices=tuple((f.value, (f.value, f.value)) for f in Frankel),
                ),
            ),
            ("PAIN-01…05、SURG-01/02/03", "PAIN-01…05, SURG-01/02/03"),
        ),
        FormSpec(
            "supplements",
            "supplements",
            ("钙剂和维生素D补充", "Calcium and vitamin D supplements"),
            (
                DATE,
                Field("calcium_mg_daily", ("每日钙", "Calcium a day"), "number", unit="mg"),
                Field(
                    "vitamin_d_iu_daily", ("每日维生素D", "Vitamin D a day"), "number", unit="IU"
                ),
            ),
            ("SAFE-06", "SAFE-06"),
        ),
        FormSpec(
            "performance",
            "performance",
            ("体能状态", "Performance status"),
            (
                DATE,
                Field(
                    "ecog",
                    ("ECOG评分", "ECOG"),
                    choices=tuple((str(i), (str(i), str(i))) for i in range(5)),
                ),
                Field(
                    "kps",
                    ("KPS评分", "KPS"),
                    choices=tuple((str(i), (str(i), str(i))) for i in range(0, 101, 10)),
                ),
                Field(
                    "life_expectancy_months",
                    ("预计生存期", "Life expectancy"),
                    "number",
                    unit="月|months",
                ),
            ),
            ("SURG-03、RT、MDT", "SURG-03, RT, MDT"),
        ),
        FormSpec(
            "vitals",
            "vitals",
            ("体重和身高", "Weight and height"),
            (
                DATE,
                Field("weight_kg", ("体重", "Weight"), "number", unit="kg"),
                Field("height_cm", ("身高", "Height"), "number", unit="cm"),
            ),
            ("SCORE-CG（肌酐清除率）、BTA-09", "SCORE-CG (creatinine clearance), BTA-09"),
        ),
        FormSpec(
            "medications",
            "medications",
            ("用药（镇痛药、顺铂等）", "Medications (analgesics, cisplatin…)"),
            (
                DATE,
                Field(
                    "class",
                    ("药物类别", "Class"),
                    choices=_choices(list(MEDICATION_CLASSES), MEDICATION_CLASSES),
                    required=True,
                ),
                Field(
                    "action",
                    ("开始/停用", "Start/stop"),
                    choices=(("start", ("开始", "start")), ("stop", ("停用", "stop"))),
                    required=True,
                ),
            ),
            ("PAIN-05、SAFE-12", "PAIN-05, SAFE-12"),
        ),
        FormSpec(
            "treatments",
            "treatments",
            ("抗肿瘤治疗、放疗、手术", "Treatments (systemic, radiotherapy, surgery)"),
            (
                DATE,
                Field(
                    "kind",
                    ("治疗", "Treatment"),
                    choices=_choices(list(TREATMENTS), TREATMENTS),
                    required=True,
                ),
                Field("site", ("部位", "Site"), choices=SITES),
                Field("dose_gy", ("放疗剂量", "Dose"), "number", unit="Gy"),
                Field("fractions", ("分次", "Fractions"), "int"),
            ),
            ("RT-01/02、SURG", "RT-01/02, SURG"),
        ),
        FormSpec(
            "sre",
            "sre",
            ("骨相关事件（SRE）", "Skeletal-related event (SRE)"),
            (
                DATE,
                Field("kind", ("事件", "Event"), choices=_choices(list(SRES), SRES), required=True),
            ),
            ("BTA、MDT", "BTA, MDT"),
        ),
        FormSpec(
            "adverse_events",
            "adverse_events",
            ("不良反应", "Adverse event"),
            (
                DATE,
                Field(
                    "kind",
                    ("不良反应", "Event"),
                    choices=_choices(list(ADVERSE), ADVERSE),
                    required=True,
                ),
                Field(
                    "grade",
                    ("CTCAE分级", "CTCAE grade"),
                    choices=tuple((str(i), (str(i), str(i))) for i in range(1, 6)),
                ),
                Field(
                    "stage",
                    ("MRONJ分期", "MRONJ stage"),
                    choices=tuple((str(i), (str(i), str(i))) for i in range(4)),
                ),
            ),
            ("SAFE-11", "SAFE-11"),
        ),
        FormSpec(
            "biopsy",
            "biopsy",
            ("骨活检", "Bone biopsy"),
            (
                DATE,
                Field("site", ("部位", "Site"), choices=SITES),
                Field(
                    "result",
                    ("结果", "Result"),
                    choices=_choices(list(BIOPSY), BIOPSY),
                    required=True,
                ),
            ),
            ("DX", "DX"),
        ),
        FormSpec(
            "lesion",
            "lesions",
            ("骨转移病灶详情", "Bone lesion details"),
            (
                Field("site", ("部位", "Site"), choices=SITES, required=True),
                Field(
                    "kind",
                    ("病灶类型", "Lesion type"),
                    choices=_choices(list(LESION_KINDS), LESION_KINDS),
                ),
                Field("size_mm", ("大小", "Size"), "number", unit="mm"),
                Field(
                    "cortical_involvement_pct",
                    ("骨皮质受累", "Cortical involvement"),
                    "number",
                    unit="%",
                ),
                Field("level", ("椎体节段（脊柱）", "Vertebral level (spine)"), choices=LEVELS),
                Field(
                    "peritrochanteric",
                    ("转子周围（股骨）", "Peritrochanteric (femur)"),
                    "bool",
                    YES_NO,
                ),
                Field(
                    "alignment",
                    ("脊柱序列", "Spinal alignment"),
                    choices=_choices(list(ALIGNMENT), ALIGNMENT),
                ),
                Field(
                    "collapse",
                    ("椎体塌陷", "Vertebral collapse"),
                    choices=_choices(list(COLLAPSE), COLLAPSE),
                ),
                Field(
                    "posterolateral",
                    ("后外侧受累", "Posterolateral involvement"),
                    choices=_choices(list(POSTEROLATERAL), POSTEROLATERAL),
                ),
            ),
            (
                "SURG-01（Mirels）、SURG-02（SINS）、SURG-03",
                "SURG-01 (Mirels), SURG-02 (SINS), SURG-03",
            ),
        ),
        FormSpec(
            "cancer",
            "cancer",
            ("内脏转移", "Visceral metastases"),
            (
                Field(
                    "visceral_metastasis",
                    ("主要脏器转移", "Major-organ metastases"),
                    choices=_choices(list(VISCERAL), VISCERAL),
                    required=True,
                ),
            ),
            ("SURG-03（Tokuhashi）", "SURG-03 (Tokuhashi)"),
        ),
    )
}
"""The add forms of the patient page beyond the hand-written ones (by form name)."""

EDIT_SPECS: Final[Mapping[str, FormSpec]] = {
    **{spec.family: spec for spec in FORMS.values()},
    "bta": FormSpec(
        "bta",
        "bta",
        ("骨改良药物给药", "BTA dose"),
        (
            DATE,
            Field(
                "drug",
                ("药物", "Drug"),
                choices=_choices([d.value for d in Drug], {}),
                required=True,
            ),
            Field("dose_mg", ("剂量", "Dose"), "number", unit="mg", required=True),
            Field("route", ("途径", "Route"), choices=_choices([r.value for r in Route], {})),
            Field(
                "interval_days",
                ("间隔", "Interval"),
                "int",
                tuple((x, (x, x)) for x in ("21", "28", "84")),
                unit="天|days",
            ),
        ),
    ),
    "labs": FormSpec(
        "labs",
        "labs",
        ("检验结果", "Laboratory result"),
        (
            DATE,
            Field(
                "test",
                ("项目", "Test"),
                choices=_choices([t.value for t in LabTest], LABS),
                required=True,
            ),
            Field("value", ("数值", "Value"), "number", required=True),
            Field("unit", ("单位", "Unit"), choices=UNITS, required=True),
        ),
    ),
    "imaging": FormSpec(
        "imaging",
        "imaging",
        ("影像检查", "Imaging"),
        (
            DATE,
            Field(
                "modality",
                ("检查", "Modality"),
                choices=_choices([m.value for m in Modality], {}),
                required=True,
            ),
            Field(
                "region",
                ("部位", "Region"),
                choices=_choices(
                    [r.value for r in Region],
                    {
                        "whole_body": ("全身", "whole body"),
                        "chest": ("胸部", "chest"),
                        "chest_abdomen": ("胸腹部", "chest and abdomen"),
                        "head": ("头部", "head"),
                        "spine": ("脊柱", "spine"),
                        "pelvis": ("骨盆", "pelvis"),
                        "limb": ("四肢", "limb"),
                        "other": ("其他", "other"),
                    },
                ),
            ),
            Field(
                "result",
                ("结果", "Result"),
                choices=_choices(
                    [r.value for r in ImagingResult],
                    {
                        "suspicious": ("可疑", "suspicious"),
                        "negative": ("阴性", "negative"),
                        "positive": ("阳性", "positive"),
                    },
                ),
            ),
            Field("bone_window_reviewed", ("已看骨窗", "Bone window reviewed"), "bool", YES_NO),
            Field("sites", ("病灶部位", "Sites"), "multi", SITES),
        ),
    ),
    "dental": FormSpec(
        "dental",
        "dental",
        ("口腔检查", "Dental examination"),
        (
            DATE,
            Field(
                "result",
                ("结果", "Result"),
                choices=_choices([d.value for d in DentalResult], DENTAL),
                required=True,
            ),
        ),
    ),
    "bta_stop": FormSpec(
        "stop",
        "bta_stop",
        ("停用骨改良药物", "BTA stopped"),
        (
            DATE,
            Field(
                "reason",
                ("原因", "Reason"),
                choices=_choices([s.value for s in StopReason], STOPS),
                required=True,
            ),
        ),
    ),
}
"""The form of every family an entry can be corrected with (mdt entries are the MDT
module's)."""

VOCABULARIES: Final = (
    AdverseEventKind,
    Alignment,
    BiopsyResult,
    Collapse,
    LesionKind,
    MedicationAction,
    MedicationClass,
    Posterolateral,
    SreKind,
    TreatmentKind,
    VisceralMetastasis,
)
"""The record format's vocabularies the choices above spell out (tests check they agree)."""


# ---- reading a submitted form ------------------------------------------------------------------


def _number(value: str) -> float | str | Problem:
    from bonepath.interop.values import CellRefusal, parse_number

    found = parse_number(value)
    if isinstance(found, CellRefusal):
        return Problem("", "AMBIGUOUS_VALUE", found.en)
    return value.strip() if found is None else found


def read_entry(
    spec: FormSpec, form: Mapping[str, str], lists: Mapping[str, list[str]], where: str
) -> tuple[dict[str, Any], list[Problem]]:
    """The entry a submitted form describes (record v1 JSON), and the numbers that could mean
    two things (``3,0``) as problems by path; the rest is the record parser's to judge."""
    entry: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in spec.fields:
        if f.kind == "multi":
            values = [v for v in lists.get(f.name, []) if v]
            if values:
                entry[f.name] = values
            continue
        raw = (form.get(f.name) or "").strip()
        if not raw:
            continue
        if f.kind == "bool":
            entry[f.name] = raw == "yes"
        elif f.kind in ("number", "int") or (
            f.kind == "select" and raw.isdigit() and f.name != "level"
        ):
            found = _number(raw)
            if isinstance(found, Problem):
                problems.append(dataclasses.replace(found, path=f"{where}/{f.name}"))
                continue
            if f.kind != "number" and isinstance(found, float) and found.is_integer():
                found = int(found)
            entry[f.name] = found
        else:
            entry[f.name] = raw
    return entry, problems


# ---- what the page shows ---------------------------------------------------------------------------


def _unit(f: Field, lang: str) -> str:
    if "|" in f.unit:
        zh, en = f.unit.split("|", 1)
        return en if lang == "en" else zh
    return f.unit


def entry_text(family: str, entry: Mapping[str, Any] | None, lang: str) -> str:
    """An entry in words: ``骨痛评分（NRS 0–10） 6 · 疼痛部位 股骨``."""
    if not entry:
        return "—"
    spec = EDIT_SPECS.get(family)
    if spec is None:
        return ", ".join(f"{k} {v}" for k, v in entry.items())
    parts: list[str] = []
    for f in spec.fields:
        value = entry.get(f.name)
        if value is None or value == []:
            continue
        labels = dict(f.choices)
        if isinstance(value, list):
            shown = "、".join(text(labels.get(v, (v, v)), lang) for v in value)
        elif isinstance(value, bool):
            shown = text(("是", "yes") if value else ("否", "no"), lang)
        elif f.kind in ("select",) and str(value) in labels:
            shown = text(labels[str(value)], lang)
        elif isinstance(value, float):
            shown = f"{value:g}"
        else:
            shown = str(value)
        unit = _unit(f, lang)
        if f.name == "value" and entry.get("unit"):
            unit = ""
        if f.name == "date":
            parts.insert(0, shown)
            continue
        parts.append(
            f"{text(f.label, lang)} {shown}{(' ' + unit) if unit and unit != '%' else unit}"
        )
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One entry of the record as the timeline lists it, with what correcting it needs."""

    family: str
    index: int
    date: dt.date | None
    text: str
    fingerprint: str
    author: str | None


def entry_rows(record: Record, revisions: Sequence[Revision], lang: str) -> list[EntryRow]:
    """Every correctable entry (events with a form, lesions, the cancer's visceral status)."""
    from bonepath.record.history import author_of

    data = record.to_json_dict()
    rows: list[EntryRow] = []
    for family in EDIT_SPECS:
        if family == "cancer":
            cancer = data.get("cancer") or {}
            if "visceral_metastasis" in cancer:
                shown = {"visceral_metastasis": cancer["visceral_metastasis"]}
                fp = entries.fingerprint(cancer)
                who = author_of(revisions, family, cancer)
                rows.append(EntryRow(family, 0, None, entry_text(family, shown, lang), fp, who))
            continue
        if family == "lesions":
            items = (data.get("bone_metastasis") or {}).get("lesions") or []
        else:
            items = (data.get("events") or {}).get(family) or []
        for i, item in enumerate(items):
            day = dt.date.fromisoformat(item["date"]) if "date" in item else None
            rows.append(
                EntryRow(
                    family,
                    i,
                    day,
                    entry_text(family, item, lang),
                    entries.fingerprint(item),
                    author_of(revisions, family, item),
                )
            )
    rows.sort(key=lambda r: (r.date or dt.date.max, r.family), reverse=True)
    return rows


@dataclass
class FormView:
    """A form as the template renders it: its spec, values to pre-fill, errors by field."""

    spec: FormSpec
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    open: bool = False
    hidden: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def value(self, name: str) -> str:
        """A single field's value as the form shows it (``yes``/``no`` for booleans)."""
        found = self.values.get(name)
        if isinstance(found, bool):
            return "yes" if found else "no"
        if isinstance(found, float):
            return f"{found:g}"
        return "" if found is None or isinstance(found, list) else str(found)

    def chosen(self, name: str) -> list[str]:
        """A multi-select field's values."""
        found = self.values.get(name)
        if isinstance(found, list | tuple):
            return [str(x) for x in found]
        return [] if found in (None, "") else [str(found)]


def _latest(items: Sequence[Any]) -> Any | None:
    return max(items, key=lambda e: e.date) if items else None


def prefill(
    spec: FormSpec, record: Record, query: Mapping[str, str], today: dt.date
) -> dict[str, Any]:
    """What the record already knows for ``spec``'s form (and what the asking finding named)."""
    values: dict[str, Any] = {"date": today.isoformat()}
    ev = record.events
    if spec.name == "supplements" and (s := _latest(ev.supplements)):
        values.update(calcium_mg_daily=s.calcium_mg_daily, vitamin_d_iu_daily=s.vitamin_d_iu_daily)
    elif spec.name == "performance" and (p := _latest(ev.performance)):
        values.update(ecog=p.ecog, kps=p.kps, life_expectancy_months=p.life_expectancy_months)
    elif spec.name == "vitals" and (v := _latest(ev.vitals)):
        values.update(weight_kg=v.weight_kg, height_cm=v.height_cm)
    elif spec.name == "pain" and (s2 := _latest(ev.symptoms)):
        values.update(
            pain_sites=[x.value for x in s2.pain_sites],
            neuro_deficit=s2.neuro_deficit,
            frankel=s2.frankel.value if s2.frankel else None,
        )
    elif spec.name == "cancer" and record.cancer.visceral_metastasis:
        values["visceral_metastasis"] = record.cancer.visceral_metastasis.value
    elif spec.name == "lesion":
        lesions = record.bone_metastasis.lesions if record.bone_metastasis else ()
        index = query.get("lesion", "")
        if index.isdigit() and int(index) < len(lesions):
            values.update(lesions[int(index)].model_dump(mode="json", exclude_none=True))
    return {k: v for k, v in values.items() if v is not None}


def _field_of(path: str, spec: FormSpec) -> str:
    """The form field a problem belongs next to (``_general`` when it is about the entry)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name if name == "reason" or any(f.name == name for f in spec.fields) else "_general"


def form_views(
    record: Record,
    lang: str,
    today: dt.date,
    query: Mapping[str, str],
    submitted: Mapping[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    open_form: str | None = None,
) -> list[FormView]:
    """The add forms of the page, the one asked for (``?form=``) open and pre-filled, a
    refused one with what was typed and its problems next to the fields."""
    from bonepath.record.problem_text import explain

    wanted = open_form or query.get("form")
    views: list[FormView] = []
    for name, spec in FORMS.items():
        view = FormView(spec, prefill(spec, record, query, today), open=name == wanted)
        if spec.name == "lesion":
            index = query.get("lesion", "")
            lesions = record.bone_metastasis.lesions if record.bone_metastasis else ()
            if index.isdigit() and int(index) < len(lesions):
                lesion = lesions[int(index)].model_dump(
                    mode="json", by_alias=True, exclude_none=True
                )
                view.hidden = {"index": index, "fingerprint": entries.fingerprint(lesion)}
                view.note = (
                    f"补录第 {int(index) + 1} 个病灶的详情"
                    if lang != "en"
                    else f"Details of lesion {int(index) + 1}"
                )
        if spec.name == "cancer":
            cancer = record.cancer.model_dump(mode="json", by_alias=True, exclude_none=True)
            view.hidden = {"fingerprint": entries.fingerprint(cancer)}
        if name == open_form and submitted is not None:
            view.values = dict(submitted)
            view.hidden = {
                k: str(submitted[k]) for k in ("index", "fingerprint") if submitted.get(k)
            }
            for p in problems:
                view.errors.setdefault(_field_of(p.path, spec), []).append(
                    explain(p, "en" if lang == "en" else "zh")
                )
        views.append(view)
    return views


def edit_view(
    record: Record,
    lang: str,
    edit: str,
    submitted: Mapping[str, Any] | None = None,
    problems: Sequence[Problem] = (),
) -> FormView | None:
    """The correction form of entry ``family:index`` (``?edit=labs:3``), pre-filled with it."""
    from bonepath.record.history import entries as entries_of
    from bonepath.record.problem_text import explain

    family, _, index = edit.partition(":")
    spec = EDIT_SPECS.get(family)
    if spec is None or not index.isdigit():
        return None
    data = record.to_json_dict()
    if family == "cancer":
        entry = data.get("cancer")
    else:
        items = entries_of(data, family)
        entry = items[int(index)] if int(index) < len(items) else None
    if not entry:
        return None
    values = dict(submitted) if submitted is not None else dict(entry)
    view = FormView(
        spec,
        values,
        open=True,
        hidden={"family": family, "index": index, "fingerprint": entries.fingerprint(entry)},
        note=entry_text(family, entry, lang),
    )
    for p in problems:
        view.errors.setdefault(_field_of(p.path, spec), []).append(
            explain(p, "en" if lang == "en" else "zh")
        )
    return view


ANSWERS: Final[Mapping[str, str]] = {
    "PAIN": "pain",
    "SAFE-06": "supplements",
    "SAFE-11": "adverse_events",
    "SAFE-12": "medications",
    "SAFE-01": "labs",
    "SAFE-05": "labs",
    "SAFE-13": "labs",
    "SAFE-14": "labs",
    "SAFE-15": "labs",
    "SAFE-08": "dental",
    "SAFE-09": "dental",
    "RT": "treatments",
    "ADH": "bta",
    "SCR": "imaging",
    "DX": "imaging",
}
"""The form that answers a rule (by id, else by family); SURG, SCORE-CG and PAIN-05 below."""
MISSING_FORMS: Final[Mapping[str, tuple[str, dict[str, str]]]] = {
    "weight_kg": ("vitals", {}),
    "creatinine": ("labs", {"test": "creatinine"}),
    "kps": ("performance", {}),
    "visceral_metastasis": ("cancer", {}),
    "frankel": ("pain", {}),
}
FORM_TITLES: Final[Mapping[str, Pair]] = {
    **{name: spec.title for name, spec in FORMS.items()},
    "labs": ("检验结果", "laboratory result"),
    "dental": ("口腔检查", "dental examination"),
    "bta": ("给药记录", "dose"),
    "imaging": ("影像检查", "imaging"),
}
LAB_OF_RULE: Final = {
    "SAFE-01": "creatinine",
    "SAFE-13": "creatinine",
    "SAFE-05": "calcium",
    "SAFE-14": "calcium",
    "SAFE-15": "calcium",
}


@dataclass(frozen=True, slots=True)
class AnswerLink:
    label: str
    url: str


def answer_links(finding: Finding, record: Record, lang: str) -> list[AnswerLink]:
    """Where a finding is answered: the form of the fact it asks for, pre-filled (a SURG item
    opens its lesion; SCORE-CG's missing weight the weight form, its creatinine the lab form
    set to creatinine)."""
    from bonepath.web.pages import patient_url

    def link(form: str, **query: str) -> AnswerLink:
        title = text(FORM_TITLES.get(form, (form, form)), lang)
        label = f"录入{title}" if lang != "en" else f"Record {title}"
        url = patient_url(record.source, record.id, form=form, **query) + f"#form-{form}"
        return AnswerLink(label, url)

    rule, family = finding.rule, finding.rule.split("-", 1)[0]
    missing = finding.values.get("missing") or []
    if rule in ("SURG-01", "SURG-02", "SURG-05") and finding.item is not None:
        return [link("lesion", lesion=finding.item)]
    if rule in ("SURG-03", "SCORE-CG") and missing:
        seen: list[AnswerLink] = []
        for key in missing:
            if key in MISSING_FORMS:
                form, query = MISSING_FORMS[key]
                candidate = link(form, **query)
                if candidate not in seen:
                    seen.append(candidate)
        return seen
    if rule == "PAIN-05":
        return [link("medications"), link("treatments")]
    answer = ANSWERS.get(rule) or ANSWERS.get(family)
    if answer is None:
        return []
    if answer == "labs" and rule in LAB_OF_RULE:
        return [link("labs", test=LAB_OF_RULE[rule])]
    return [link(answer)]


# ---- routes ------------------------------------------------------------------------------------


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    form = await request.form()
    single = {k: v for k, v in form.items() if isinstance(v, str)}
    lists = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    return single, lists


def _refused(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    source: str,
    patient_id: str,
    problems: Sequence[Problem],
    *,
    open_form: str | None = None,
    submitted: Mapping[str, Any] | None = None,
    edit: str | None = None,
) -> HTMLResponse:
    from bonepath.web import pages

    page = pages.patient_context(request, context, principal, source, patient_id, None)
    lang = pages.request_lang(request)
    page["problems"] = list(problems)
    page["open_form"] = open_form or "none"
    if edit:
        page["edit_form"] = edit_view(page["record"], lang, edit, submitted, problems)
    else:
        page["record_forms"] = form_views(
            page["record"], lang, context.today(), {}, submitted, problems, open_form
        )
    deps.audit(
        request,
        principal,
        "entry.refused",
        patient=(source, patient_id),
        hospital=services.hospital_of(page["record"]),
        outcome="refused",
    )
    return pages.render(request, "patient.html", page, status=422)


@router.post("/patients/{source}/{patient_id:path}/record", response_class=HTMLResponse)
async def add_record_entry(
    request: Request, context: Context, principal: Writer, source: Source, patient_id: PatientId
) -> Response:
    """Add an entry from one of :data:`FORMS` (``form`` field); a lesion form with ``index``
    completes or corrects that lesion, the cancer form sets the visceral metastases."""
    from bonepath.web.pages import patient_url

    single, lists = await _form(request)
    spec = FORMS.get(single.get("form", ""))
    if spec is None:
        raise NotFound("no such form")
    try:
        record = services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        deps.audit_denied(request, principal, f"event.{spec.family}", patient=(source, patient_id))
        raise
    index = single.get("index", "")
    where = f"/events/{spec.family}/-" if spec.family not in ("lesions", "cancer") else "/entry"
    entry, problems = read_entry(spec, single, lists, where)
    try:
        if problems:
            raise RecordRefused(problems)
        if spec.family == "cancer":
            current = record.cancer.model_dump(mode="json", by_alias=True, exclude_none=True)
            written = entries.change_entry(
                context.store,
                principal,
                record,
                "cancer",
                0,
                single.get("fingerprint", ""),
                {**current, **entry},
                single.get("reason"),
                today=context.today(),
            )
        elif spec.family == "lesions" and index.isdigit():
            written = entries.change_entry(
                context.store,
                principal,
                record,
                "lesions",
                int(index),
                single.get("fingerprint", ""),
                entry,
                single.get("reason"),
                today=context.today(),
            )
        else:
            written = entries.add_entry(
                context.store, principal, record, spec.family, entry, today=context.today()
            )
    except RecordRefused as exc:
        submitted: dict[str, Any] = {**single, **{k: v for k, v in lists.items() if len(v) > 1}}
        for f in spec.fields:
            if f.kind == "multi":
                submitted[f.name] = lists.get(f.name, [])
        return _refused(
            request,
            context,
            principal,
            source,
            patient_id,
            exc.problems,
            open_form=spec.name,
            submitted=submitted,
        )
    deps.audit(
        request,
        principal,
        f"event.{spec.family}"
        if written.revision.action == "add"
        else f"entry.{written.revision.action}",
        patient=(source, patient_id),
        hospital=services.hospital_of(written.record),
        detail=f"{spec.family}: {canonical(written.revision.after).decode()[:400]}",
    )
    return RedirectResponse(patient_url(source, patient_id, saved=spec.name), status_code=303)


@router.post("/patients/{source}/{patient_id:path}/entry", response_class=HTMLResponse)
async def change_record_entry(
    request: Request, context: Context, principal: Writer, source: Source, patient_id: PatientId
) -> Response:
    """Correct (``action=correct``, the entry's fields) or void (``action=void``) one entry
    (``family``, ``index``, ``fingerprint`` of the entry read), with a reason; audited as
    ``entry.correct`` / ``entry.void`` with the entry before and after."""
    from bonepath.web.pages import patient_url

    single, lists = await _form(request)
    family, index = single.get("family", ""), single.get("index", "")
    spec = EDIT_SPECS.get(family)
    if spec is None or not index.isdigit():
        raise NotFound("no such entry")
    try:
        record = services.load_patient(context.store, principal, source, patient_id)
    except NotFound:
        deps.audit_denied(request, principal, "entry.change", patient=(source, patient_id))
        raise
    void = single.get("action") == "void"
    where = entries._path(family, index)
    new: dict[str, Any] | None = None
    problems: list[Problem] = []
    if not void:
        new, problems = read_entry(spec, single, lists, where)
        if family == "cancer":
            current = record.cancer.model_dump(mode="json", by_alias=True, exclude_none=True)
            new = {**current, **new}
    try:
        if problems:
            raise RecordRefused(problems)
        written = entries.change_entry(
            context.store,
            principal,
            record,
            family,
            int(index),
            single.get("fingerprint", ""),
            new,
            single.get("reason"),
            today=context.today(),
        )
    except RecordRefused as exc:
        submitted: dict[str, Any] = dict(single)
        for f in spec.fields:
            if f.kind == "multi":
                submitted[f.name] = lists.get(f.name, [])
        return _refused(
            request,
            context,
            principal,
            source,
            patient_id,
            exc.problems,
            edit=f"{family}:{index}",
            submitted=submitted,
        )
    revision = written.revision
    deps.audit(
        request,
        principal,
        f"entry.{revision.action}",
        patient=(source, patient_id),
        hospital=services.hospital_of(written.record),
        detail=(
            f"{family} {canonical(revision.before).decode()[:300]} -> "
            f"{canonical(revision.after).decode()[:300] if revision.after else 'void'}; "
            f"reason: {revision.reason or ''}"
        )[:1000],
    )
    return RedirectResponse(
        patient_url(source, patient_id, saved="voided" if void else "corrected"), status_code=303
    )


def page_extras(
    store: Any,
    record: Record,
    findings: Sequence[Finding],
    lang: str,
    today: dt.date,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """What the patient page needs of this module: the add forms (``?form=`` open and
    pre-filled), the correction form (``?edit=family:index``), every entry with its
    correct/void link, the history of corrections and voids, each finding's answer links,
    values and citations in the page's language."""
    from bonepath.store.revisions import revisions_of
    from bonepath.web import clinical

    revisions = revisions_of(store.engine, record.source, record.id)
    edit = query.get("edit")
    return {
        "record_forms": form_views(record, lang, today, query),
        "edit_form": edit_view(record, lang, edit) if edit else None,
        "entry_rows": entry_rows(record, revisions, lang),
        "history": [
            {
                "revision": r,
                "family": text(EDIT_SPECS[r.family].title, lang)
                if r.family in EDIT_SPECS
                else r.family,
                "before": entry_text(r.family, r.before, lang),
                "after": entry_text(r.family, r.after, lang) if r.after else None,
            }
            for r in reversed(revisions)
            if r.action != "add"
        ],
        "record_forms_names": tuple(FORMS),
        "entry_titles": {family: text(spec.title, lang) for family, spec in EDIT_SPECS.items()},
        "answers": [answer_links(f, record, lang) for f in findings],
        "shown_values": [clinical.finding_values(f, lang) for f in findings],
        "finding_values": clinical.finding_values,
        "problem_field": clinical.problem_field,
        "citations": {f.rule: clinical.citations(f.rule, lang) for f in findings},
    }
