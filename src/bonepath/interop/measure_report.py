"""FHIR R4 ``MeasureReport`` export of the quality indicators (QC-01..QC-15).

One ``summary`` MeasureReport per measure: the period, the numerator and denominator counts
(``measure-population`` codes), the rate as ``measureScore`` (a proportion, UCUM ``1``;
absent when the denominator is 0 or the numerator unknown), the improvement notation, and one
stratifier per stratum key of interfaces.md (hospital, city tier, hospital type, department,
physician title, month) with every stratum value — small strata included, flagged by an
extension. Every resource is validated by its fhir.resources R4B model before it is returned;
:func:`measure_bundle` wraps them in a ``collection`` Bundle.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport

from bonepath.quality.measures import STRATA, STRATUM_NAMES
from bonepath.quality.results import MeasureResult, QualityReport, StratumResult

MEASURE_BASE: Final = "urn:bonepath:Measure/"
"""Canonical of each measure: ``urn:bonepath:Measure/QC-01``."""

POPULATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
STRATUM_SYSTEM: Final = "urn:bonepath:quality-stratum"
SMALL_EXTENSION: Final = "urn:bonepath:fhir:StructureDefinition/small-stratum"
BASELINE_EXTENSION: Final = "urn:bonepath:fhir:StructureDefinition/whitepaper-baseline"
NAMESPACE: Final = uuid.UUID("6f4f7f0e-4a8b-4d4e-9a59-6b0a1f7c2b11")


def _populations(numerator: int | None, denominator: int) -> list[dict[str, Any]]:
    out = []
    for code, count in (("numerator", numerator), ("denominator", denominator)):
        entry: dict[str, Any] = {"code": {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}}
        if count is not None:
            entry["count"] = count
        out.append(entry)
    return out


def _score(rate: float | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {
        "value": round(rate, 6),
        "unit": "proportion",
        "system": "http://unitsofmeasure.org",
        "code": "1",
    }


def _stratum(s: StratumResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": {"text": s.value if s.value is not None else "unknown"},
        "population": _populations(s.numerator, s.denominator),
        "extension": [{"url": SMALL_EXTENSION, "valueBoolean": s.small}],
    }
    score = _score(s.rate)
    if score is not None:
        out["measureScore"] = score
    return out


def report_id(result: MeasureResult, report: QualityReport) -> str:
    """A stable id: the same measure, period and scope give the same id."""
    key = f"{result.id}|{report.start}|{report.end}|{','.join(report.hospitals)}"
    return str(uuid.uuid5(NAMESPACE, key))


def measure_report(
    result: MeasureResult, report: QualityReport, *, generated: dt.datetime
) -> dict[str, Any]:
    """The MeasureReport of one measure as FHIR JSON (validated by the R4B model)."""
    m = result.measure
    group: dict[str, Any] = {
        "code": {
            "coding": [
                {"system": "urn:bonepath:quality-measure", "code": m.id, "display": m.name.en}
            ],
            "text": m.name.zh,
        },
        "population": _populations(result.numerator, result.denominator),
        "stratifier": [],
    }
    score = _score(result.rate)
    if score is not None:
        group["measureScore"] = score
    for by in STRATA:
        strata = result.by(by)
        if not strata:
            continue
        group["stratifier"].append(
            {
                "code": [
                    {
                        "coding": [
                            {"system": STRATUM_SYSTEM, "code": by, "display": STRATUM_NAMES[by].en}
                        ],
                        "text": STRATUM_NAMES[by].zh,
                    }
                ],
                "stratum": [_stratum(s) for s in strata],
            }
        )
    if not group["stratifier"]:
        del group["stratifier"]
    data: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": report_id(result, report),
        "status": "complete",
        "type": "summary",
        "measure": f"{MEASURE_BASE}{m.id}",
        "date": generated.isoformat(),
        "period": {"start": report.start.isoformat(), "end": report.end.isoformat()},
        "improvementNotation": {"coding": [{"system": IMPROVEMENT_SYSTEM, "code": m.improvement}]},
        "group": [group],
    }
    if m.baseline is not None:
        data["extension"] = [{"url": BASELINE_EXTENSION, "valueDecimal": m.baseline}]
    if report.hospitals:
        data["subject"] = {"display": ", ".join(report.hospitals)}
    model = MeasureReport.model_validate(data)
    return _json(model)


QUARTILE_EXTENSION: Final = "urn:bonepath:fhir:StructureDefinition/quartile"
REFERRAL_STATE_SYSTEM: Final = "urn:bonepath:mdt-referral-state"


def _days_score(value: float | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": value, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}


def _quartiles(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "url": QUARTILE_EXTENSION,
            "extension": [
                {"url": "quartile", "valueInteger": q},
                {"url": "value", "valueDecimal": d[key]},
            ],
        }
        for q, key in ((1, "p25"), (3, "p75"))
        if d[key] is not None
    ]


def _count(code: str, count: int, system: str = POPULATION_SYSTEM) -> dict[str, Any]:
    return {"code": {"coding": [{"system": system, "code": code}]}, "count": count}


def mdt_measure_reports(report: QualityReport, *, generated: dt.datetime) -> list[dict[str, Any]]:
    """QC-13/QC-14 as continuous-variable MeasureReports (the cases as ``initial-population``
    and ``measure-observation``, the median days as ``measureScore`` (UCUM ``d``), quartiles
    by extension); QC-15 as one stratified by city tier (referrals sent as
    ``initial-population``; answered, accepted, revoked as counts of
    ``urn:bonepath:mdt-referral-state``; the median days to the answer as the score)."""
    if report.mdt is None:
        return []
    from bonepath.quality.mdt_indicators import DISTRIBUTIONS, NAMES

    out = []
    for qc in (*DISTRIBUTIONS, "QC-15"):
        group: dict[str, Any] = {
            "code": {
                "coding": [
                    {"system": "urn:bonepath:quality-measure", "code": qc, "display": NAMES[qc].en}
                ],
                "text": NAMES[qc].zh,
            }
        }
        if qc in DISTRIBUTIONS:
            d = report.mdt[qc]
            group["population"] = [
                _count("initial-population", d["n"]),
                _count("measure-observation", d["n"]),
            ]
            score = _days_score(d["median"])
            if score is not None:
                group["measureScore"] = score
            if _quartiles(d):
                group["extension"] = _quartiles(d)
            improvement = "decrease"  # fewer days is better
        else:
            tiers = report.mdt["QC-15"]
            group["population"] = [_count("initial-population", sum(r["referred"] for r in tiers))]
            strata = []
            for row in tiers:
                stratum: dict[str, Any] = {
                    "value": {"text": row["city_tier"] or "unknown"},
                    "population": [
                        _count("initial-population", row["referred"]),
                        *(
                            _count(state, row[state], REFERRAL_STATE_SYSTEM)
                            for state in ("answered", "accepted", "revoked")
                        ),
                    ],
                }
                score = _days_score(row["days_to_answer"]["median"])
                if score is not None:
                    stratum["measureScore"] = score
                strata.append(stratum)
            if strata:
                group["stratifier"] = [
                    {
                        "code": [
                            {
                                "coding": [
                                    {
                                        "system": STRATUM_SYSTEM,
                                        "code": "city_tier",
                                        "display": STRATUM_NAMES["city_tier"].en,
                                    }
                                ],
                                "text": STRATUM_NAMES["city_tier"].zh,
                            }
                        ],
                        "stratum": strata,
                    }
                ]
            improvement = "increase"  # the network's use
        key = f"{qc}|{report.start}|{report.end}|{','.join(report.hospitals)}"
        data: dict[str, Any] = {
            "resourceType": "MeasureReport",
            "id": str(uuid.uuid5(NAMESPACE, key)),
            "status": "complete",
            "type": "summary",
            "measure": f"{MEASURE_BASE}{qc}",
            "date": generated.isoformat(),
            "period": {"start": report.start.isoformat(), "end": report.end.isoformat()},
            "improvementNotation": {
                "coding": [{"system": IMPROVEMENT_SYSTEM, "code": improvement}]
            },
            "group": [group],
        }
        if report.hospitals:
            data["subject"] = {"display": ", ".join(report.hospitals)}
        out.append(_json(MeasureReport.model_validate(data)))
    return out


def measure_bundle(report: QualityReport, *, generated: dt.datetime) -> dict[str, Any]:
    """Every measure's MeasureReport in one ``collection`` Bundle (QC-13..15 too when the
    report carries them)."""
    entries = []
    for result in report.measures:
        resource = measure_report(result, report, generated=generated)
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    for resource in mdt_measure_reports(report, generated=generated):
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": generated.isoformat(),
            "entry": entries,
        }
    )
    return _json(bundle)


def _json(model: Any) -> dict[str, Any]:
    import orjson

    data: dict[str, Any] = orjson.loads(model.model_dump_json())
    return data
