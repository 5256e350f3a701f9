"""The record as columns: one table per event family, the shape the store and the engine share.

A registry is a set of tables keyed by an integer patient key ``pk`` (one row per patient in
``patients``; one row per event in each event table, ``seq`` = the event's index in its list,
so "the last in list order" of VAL-07 is ``max(seq)``). Nested lists become child tables
(``imaging_sites``, ``symptom_sites``). Lab values keep their original value and unit and add
``value_std`` in the canonical unit of :mod:`bonepath.units`.

A CT item's ``report_text`` is read by the report checker (:mod:`bonepath.imaging.report`, a
pure text analysis beside ``vocab`` and ``units``) when the record is flattened: the record
stays as typed, and the rule tables carry the *effective* values with where they came from
(:func:`imaging_derivation`; docs/imaging.md, clarifications C-28).

The table layout is data (:data:`TABLES`): the store's SQLAlchemy schema and the engine's
dataframe schemas are both built from it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

from bonepath.errors import InputError
from bonepath.imaging.report import SUSPICION_KINDS, ReportCheck, check_report
from bonepath.record.model import Imaging, Record
from bonepath.units import to_canonical
from bonepath.vocab import Comorbidity, Gene

ColumnType = Literal["int64", "float64", "string", "date", "boolean"]


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, ColumnType], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _spec(name: str, *columns: tuple[str, ColumnType]) -> TableSpec:
    return TableSpec(name, columns)


_EVENT_KEY: Final[tuple[tuple[str, ColumnType], ...]] = (
    ("pk", "int64"),
    ("seq", "int64"),
    ("date", "date"),
)

PATIENT_COLUMNS: Final[tuple[tuple[str, ColumnType], ...]] = (
    ("pk", "int64"),
    ("source", "string"),
    ("id", "string"),
    ("sex", "string"),
    ("birth_date", "date"),
    ("death_date", "date"),
    ("smoking", "string"),
    ("hospital_id", "string"),
    ("hospital_name", "string"),
    ("city_tier", "string"),
    ("hospital_type", "string"),
    ("department", "string"),
    ("physician_id", "string"),
    ("physician_title", "string"),
    ("comorbidities_recorded", "boolean"),
    *((f"comorbidity_{c.value}", "boolean") for c in Comorbidity),
    ("diagnosis_date", "date"),
    ("histology", "string"),
    ("stage", "string"),
    ("tnm", "string"),
    ("pd_l1_tps", "float64"),
    ("setting", "string"),
    ("surgery_date", "date"),
    ("recurrence_date", "date"),
    ("visceral_metastasis", "string"),
    *((f"driver_{g.value}", "string") for g in Gene),
    ("bm_status", "string"),
    ("bm_confirmed_date", "date"),
    ("plan_drug", "string"),
    ("plan_interval_days", "int64"),
)

TABLES: Final[dict[str, TableSpec]] = {
    spec.name: spec
    for spec in (
        TableSpec("patients", PATIENT_COLUMNS),
        _spec(
            "lesions",
            ("pk", "int64"),
            ("seq", "int64"),
            ("site", "string"),
            ("kind", "string"),
            ("size_mm", "float64"),
            ("cortical_involvement_pct", "float64"),
            ("level", "string"),
            ("peritrochanteric", "boolean"),
            ("alignment", "string"),
            ("collapse", "string"),
            ("posterolateral", "string"),
        ),
        _spec(
            "imaging",
            *_EVENT_KEY,
            ("modality", "string"),
            ("region", "string"),
            ("result", "string"),
            ("bone_window_reviewed", "boolean"),
            ("lesion_count", "int64"),
            ("report_text", "string"),
            ("bone_window_source", "string"),
            ("report_bone_window", "string"),
            ("report_evidence", "string"),
        ),
        _spec(
            "imaging_sites",
            ("pk", "int64"),
            ("seq", "int64"),
            ("site", "string"),
            ("result", "string"),
            ("source", "string"),
        ),
        _spec("biopsy", *_EVENT_KEY, ("site", "string"), ("result", "string")),
        _spec(
            "labs",
            *_EVENT_KEY,
            ("test", "string"),
            ("value", "float64"),
            ("unit", "string"),
            ("lln", "float64"),
            ("uln", "float64"),
            ("value_std", "float64"),
        ),
        _spec("vitals", *_EVENT_KEY, ("weight_kg", "float64"), ("height_cm", "float64")),
        _spec(
            "performance",
            *_EVENT_KEY,
            ("ecog", "int64"),
            ("kps", "int64"),
            ("life_expectancy_months", "float64"),
        ),
        _spec(
            "symptoms",
            *_EVENT_KEY,
            ("bone_pain", "int64"),
            ("neuro_deficit", "boolean"),
            ("mechanical_pain", "boolean"),
            ("frankel", "string"),
        ),
        _spec("symptom_sites", ("pk", "int64"), ("seq", "int64"), ("site", "string")),
        _spec(
            "bta",
            *_EVENT_KEY,
            ("drug", "string"),
            ("dose_mg", "float64"),
            ("route", "string"),
            ("interval_days", "int64"),
        ),
        _spec("bta_stop", *_EVENT_KEY, ("reason", "string")),
        _spec(
            "supplements",
            *_EVENT_KEY,
            ("calcium_mg_daily", "float64"),
            ("vitamin_d_iu_daily", "float64"),
        ),
        _spec("dental", *_EVENT_KEY, ("result", "string")),
        _spec("medications", *_EVENT_KEY, ("class", "string"), ("action", "string")),
        _spec(
            "treatments",
            *_EVENT_KEY,
            ("kind", "string"),
            ("site", "string"),
            ("dose_gy", "float64"),
            ("fractions", "int64"),
        ),
        _spec(
            "adverse_events",
            *_EVENT_KEY,
            ("kind", "string"),
            ("grade", "int64"),
            ("stage", "int64"),
        ),
        _spec("sre", *_EVENT_KEY, ("kind", "string")),
        _spec("mdt", *_EVENT_KEY, ("decision", "string"), ("attendees", "string")),
    )
}

TABLE_NAMES: Final[tuple[str, ...]] = tuple(TABLES)


_COLUMN_NAMES: Final[dict[str, tuple[str, ...]]] = {
    name: spec.column_names for name, spec in TABLES.items()
}


def empty_columns() -> dict[str, dict[str, list[Any]]]:
    """A fresh column buffer: table name -> column name -> values."""
    return {name: {col: [] for col in columns} for name, columns in _COLUMN_NAMES.items()}


def _code(value: Any) -> Any:
    return None if value is None else getattr(value, "value", value)


@dataclass(frozen=True, slots=True)
class ImagingDerivation:
    """What the flattening writes for one imaging item beyond what was typed.

    - ``bone_window_reviewed``: the effective flag — the recorded one, else (a CT with report
      text) whether the report describes the bones, else ``None``;
    - ``bone_window_source``: ``recorded`` | ``report`` | ``None`` (no value);
    - ``report_bone_window``: the checker's ``described`` / ``not_described`` for a CT with
      report text (also when the flag is recorded: QC-11), else ``None``;
    - ``report_evidence``: the checker's evidence sentences;
    - ``report_sites``: sites the report names with a positive or suspicious (not negated)
      finding of a suspicion kind that the exam does not already record as abnormal — each
      becomes an ``imaging_sites`` row with result ``suspicious`` (never ``positive``), so the
      DX rules start and DX-07 cannot confirm from a report (clarifications C-28).
    """

    bone_window_reviewed: bool | None
    bone_window_source: str | None
    report_bone_window: str | None
    report_evidence: tuple[str, ...]
    report_sites: tuple[str, ...]

    @property
    def evidence_text(self) -> str | None:
        """The evidence sentences one per line (the ``report_evidence`` column)."""
        return "\n".join(self.report_evidence) or None


REPORT_SITE_RESULT: Final = "suspicious"
"""The result of a site row derived from a report: at most a suspicion, never a confirmation."""

_OTHER_SITE: Final = "other"


@lru_cache(maxsize=4096)
def _checked(text: str) -> ReportCheck | None:
    """The checker's reading of ``text`` (``None`` when it refuses the text: blank or too long).
    Cached: reports repeat (templates), and a record is flattened on every evaluation."""
    try:
        return check_report(text)
    except InputError:
        return None


def imaging_derivation(im: Imaging) -> ImagingDerivation:
    """The derived values of one imaging item (:class:`ImagingDerivation`)."""
    return derive_imaging(
        im.modality.value,
        _code(im.result),
        im.bone_window_reviewed,
        tuple(s.value for s in im.sites),
        im.report_text,
    )


def derive_imaging(
    modality: str,
    result: str | None,
    bone_window_reviewed: bool | None,
    sites: tuple[str, ...],
    report_text: str | None,
) -> ImagingDerivation:
    """:func:`imaging_derivation` from an item's codes (also what migration 0007 backfills).

    Only CT items with ``report_text`` are read; a person's ``bone_window_reviewed`` always
    wins, and the recorded ``result`` and ``sites`` are never lowered.
    """
    source = None if bone_window_reviewed is None else "recorded"
    check = _checked(report_text) if modality == "ct" and report_text is not None else None
    if check is None:
        return ImagingDerivation(bone_window_reviewed, source, None, (), ())
    effective = bone_window_reviewed
    if bone_window_reviewed is None:
        effective, source = check.described, "report"
    named = [
        f.site
        for f in check.findings
        if f.finding in SUSPICION_KINDS and f.certainty in ("positive", "suspicious")
    ]
    found = list(dict.fromkeys(named))
    if _OTHER_SITE in found and (sites or len(found) > 1):
        # a finding the report places nowhere is about a site already named (the exam's own
        # sites or another finding's): it adds no site of its own
        found.remove(_OTHER_SITE)
    if result in ("positive", "suspicious"):
        found = [s for s in found if s not in sites]
    return ImagingDerivation(
        effective, source, check.bone_window, tuple(check.evidence), tuple(found)
    )


def _row(buffer: dict[str, list[Any]], values: Iterable[Any]) -> None:
    for column, value in zip(buffer.values(), values, strict=True):
        column.append(value)


def append_record(buffer: dict[str, dict[str, list[Any]]], pk: int, record: Record) -> None:
    """Append one record's rows to a column buffer (see :func:`empty_columns`)."""
    hospital, physician, cancer = record.hospital, record.physician, record.cancer
    bm, plan = record.bone_metastasis, record.bta_plan
    comorbidities = record.comorbidities
    drivers = cancer.drivers or {}
    _row(
        buffer["patients"],
        (
            pk,
            record.source,
            record.id,
            record.sex.value,
            record.birth_date,
            record.death_date,
            _code(record.smoking),
            hospital.id if hospital else None,
            hospital.name if hospital else None,
            _code(hospital.city_tier) if hospital else None,
            _code(hospital.type) if hospital else None,
            _code(record.department),
            physician.id if physician else None,
            _code(physician.title) if physician else None,
            comorbidities is not None,
            *(None if comorbidities is None else (c in comorbidities) for c in Comorbidity),
            cancer.diagnosis_date,
            _code(cancer.histology),
            _code(cancer.stage),
            cancer.tnm,
            cancer.pd_l1_tps,
            _code(cancer.setting),
            cancer.surgery_date,
            cancer.recurrence_date,
            _code(cancer.visceral_metastasis),
            *(_code(drivers.get(g)) for g in Gene),
            _code(bm.status) if bm else None,
            bm.confirmed_date if bm else None,
            _code(plan.drug) if plan else None,
            plan.interval_days if plan else None,
        ),
    )
    if bm:
        for seq, lesion in enumerate(bm.lesions):
            _row(
                buffer["lesions"],
                (
                    pk,
                    seq,
                    lesion.site.value,
                    _code(lesion.kind),
                    lesion.size_mm,
                    lesion.cortical_involvement_pct,
                    lesion.level,
                    lesion.peritrochanteric,
                    _code(lesion.alignment),
                    _code(lesion.collapse),
                    _code(lesion.posterolateral),
                ),
            )
    ev = record.events
    for seq, im in enumerate(ev.imaging):
        derived = imaging_derivation(im)
        _row(
            buffer["imaging"],
            (
                pk,
                seq,
                im.date,
                im.modality.value,
                _code(im.region),
                _code(im.result),
                derived.bone_window_reviewed,
                im.lesion_count,
                im.report_text,
                derived.bone_window_source,
                derived.report_bone_window,
                derived.evidence_text,
            ),
        )
        for site in im.sites:
            _row(buffer["imaging_sites"], (pk, seq, site.value, None, "recorded"))
        for name in derived.report_sites:
            _row(buffer["imaging_sites"], (pk, seq, name, REPORT_SITE_RESULT, "report"))
    for seq, b in enumerate(ev.biopsy):
        _row(buffer["biopsy"], (pk, seq, b.date, _code(b.site), b.result.value))
    for seq, lab in enumerate(ev.labs):
        _row(
            buffer["labs"],
            (
                pk,
                seq,
                lab.date,
                lab.test.value,
                lab.value,
                lab.unit,
                lab.lln,
                lab.uln,
                to_canonical(lab.test, lab.value, lab.unit),
            ),
        )
    for seq, v in enumerate(ev.vitals):
        _row(buffer["vitals"], (pk, seq, v.date, v.weight_kg, v.height_cm))
    for seq, p in enumerate(ev.performance):
        _row(buffer["performance"], (pk, seq, p.date, p.ecog, p.kps, p.life_expectancy_months))
    for seq, s in enumerate(ev.symptoms):
        _row(
            buffer["symptoms"],
            (pk, seq, s.date, s.bone_pain, s.neuro_deficit, s.mechanical_pain, _code(s.frankel)),
        )
        for site in s.pain_sites:
            _row(buffer["symptom_sites"], (pk, seq, site.value))
    for seq, d in enumerate(ev.bta):
        _row(
            buffer["bta"],
            (pk, seq, d.date, d.drug.value, d.dose_mg, _code(d.route), d.interval_days),
        )
    for seq, st in enumerate(ev.bta_stop):
        _row(buffer["bta_stop"], (pk, seq, st.date, st.reason.value))
    for seq, sup in enumerate(ev.supplements):
        _row(
            buffer["supplements"],
            (pk, seq, sup.date, sup.calcium_mg_daily, sup.vitamin_d_iu_daily),
        )
    for seq, den in enumerate(ev.dental):
        _row(buffer["dental"], (pk, seq, den.date, den.result.value))
    for seq, med in enumerate(ev.medications):
        _row(buffer["medications"], (pk, seq, med.date, med.class_.value, med.action.value))
    for seq, tr in enumerate(ev.treatments):
        _row(
            buffer["treatments"],
            (pk, seq, tr.date, tr.kind.value, _code(tr.site), tr.dose_gy, tr.fractions),
        )
    for seq, ae in enumerate(ev.adverse_events):
        _row(buffer["adverse_events"], (pk, seq, ae.date, ae.kind.value, ae.grade, ae.stage))
    for seq, sre in enumerate(ev.sre):
        _row(buffer["sre"], (pk, seq, sre.date, sre.kind.value))
    for seq, m in enumerate(ev.mdt):
        _row(
            buffer["mdt"],
            (pk, seq, m.date, m.decision, ",".join(a.value for a in m.attendees) or None),
        )


def to_columns(records: Iterable[tuple[int, Record]]) -> dict[str, dict[str, list[Any]]]:
    """Flatten ``(pk, record)`` pairs into the column buffer of every table."""
    buffer = empty_columns()
    for pk, record in records:
        append_record(buffer, pk, record)
    return buffer
