"""Patients whose CT report text is read when the record is flattened (clarifications C-28):
shared by the engine tests (``test_report_in_record.py``) and the registry-backend test
(``tests/population/test_report_registry.py``)."""

from __future__ import annotations

import datetime as dt

from bonepath.record.model import Record
from rules.builders import Patient

DAY = "2026-06-20"
"""Every scenario is evaluated on this day; the CT is dated 2026-06-01 (within SCR-05's 90 days)."""

CT_DAY = "2026-06-01"

DESCRIBED = "胸部CT平扫：双肺多发结节。纵隔未见肿大淋巴结。所见骨质未见明显异常。"
SILENT = "胸部CT平扫：右肺上叶见一肿块，约3.1cm，纵隔淋巴结肿大。"
T8_LYTIC = "T8椎体溶骨性骨质破坏，考虑转移"
T8_NEGATED = "胸椎椎体未见明显骨质破坏"
T8_STATED = "骨窗示T8椎体溶骨性骨质破坏"


def _ct(
    text: str,
    *,
    reviewed: bool | None = None,
    result: str | None = None,
    sites: tuple[str, ...] = (),
) -> Patient:
    p = Patient.man()
    fields = {"report_text": text}
    if result is None:
        return p.event(
            "imaging",
            CT_DAY,
            modality="ct",
            region="chest",
            sites=list(sites) or None,
            bone_window_reviewed=reviewed,
            **fields,
        )
    return p.ct(CT_DAY, result, *sites, reviewed=reviewed, **fields)


PATIENTS: dict[str, Patient] = {
    # the report describes the bones and nobody recorded the flag: reviewed, from the report
    "described": _ct(DESCRIBED),
    # the report says nothing about bone: not reviewed (SCR-05 fires)
    "silent": _ct(SILENT),
    # a person's "not reviewed" wins over a report that describes the bones
    "person_false": _ct(DESCRIBED, reviewed=False),
    # a person's "reviewed" wins over a report that says nothing about bone
    "person_true": _ct(SILENT, reviewed=True),
    # a hedged lytic T8 lesion, no status recorded: suspected, DX rules, never confirmed
    "t8_hedged": _ct(T8_LYTIC),
    # the report denies any destruction: nothing is derived
    "t8_negated": _ct(T8_NEGATED),
    # a positive bone scan at the thoracic spine and a CT whose *report* states a lytic T8
    # lesion while the person recorded the CT as negative without sites: the report's site is
    # at most suspicious, so DX-07 (bone scan + anatomical imaging positive) cannot confirm
    "scan_plus_report": _ct(T8_STATED, reviewed=True, result="negative").bone_scan(
        "2026-05-20", "positive", "thoracic_spine"
    ),
    # the same with the CT recorded positive at the thoracic spine by a person: confirmed
    "scan_plus_recorded": _ct(
        T8_STATED, reviewed=True, result="positive", sites=("thoracic_spine",)
    ).bone_scan("2026-05-20", "positive", "thoracic_spine"),
}


def scenarios() -> list[tuple[str, Record, dt.date]]:
    """(name, record with id ``R<n>``, as-of day) of every patient."""
    day = dt.date.fromisoformat(DAY)
    return [
        (name, patient.with_(id=f"R{n:02d}").record(), day)
        for n, (name, patient) in enumerate(sorted(PATIENTS.items()))
    ]
