"""SMS segment arithmetic (3GPP TS 23.038/23.040): 70 Chinese characters in one message, 67
per segment beyond; 160/153 for the GSM alphabet; and the spool adapter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from bonepath.errors import DeliveryFailed
from bonepath.reminders.channels import OutgoingMessage
from bonepath.reminders.sms import SpoolSmsAdapter, fit_sms, sms_encoding, sms_segments


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "gsm7", 0),
        ("骨" * 70, "ucs2", 1),
        ("骨" * 71, "ucs2", 2),
        ("骨" * 134, "ucs2", 2),
        ("骨" * 135, "ucs2", 3),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # extension characters take two septets
        ("€" * 81, "gsm7", 2),
        ("a" * 69 + "é", "gsm7", 1),  # é is in the GSM alphabet
        ("a" * 69 + "ê", "ucs2", 1),  # ê is not: the whole text becomes UCS-2
        ("😀" * 35, "ucs2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "ucs2", 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    assert sms_encoding(text) == encoding
    assert sms_segments(text) == segments


def test_fit_shortens_the_named_field_until_it_fits() -> None:
    text = fit_sms(
        "【随访提醒】{title}截止{due}", {"title": "长" * 100, "due": "2026-08-24"}, "title", 1
    )
    assert sms_segments(text) == 1 and text.endswith("…截止2026-08-24")


def _message(body: str) -> OutgoingMessage:
    return OutgoingMessage(
        1,
        "f" * 32,
        "sms",
        "+8613800000000",
        "zh",
        "patient",
        "",
        body,
        None,
        "ADH-01",
        dt.date(2026, 8, 24),
        1,
    )


def test_spool_writes_one_file_per_key(tmp_path: Path) -> None:
    adapter = SpoolSmsAdapter(tmp_path)
    message = _message("【随访提醒】您好")
    assert adapter.lookup(message) is None
    receipt = adapter.send(message)
    adapter.send(message)  # a repeat after a crash replaces the same file
    [path] = tmp_path.glob("*.json")
    assert path.name == receipt.reference == f"{'f' * 32}.json"
    assert orjson.loads(path.read_bytes()) == {
        "to": "+8613800000000",
        "text": "【随访提醒】您好",
        "encoding": "ucs2",
        "segments": 1,
        "out_id": "f" * 32,
    }
    found = adapter.lookup(message)
    assert found is not None and found.confirmed_by_lookup


def test_spool_refuses_a_text_over_its_segment_limit(tmp_path: Path) -> None:
    with pytest.raises(DeliveryFailed, match="segments"):
        SpoolSmsAdapter(tmp_path, max_segments=1).send(_message("骨" * 71))
    assert list(tmp_path.glob("*.json")) == []
