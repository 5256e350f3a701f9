"""record.history: a record as it was known on a day, undoing later corrections, voids and
additions (issue 15 item 3) — pure data, no database."""

from __future__ import annotations

import datetime as dt

from bonepath.record.history import Revision, as_known_on, author_of

DAY = dt.date(2026, 11, 2)


def _rev(action: str, before: object, after: object, on: dt.date, family: str = "labs") -> Revision:
    return Revision(family, action, before, after, "why", "doc_a", "clinician", on)  # type: ignore[arg-type]


LAB = {"date": "2026-10-06", "test": "creatinine", "value": 0.92, "unit": "mg/dL"}
FIXED = {**LAB, "value": 3.4}


def test_a_later_correction_is_undone_for_an_earlier_day_only() -> None:
    now = {"events": {"labs": [FIXED]}}
    history = [_rev("correct", LAB, FIXED, DAY)]
    assert as_known_on(now, history, DAY - dt.timedelta(days=1)) == {"events": {"labs": [LAB]}}
    assert as_known_on(now, history, DAY) is now  # nothing to undo: the same document
    assert now == {"events": {"labs": [FIXED]}}  # never changed in place


def test_voids_come_back_and_later_additions_go_newest_first() -> None:
    dental = {"date": "2026-08-20", "result": "ok"}
    pain = {"date": "2026-10-20", "bone_pain": 5}
    now = {"events": {"labs": [FIXED], "symptoms": [pain]}}
    history = [
        _rev("correct", LAB, FIXED, dt.date(2026, 10, 10)),
        _rev("void", dental, None, dt.date(2026, 10, 30), "dental"),
        _rev("add", None, pain, dt.date(2026, 10, 25), "symptoms"),
    ]
    known = as_known_on(now, history, dt.date(2026, 10, 20))
    assert known == {"events": {"labs": [FIXED], "dental": [dental]}}  # symptoms list emptied
    assert as_known_on(now, history, dt.date(2026, 10, 5))["events"]["labs"] == [LAB]


def test_lesions_and_the_cancer_object_are_versioned_too() -> None:
    femur = {"site": "femur", "kind": "lytic"}
    done = {**femur, "cortical_involvement_pct": 70}
    now = {"bone_metastasis": {"lesions": [done]}, "cancer": {"visceral_metastasis": "none"}}
    history = [
        _rev("correct", femur, done, DAY, "lesions"),
        _rev("correct", {}, {"visceral_metastasis": "none"}, DAY, "cancer"),
    ]
    known = as_known_on(now, history, DAY - dt.timedelta(days=1))
    assert known == {"bone_metastasis": {"lesions": [femur]}, "cancer": {}}


def test_an_entry_replaced_by_a_later_import_is_left_alone() -> None:
    now = {"events": {"labs": [{**LAB, "value": 1.0}]}}  # re-imported whole: no such entry
    history = [_rev("correct", LAB, FIXED, DAY)]
    assert as_known_on(now, history, DAY - dt.timedelta(days=1)) == now


def test_the_author_is_who_wrote_the_entry_as_it_stands() -> None:
    history = [
        Revision("labs", "add", None, LAB, None, "nurse_a", "nurse", DAY),
        Revision("labs", "correct", LAB, FIXED, "typo", "doc_a", "clinician", DAY),
    ]
    assert author_of(history, "labs", FIXED) == "doc_a"
    assert author_of(history, "labs", LAB) == "nurse_a"
    assert author_of(history, "labs", {**LAB, "value": 2}) is None  # imported
