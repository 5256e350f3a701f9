"""Given / When / Then helpers for rule scenarios.

*Given* a patient (:class:`Patient`, an immutable builder of a format-v1 record: every method
returns a new builder, so one base can branch into many variants), *when* it is evaluated on a
day (:func:`scenario` registers ``(name, record, as_of)``; the session fixture in
``conftest.py`` evaluates every registered scenario in ONE :func:`evaluate_many` call), *then*
its findings are checked (:class:`Then`, from the ``then`` fixture).

Every record goes through the real parser (``parse_record``) with the real date pinned to
:data:`TODAY`, so every scenario is also a valid record; an invalid one fails at collection.
Dates are always written out, never computed from today.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any

from bonepath.engine.findings import Evaluation, Finding
from bonepath.record.model import Record
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)
"""The pinned real current date: no record date may be after it (VAL-01)."""

D = dt.date.fromisoformat
"""``D("2026-09-05")``: a date, for expected ``values``."""


def lesion(site: str, kind: str | None = "lytic", **fields: Any) -> dict[str, Any]:
    """One ``bone_metastasis.lesions`` item (``kind=None`` leaves the type unrecorded)."""
    item: dict[str, Any] = {"site": site}
    if kind is not None:
        item["kind"] = kind
    item.update(fields)
    return item


class Patient:
    """A format-v1 record under construction (immutable: each method returns a new one).

    The default is a man born 1966-01-01 with stage IV adenocarcinoma diagnosed 2026-01-10,
    setting ``advanced``, and nothing else recorded.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    # ---- who --------------------------------------------------------------------------------

    @classmethod
    def man(cls, born: str = "1966-01-01", pid: str = "T1") -> Patient:
        return cls._new("male", born, pid)

    @classmethod
    def woman(cls, born: str = "1966-01-01", pid: str = "T1") -> Patient:
        return cls._new("female", born, pid)

    @classmethod
    def _new(cls, sex: str, born: str, pid: str) -> Patient:
        return cls(
            {
                "format": "bonepath-record/1",
                "id": pid,
                "source": "test",
                "sex": sex,
                "birth_date": born,
                "cancer": {
                    "diagnosis_date": "2026-01-10",
                    "histology": "adenocarcinoma",
                    "stage": "IV",
                    "setting": "advanced",
                },
                "events": {},
            }
        )

    def _edit(self) -> tuple[Patient, dict[str, Any]]:
        data = copy.deepcopy(self.data)
        return Patient(data), data

    def with_(self, **fields: Any) -> Patient:
        """Top-level fields (``smoking``, ``comorbidities``, ``hospital``, ``death_date``...)."""
        new, data = self._edit()
        data.update(fields)
        return new

    def without(self, *fields: str) -> Patient:
        new, data = self._edit()
        for name in fields:
            data.pop(name, None)
        return new

    def died(self, day: str) -> Patient:
        return self.with_(death_date=day)

    # ---- the cancer ---------------------------------------------------------------------------

    def diagnosed(self, day: str, *, setting: str = "advanced", stage: str = "IV", **cancer: Any) -> Patient:
        new, data = self._edit()
        data["cancer"].update({"diagnosis_date": day, "setting": setting, "stage": stage, **cancer})
        return new

    def cancer(self, **fields: Any) -> Patient:
        new, data = self._edit()
        data["cancer"].update(fields)
        return new

    def drivers(self, **genes: str) -> Patient:
        new, data = self._edit()
        data["cancer"].setdefault("drivers", {}).update(genes)
        return new

    # ---- bone metastasis ----------------------------------------------------------------------

    def bone_status(self, status: str, confirmed_date: str | None = None, *lesions: dict[str, Any]) -> Patient:
        new, data = self._edit()
        bm: dict[str, Any] = {"status": status}
        if confirmed_date is not None:
            bm["confirmed_date"] = confirmed_date
        if lesions:
            bm["lesions"] = list(lesions)
        data["bone_metastasis"] = bm
        return new

    def confirmed(self, day: str | None, *lesions: dict[str, Any]) -> Patient:
        """``status: confirmed`` on ``day`` (``None``: no date recorded) with these lesions."""
        return self.bone_status("confirmed", day, *lesions)

    def suspected(self, *lesions: dict[str, Any]) -> Patient:
        return self.bone_status("suspected", None, *lesions)

    def no_bone_mets(self) -> Patient:
        return self.bone_status("none")

    def lesions(self, *items: dict[str, Any]) -> Patient:
        new, data = self._edit()
        data.setdefault("bone_metastasis", {})["lesions"] = list(items)
        return new

    # ---- events -------------------------------------------------------------------------------

    def event(self, table: str, day: str, **fields: Any) -> Patient:
        """Append one item to ``events[table]`` (``None`` fields are left out)."""
        new, data = self._edit()
        item = {"date": day, **{k: v for k, v in fields.items() if v is not None}}
        data["events"].setdefault(table, []).append(item)
        return new

    def drop_events(self, table: str) -> Patient:
        new, data = self._edit()
        data["events"].pop(table, None)
        return new

    def weight(self, day: str, kg: float) -> Patient:
        return self.event("vitals", day, weight_kg=kg)

    def lab(self, day: str, test: str, value: float, unit: str, **limits: float) -> Patient:
        return self.event("labs", day, test=test, value=value, unit=unit, **limits)

    def creatinine(self, day: str, value: float, unit: str = "mg/dL", **limits: float) -> Patient:
        return self.lab(day, "creatinine", value, unit, **limits)

    def calcium(self, day: str, value: float, unit: str = "mmol/L", **limits: float) -> Patient:
        return self.lab(day, "calcium", value, unit, **limits)

    def albumin(self, day: str, value: float, unit: str = "g/L") -> Patient:
        return self.lab(day, "albumin", value, unit)

    def imaging(
        self,
        day: str,
        modality: str,
        result: str = "negative",
        sites: Iterable[str] = (),
        *,
        region: str | None = None,
        **fields: Any,
    ) -> Patient:
        default_region = {"bone_scan": "whole_body", "pet_ct": "whole_body", "ct": "chest"}
        sites = list(sites)
        return self.event(
            "imaging",
            day,
            modality=modality,
            region=region or default_region.get(modality, "other"),
            result=result,
            sites=sites or None,
            **fields,
        )

    def bone_scan(self, day: str, result: str = "negative", *sites: str, **fields: Any) -> Patient:
        return self.imaging(day, "bone_scan", result, sites, **fields)

    def pet_ct(self, day: str, result: str = "negative", *sites: str, **fields: Any) -> Patient:
        return self.imaging(day, "pet_ct", result, sites, **fields)

    def ct(
        self, day: str, result: str = "negative", *sites: str, region: str = "chest", reviewed: bool | None = True, **fields: Any
    ) -> Patient:
        return self.imaging(day, "ct", result, sites, region=region, bone_window_reviewed=reviewed, **fields)

    def mri(self, day: str, result: str = "negative", *sites: str, **fields: Any) -> Patient:
        return self.imaging(day, "mri", result, sites, region=fields.pop("region", "spine"), **fields)

    def xray(self, day: str, result: str = "negative", *sites: str, **fields: Any) -> Patient:
        return self.imaging(day, "xray", result, sites, region=fields.pop("region", "other"), **fields)

    def biopsy(self, day: str, site: str, result: str = "metastatic_lung") -> Patient:
        return self.event("biopsy", day, site=site, result=result)

    def performance(
        self, day: str, *, ecog: int | None = None, kps: int | None = None, life_expectancy_months: float | None = None
    ) -> Patient:
        return self.event("performance", day, ecog=ecog, kps=kps, life_expectancy_months=life_expectancy_months)

    def symptoms(
        self,
        day: str,
        nrs: int | None = None,
        *sites: str,
        neuro: bool | None = None,
        mechanical: bool | None = None,
        frankel: str | None = None,
    ) -> Patient:
        return self.event(
            "symptoms",
            day,
            bone_pain=nrs,
            pain_sites=list(sites) or None,
            neuro_deficit=neuro,
            mechanical_pain=mechanical,
            frankel=frankel,
        )

    def dose(self, day: str, drug: str, mg: float | None = None, *, interval_days: int | None = None) -> Patient:
        standard = {"zoledronic_acid": 4.0, "denosumab": 120, "ibandronate": 6.0, "incadronate": 10.0, "pamidronate": 90.0}
        route = "sc" if drug == "denosumab" else "iv"
        return self.event(
            "bta", day, drug=drug, dose_mg=standard[drug] if mg is None else mg, route=route, interval_days=interval_days
        )

    def stop(self, day: str, reason: str) -> Patient:
        return self.event("bta_stop", day, reason=reason)

    def plan(self, drug: str, interval_days: int | None = None) -> Patient:
        new, data = self._edit()
        data["bta_plan"] = {"drug": drug, **({"interval_days": interval_days} if interval_days else {})}
        return new

    def supplements(self, day: str, calcium_mg: int, vitamin_d_iu: int) -> Patient:
        return self.event("supplements", day, calcium_mg_daily=calcium_mg, vitamin_d_iu_daily=vitamin_d_iu)

    def dental(self, day: str, result: str = "ok") -> Patient:
        return self.event("dental", day, result=result)

    def medication(self, day: str, cls: str, action: str = "start") -> Patient:
        return self.event("medications", day, **{"class": cls, "action": action})

    def treatment(self, day: str, kind: str, site: str | None = None, **fields: Any) -> Patient:
        return self.event("treatments", day, kind=kind, site=site, **fields)

    def adverse(self, day: str, kind: str, *, grade: int | None = None, stage: int | None = None) -> Patient:
        return self.event("adverse_events", day, kind=kind, grade=grade, stage=stage)

    def sre(self, day: str, kind: str) -> Patient:
        return self.event("sre", day, kind=kind)

    def mdt(self, day: str, decision: str = "discussed") -> Patient:
        return self.event("mdt", day, decision=decision, attendees=["oncology", "orthopedics"])

    # ---- out ----------------------------------------------------------------------------------

    def record(self) -> Record:
        return parse_record(copy.deepcopy(self.data), today=TODAY)


