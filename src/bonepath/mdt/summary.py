"""The case summary: generated from the record at referral, then frozen (issue 16 item 1).

One run of the point-of-care plan (:mod:`bonepath.engine.sqlite_runner`) gives the findings and,
from the same run, the per-lesion scores (Mirels, SINS: ``rules/lesion_scores``), the revised
Tokuhashi total and the derived facts (CrCl, corrected calcium, the BTA course), so the summary
says exactly what the rules saw that day; nothing is recomputed in Python.

The summary is a JSON document (``SUMMARY_FORMAT``) stored with the case and never regenerated:
later changes to the record do not change what the MDT was shown. It holds no name, phone,
address or birth date (age only); the patient's ids stay on the case, not in the summary.

Keys::

    format, as_of, patient: {age_years, sex, histology, stage, tnm, drivers{gene: status},
        setting, diagnosis_date, visceral_metastasis, ecog, kps},
    bone: {status, confirmed_date, lesion_count},
    lesions: [{site, level, kind, size_mm, cortical_involvement_pct, mirels, mirels_missing[],
        sins, sins_missing[]}],
    tokuhashi: {total, missing[]} | null,
    renal: {creatinine: {value, unit, date} | null, crcl_ml_min, weight_kg},
    calcium: {corrected, unit, date, recent} | null,
    bta: {active, current_drug, doses[{date, drug, dose_mg, route}], stops[{date, reason}],
        plan{drug, interval_days} | null, first_dose_date, last_dose_date},
    imaging: [{date, modality, region, result, sites[], bone_window_reviewed,
        bone_window_source, report_text}],
    pain: {date, nrs, sites[], mechanical, neuro_deficit, strong_opioid_active} | null,
    findings: [{rule, kind, severity, title{zh,en}, due, values{}, sources[]}]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bonepath.engine.evaluate import findings_from_rows, point_of_care_runner
from bonepath.engine.findings import Finding
from bonepath.record.columns import derive_imaging, to_columns
from bonepath.record.model import Record

SUMMARY_FORMAT: Final = "bonepath-mdt-summary/1"
LESION_STAGE: Final = "shared_lesion_scores_lesions"
TOKUHASHI_STAGE: Final = "shared_surgery_tokuhashi"
MAX_IMAGING: Final = 12
"""The summary lists at most this many exams, newest first."""
MAX_DOSES: Final = 24


def _codes(text: Any) -> list[str]:
    """A code list as the plan carries it (``"a,b,"``)."""
    if not text:
        return []
    return [c for c in str(text).split(",") if c]


def _day(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _facts_stage(names: Sequence[str]) -> str:
    facts = [n for n in names if n.startswith("facts_")]
    return facts[-1]


def case_summary(record: Record, as_of: dt.date) -> dict[str, Any]:
    """The summary of ``record`` as it stood on ``as_of`` (the referral day)."""
    runner = point_of_care_runner()
    facts_name = _facts_stage(runner.stage_names())
    rows, stages = runner.run_with_stages(
        to_columns([(1, record)]), [(1, as_of)], (facts_name, LESION_STAGE, TOKUHASHI_STAGE)
    )
    findings = findings_from_rows(rows, runner.catalogue).get(1, [])
    facts = next(iter(stages[facts_name]), {})
    toku = next(iter(stages[TOKUHASHI_STAGE]), None)
    return build_summary(record, as_of, facts, stages[LESION_STAGE], toku, findings)


def build_summary(
    record: Record,
    as_of: dt.date,
    facts: Mapping[str, Any],
    lesion_rows: Sequence[Mapping[str, Any]],
    tokuhashi: Mapping[str, Any] | None,
    findings: Sequence[Finding],
) -> dict[str, Any]:
    """The summary document from one run's stages (see the module docstring for the keys)."""
    cancer = record.cancer
    ev = record.events
    bone = record.bone_metastasis
    drivers = {g.value: s.value for g, s in (cancer.drivers or {}).items()}
    lesions = [
        {
            "site": row.get("site"),
            "level": row.get("level"),
            "kind": row.get("kind"),
            "size_mm": _num(row.get("size_mm")),
            "cortical_involvement_pct": _num(row.get("cortical_involvement_pct")),
            "mirels": row.get("mirels") if row.get("is_long") else None,
            "mirels_missing": _codes(row.get("mirels_missing")) if row.get("is_long") else [],
            "sins": row.get("sins") if row.get("is_spine") else None,
            "sins_missing": _codes(row.get("sins_missing")) if row.get("is_spine") else [],
        }
        for row in sorted(lesion_rows, key=lambda r: int(r.get("seq") or 0))
    ]
    toku = None
    if tokuhashi is not None and (
        tokuhashi.get("toku_total") is not None or tokuhashi.get("toku_missing")
    ):
        toku = {
            "total": tokuhashi.get("toku_total"),
            "missing": _codes(tokuhashi.get("toku_missing")),
        }
    creatinine = None
    scr = [lab for lab in ev.labs if lab.test.value == "creatinine" and lab.date <= as_of]
    if scr:
        latest = max(scr, key=lambda lab: lab.date)
        creatinine = {
            "value": float(latest.value),
            "unit": latest.unit,
            "date": latest.date.isoformat(),
        }
    calcium = None
    if facts.get("cca") is not None:
        calcium = {
            "corrected": _num(facts.get("cca")),
            "unit": facts.get("ca_unit"),
            "date": _day(facts.get("ca_date")),
            "recent": bool(facts.get("ca_recent")),
        }
    doses = sorted((d for d in ev.bta if d.date <= as_of), key=lambda d: d.date)
    stops = sorted((s for s in ev.bta_stop if s.date <= as_of), key=lambda s: s.date)
    exams = sorted((i for i in ev.imaging if i.date <= as_of), key=lambda i: i.date, reverse=True)
    imaging = []
    for exam in exams[:MAX_IMAGING]:
        derived = derive_imaging(
            exam.modality.value,
            exam.result.value if exam.result else None,
            exam.bone_window_reviewed,
            tuple(s.value for s in exam.sites),
            exam.report_text,
        )
        imaging.append(
            {
                "date": exam.date.isoformat(),
                "modality": exam.modality.value,
                "region": exam.region.value if exam.region else None,
                "result": exam.result.value if exam.result else None,
                "sites": [s.value for s in exam.sites],
                "bone_window_reviewed": derived.bone_window_reviewed,
                "bone_window_source": derived.bone_window_source,
                "report_text": exam.report_text,
            }
        )
    pains = sorted((s for s in ev.symptoms if s.date <= as_of), key=lambda s: s.date)
    pain = None
    if pains:
        last = pains[-1]
        pain = {
            "date": last.date.isoformat(),
            "nrs": last.bone_pain,
            "sites": [s.value for s in last.pain_sites],
            "mechanical": last.mechanical_pain,
            "neuro_deficit": last.neuro_deficit,
            "strong_opioid_active": _bool(facts.get("strong_opioid_active")),
        }
    ordered = sorted(findings, key=lambda f: f.urgency_key())
    return {
        "format": SUMMARY_FORMAT,
        "as_of": as_of.isoformat(),
        "patient": {
            "age_years": facts.get("age_years"),
            "sex": record.sex.value,
            "histology": cancer.histology.value if cancer.histology else None,
            "stage": cancer.stage.value if cancer.stage else None,
            "tnm": cancer.tnm,
            "drivers": drivers,
            "setting": cancer.setting.value if cancer.setting else None,
            "diagnosis_date": cancer.diagnosis_date.isoformat(),
            "visceral_metastasis": (
                cancer.visceral_metastasis.value if cancer.visceral_metastasis else None
            ),
            "ecog": facts.get("ecog"),
            "kps": facts.get("kps"),
        },
        "bone": {
            "status": facts.get("status") or (bone.status.value if bone and bone.status else None),
            "confirmed_date": _day(facts.get("confirmed_date")),
            "lesion_count": len(bone.lesions) if bone else 0,
        },
        "lesions": lesions,
        "tokuhashi": toku,
        "renal": {
            "creatinine": creatinine,
            "crcl_ml_min": _num(facts.get("crcl")),
            "weight_kg": _num(facts.get("weight_kg")),
        },
        "calcium": calcium,
        "bta": {
            "active": bool(facts.get("active")),
            "current_drug": facts.get("current_drug"),
            "doses": [
                {
                    "date": d.date.isoformat(),
                    "drug": d.drug.value,
                    "dose_mg": float(d.dose_mg) if d.dose_mg is not None else None,
                    "route": d.route.value if d.route else None,
                }
                for d in doses[-MAX_DOSES:]
            ],
            "stops": [{"date": s.date.isoformat(), "reason": s.reason.value} for s in stops],
            "plan": (
                {"drug": record.bta_plan.drug.value, "interval_days": record.bta_plan.interval_days}
                if record.bta_plan
                else None
            ),
            "first_dose_date": _day(facts.get("first_dose_date")),
            "last_dose_date": _day(facts.get("last_dose_date")),
        },
        "imaging": imaging,
        "pain": pain,
        "findings": [f.to_json() | {"kind": f.kind.value} for f in ordered],
    }


def summary_findings(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The findings frozen in a summary (rule, title, due, values, sources)."""
    return list(summary.get("findings") or [])
