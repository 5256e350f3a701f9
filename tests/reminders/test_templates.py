"""Message text in both languages: patient messages carry no identifier and fit one SMS;
staff messages mask the record id and stay within two SMS segments."""

from __future__ import annotations

import datetime as dt

import pytest

from bonepath.reminders.model import Audience, Recipient, Task, TaskStatus
from bonepath.reminders.sms import sms_segments
from bonepath.reminders.templates import (
    PATIENT_RULES,
    STAFF_SMS_MAX_SEGMENTS,
    is_deliverable,
    mask_patient_id,
    render_message,
)
from bonepath.vocab import FindingKind

OPENED = dt.datetime(2026, 9, 30, 7, tzinfo=dt.UTC)


def _task(rule: str, title_zh: str = "逾期超过4周：主动随访", patient: str = "P20260017") -> Task:
    return Task(
        3,
        "e" * 64,
        "his-a",
        patient,
        "H01",
        "oncology",
        rule,
        None,
        dt.date(2026, 12, 31),
        FindingKind.ACTION,
        "high",
        title_zh,
        "More than 4 weeks overdue: call the patient",
        {"drug": "denosumab", "overdue_days": 37},
        "1.0.0",
        TaskStatus.OPEN,
        OPENED,
        OPENED.date(),
        OPENED.date(),
        0,
        None,
        None,
        None,
        None,
        None,
    )


def _recipient(channel: str, lang: str = "zh", patient: bool = False) -> Recipient:
    audience = Audience.PATIENT if patient else Audience.STAFF
    own = ("his-a", "P20260017") if patient else (None, None)
    return Recipient(1, channel, "x", lang, audience, None, *own, ("*",), True)


def test_mask_keeps_at_most_four_and_at_most_half() -> None:
    assert mask_patient_id("P20260017") == "*****0017"
    assert mask_patient_id("P0001") == "***01"
    assert mask_patient_id("7") == "*"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("rule", PATIENT_RULES)
def test_patient_sms_fits_one_segment_and_names_nobody(rule: str, lang: str) -> None:
    rendered = render_message(_task(rule), _recipient("sms", lang, patient=True))
    assert sms_segments(rendered.body) == 1, rendered.body
    assert "2026-12-31" in rendered.body
    # no identifier, no hospital, no drug, no figure, no disease (a lock screen shows it)
    for secret in ("P20260017", "0017", "H01", "denosumab", "37", "转移", "癌", "metasta"):
        assert secret not in rendered.body


def test_patient_recipients_get_only_dose_reminders_of_their_own_record() -> None:
    mine = _recipient("sms", patient=True)
    assert is_deliverable(_task("ADH-01"), mine)
    assert not is_deliverable(_task("SAFE-05"), mine)
    assert not is_deliverable(_task("ADH-01", patient="P0002"), mine)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_staff_sms_with_a_long_title_is_cut_to_two_segments(lang: str) -> None:
    task = _task("DX-07", title_zh="影像学提示骨转移但未完成确诊检查" * 6)
    rendered = render_message(task, _recipient("sms", lang))
    assert sms_segments(rendered.body) <= STAFF_SMS_MAX_SEGMENTS
    assert "DX-07" in rendered.body and "*****0017" in rendered.body
    assert "P20260017" not in rendered.body


def test_wechat_payload_data_fields() -> None:
    rendered = render_message(_task("ADH-03"), _recipient("wechat"))
    assert rendered.payload is not None
    data = rendered.payload["data"]
    assert list(data) == ["first", "keyword1", "keyword2", "keyword3", "remark"]
    assert data["keyword1"] == {"value": "ADH-03 逾期超过4周：主动随访"}
    assert data["keyword2"] == {"value": "2026-12-31"}
    assert data["keyword3"] == {"value": "H01 · *****0017"}