# ---- When: the scenario registry -------------------------------------------------------------

SCENARIOS: dict[str, tuple[Record, dt.date]] = {}
"""Every registered scenario, evaluated once per session (conftest.py ``evaluations``)."""

RAW: dict[str, dict[str, Any]] = {}
"""The record data of each scenario (for the golden-case export and the engine cross-check)."""


def scenario(name: str, patient: Patient, on: str) -> str:
    """When: evaluate ``patient`` on day ``on``; returns ``name`` for the test to look up."""
    if name in SCENARIOS:
        raise ValueError(f"scenario {name!r} registered twice")
    SCENARIOS[name] = (patient.record(), dt.date.fromisoformat(on))
    RAW[name] = copy.deepcopy(patient.data)
    return name


# ---- Then: assertions on one evaluation ------------------------------------------------------


class Then:
    """Assertions on the findings of one scenario."""

    def __init__(self, name: str, evaluation: Evaluation) -> None:
        self.name = name
        self.evaluation = evaluation

    @property
    def rules(self) -> set[str]:
        return {f.rule for f in self.evaluation.findings}

    def findings(self, rule: str) -> list[Finding]:
        return self.evaluation.fired(rule)

    def _why(self) -> str:
        return f"{self.name}: fired {sorted(self.rules)}"

    def fires(
        self,
        rule: str,
        values: dict[str, Any] | None = None,
        *,
        kind: str | None = None,
        severity: str | None = None,
        due: dt.date | None = None,
        item: str | None = None,
    ) -> Finding:
        """The one finding of ``rule`` (of ``item`` for per-item rules); ``values`` must equal
        its values exactly (keys and values), ``kind``/``severity``/``due`` likewise."""
        found = self.findings(rule)
        if item is not None:
            found = [f for f in found if f.values.get("site") == item or f.item == item]
        assert len(found) == 1, f"{rule} x{len(found)} (item {item}); {self._why()}"
        finding = found[0]
        if values is not None:
            assert finding.values == values, f"{self.name} {rule}: {finding.values} != {values}"
        if kind is not None:
            assert finding.kind.value == kind, f"{self.name} {rule}: kind {finding.kind.value}"
        if severity is not None:
            assert finding.severity.value == severity, f"{self.name} {rule}: severity {finding.severity.value}"
        if due is not None:
            assert finding.due == due, f"{self.name} {rule}: due {finding.due}"
        return finding

    def fires_items(self, rule: str, expected: list[dict[str, Any]]) -> None:
        """A per-item rule fires exactly once per expected values object (any order)."""
        got = sorted((f.values for f in self.findings(rule)), key=repr)
        assert got == sorted(expected, key=repr), f"{self.name} {rule}: {got}"

    def silent(self, *rules: str) -> None:
        loud = sorted(set(rules) & self.rules)
        assert not loud, f"{self.name}: {loud} must not fire; {self._why()}"

    def values(self, rule: str) -> dict[str, Any]:
        return self.fires(rule).values


# ---- presets -----------------------------------------------------------------------------------


def confirmed_man() -> Patient:
    """A man born 1966-01-01 (60 years old in 2026), stage IV adenocarcinoma diagnosed
    2026-06-01, bone metastasis (one lytic rib lesion) confirmed 2026-09-01, 54 kg (2026-09-01),
    SCr 1.0 mg/dL (2026-09-02), dental check 2026-09-03, no BTA yet.

    Cockcroft-Gault: (140 − 60) × 54 / (72 × 1.0) = 60.0 mL/min (zoledronic acid 3.5 mg).
    """
    return (
        Patient.man("1966-01-01")
        .diagnosed("2026-06-01")
        .confirmed("2026-09-01", lesion("rib"))
        .weight("2026-09-01", 54)
        .creatinine("2026-09-02", 1.0)
        .dental("2026-09-03")
    )
