"""Point-in-time views (rules.md VAL-01) and "latest" (VAL-07)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bonepath.record.model import EVENT_LISTS, Dental, Lab, Record
from bonepath.record.parse import parse_record
from bonepath.record.timeline import as_of, dated_on_or_before, latest
from bonepath.vocab import BoneMetStatus, DentalResult, LabTest

from .support import TODAY, minimal


def _record(**changes: Any) -> Record:
    data = minimal()
    data.update(changes)
    return parse_record(data, today=TODAY)


def _lab(day: str, value: float) -> dict[str, Any]:
    return {"date": day, "test": "creatinine", "value": value, "unit": "umol/L"}


def test_events_after_the_day_are_dropped_and_order_is_kept() -> None:
    record = _record(
        events={
            "labs": [_lab("2026-10-05", 90), _lab("2026-09-01", 80), _lab("2026-10-06", 99)],
            "dental": [{"date": "2026-10-07", "result": "ok"}],
        }
    )
    view = as_of(record, dt.date(2026, 10, 5))
    assert [lab.value for lab in view.events.labs] == [90, 80]
    assert view.events.dental == ()


def test_an_event_on_the_day_is_kept() -> None:
    record = _record(events={"dental": [{"date": "2026-10-05", "result": "ok"}]})
    assert len(as_of(record, dt.date(2026, 10, 5)).events.dental) == 1


def test_death_surgery_and_recurrence_after_the_day_are_not_yet_known() -> None:
    cancer = dict(minimal()["cancer"], surgery_date="2026-03-01", recurrence_date="2026-06-01")
    record = _record(cancer=cancer, death_date="2026-11-01")
    view = as_of(record, dt.date(2026, 4, 1))
    assert (view.death_date, view.cancer.surgery_date, view.cancer.recurrence_date) == (
        None,
        dt.date(2026, 3, 1),
        None,
    )
    assert view.cancer.diagnosis_date == dt.date(2026, 1, 5)


def test_dates_on_or_before_the_day_are_kept() -> None:
    record = _record(death_date="2026-11-01")
    assert as_of(record, dt.date(2026, 11, 1)).death_date == dt.date(2026, 11, 1)


def test_confirmed_status_is_not_yet_established_before_its_date() -> None:
    record = _record(
        bone_metastasis={
            "status": "confirmed",
            "confirmed_date": "2026-06-25",
            "lesions": [{"site": "rib"}],
        }
    )
    view = as_of(record, dt.date(2026, 6, 24))
    assert view.bone_metastasis is not None
    assert (view.bone_metastasis.status, view.bone_metastasis.confirmed_date) == (None, None)
    assert len(view.bone_metastasis.lesions) == 1


def test_confirmed_status_stands_from_its_date() -> None:
    record = _record(bone_metastasis={"status": "confirmed", "confirmed_date": "2026-06-25"})
    view = as_of(record, dt.date(2026, 6, 25))
    assert view.bone_metastasis is not None
    assert view.bone_metastasis.status is BoneMetStatus.CONFIRMED


def test_confirmed_status_without_a_date_is_kept() -> None:
    record = _record(bone_metastasis={"status": "confirmed"})
    view = as_of(record, dt.date(2020, 1, 1))
    assert view.bone_metastasis is not None
    assert view.bone_metastasis.status is BoneMetStatus.CONFIRMED


def test_a_later_lab_is_not_in_the_view_of_an_earlier_day() -> None:
    record = _record(events={"labs": [_lab("2026-10-05", 90), _lab("2026-10-06", 99)]})
    view = as_of(record, dt.date(2026, 10, 5))
    assert [lab.value for lab in view.events.labs] == [90]
    assert view != record


def test_as_of_a_day_after_every_date_changes_nothing() -> None:
    record = _record(events={"labs": [_lab("2026-10-05", 90)]}, death_date="2026-11-01")
    assert as_of(record, TODAY) == record


def _dental(day: str, result: str = "ok") -> Dental:
    return Dental(date=dt.date.fromisoformat(day), result=DentalResult(result))


def test_latest_is_the_most_recent_on_or_before_the_day() -> None:
    exams = [_dental("2026-01-01"), _dental("2026-03-01", "needs_treatment"), _dental("2026-05-01")]
    found = latest(exams, dt.date(2026, 4, 30))
    assert found is exams[1]


def test_latest_same_day_is_the_last_in_list_order() -> None:
    # VAL-07: same day, the last in list order.
    labs = [
        Lab(date=dt.date(2026, 10, 5), test=LabTest.CREATININE, value=90, unit="umol/L"),
        Lab(date=dt.date(2026, 10, 5), test=LabTest.CREATININE, value=95, unit="umol/L"),
        Lab(date=dt.date(2026, 10, 4), test=LabTest.CREATININE, value=70, unit="umol/L"),
    ]
    found = latest(labs, dt.date(2026, 10, 6))
    assert found is not None and found.value == 95


def test_latest_is_none_when_everything_is_later() -> None:
    assert latest([_dental("2026-05-01")], dt.date(2026, 4, 30)) is None
    assert latest([], dt.date(2026, 4, 30)) is None


def test_dated_on_or_before_keeps_list_order() -> None:
    exams = [_dental("2026-03-01"), _dental("2026-01-01"), _dental("2026-05-01")]
    assert dated_on_or_before(exams, dt.date(2026, 3, 1)) == (exams[0], exams[1])


# ---- properties ------------------------------------------------------------------------------

_DAYS = st.dates(min_value=dt.date(2025, 1, 1), max_value=TODAY)


@st.composite
def _records(draw: st.DrawFn) -> Record:
    def day() -> str:
        return draw(_DAYS).isoformat()

    labs = [_lab(day(), draw(st.integers(40, 300))) for _ in range(draw(st.integers(0, 6)))]
    dental = [{"date": day(), "result": "ok"} for _ in range(draw(st.integers(0, 4)))]
    status = draw(st.sampled_from(["confirmed", "suspected", None]))
    bone: dict[str, Any] = {} if status is None else {"status": status}
    if status == "confirmed":
        bone["confirmed_date"] = day()
    cancer = dict(minimal()["cancer"], diagnosis_date="2025-01-01", recurrence_date=day())
    return _record(
        events={"labs": labs, "dental": dental},
        bone_metastasis=bone or None,
        cancer=cancer,
        death_date=draw(st.none() | st.just(day())),
    )


def _all_dates(record: Record) -> list[dt.date]:
    dates = [event.date for name in EVENT_LISTS for event in getattr(record.events, name)]
    dates += [d for d in (record.death_date, record.cancer.recurrence_date) if d is not None]
    if record.bone_metastasis is not None and record.bone_metastasis.confirmed_date is not None:
        dates.append(record.bone_metastasis.confirmed_date)
    return dates


@settings(max_examples=100, deadline=None)
@given(record=_records(), day=_DAYS)
def test_as_of_never_keeps_a_date_after_the_day(record: Record, day: dt.date) -> None:
    view = as_of(record, day)
    assert all(d <= day for d in _all_dates(view))
    assert view.birth_date == record.birth_date
    assert view.cancer.diagnosis_date == record.cancer.diagnosis_date


@settings(max_examples=100, deadline=None)
@given(record=_records(), day=_DAYS)
def test_as_of_is_idempotent(record: Record, day: dt.date) -> None:
    once = as_of(record, day)
    assert as_of(once, day) == once


@settings(max_examples=100, deadline=None)
@given(record=_records(), day=_DAYS)
def test_as_of_keeps_every_event_on_or_before_the_day(record: Record, day: dt.date) -> None:
    kept = as_of(record, day).events.labs
    assert kept == tuple(lab for lab in record.events.labs if lab.date <= day)


@settings(max_examples=100, deadline=None)
@given(record=_records(), day=_DAYS)
def test_latest_of_the_view_equals_latest_of_the_record(record: Record, day: dt.date) -> None:
    assert latest(as_of(record, day).events.labs, day) == latest(record.events.labs, day)
