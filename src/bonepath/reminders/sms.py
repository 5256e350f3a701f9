"""SMS: segment arithmetic and the spool adapter.

An SMS carries 140 bytes. Text written only in the GSM 03.38 basic alphabet fits 160
characters (153 per segment once split, the rest is the concatenation header); any other
character — every Chinese one — switches the whole message to UCS-2: **70 characters** in one
message, 67 per segment of a longer one (3GPP TS 23.038 / 23.040). Characters outside the
Basic Multilingual Plane count twice in UCS-2. Chinese vendors bill per segment and count the
signature (``【…】``) as part of the text.

:class:`SpoolSmsAdapter` writes each message as ``<idempotency key>.json`` (``to``, ``text``,
``segments``, ``encoding``, ``out_id``) into a spool directory that an SMS gateway — or a test —
reads; the key is also the vendor's "out id" so that a gateway can refuse a repeat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from bonepath.errors import DeliveryFailed
from bonepath.reminders.channels import (
    DeliveryReceipt,
    OutgoingMessage,
    SpoolDirectory,
    now_utc,
)

GSM7_SINGLE: Final = 160
GSM7_SEGMENT: Final = 153
UCS2_SINGLE: Final = 70
UCS2_SEGMENT: Final = 67

_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED: Final = frozenset("^{}\\[~]|€\f")  # two septets each

Encoding = Literal["gsm7", "ucs2"]


def sms_encoding(text: str) -> Encoding:
    """``gsm7`` when every character is in the GSM 03.38 alphabet, else ``ucs2``."""
    return "gsm7" if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text) else "ucs2"


def sms_length(text: str) -> int:
    """Length in the units segments are counted in (septets, or UTF-16 code units)."""
    if sms_encoding(text) == "gsm7":
        return sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes (0 for an empty text)."""
    length = sms_length(text)
    if length == 0:
        return 0
    single, segment = (
        (GSM7_SINGLE, GSM7_SEGMENT) if sms_encoding(text) == "gsm7" else (UCS2_SINGLE, UCS2_SEGMENT)
    )
    return 1 if length <= single else -(-length // segment)


def fit_sms(template: str, fields: dict[str, str], shorten: str, max_segments: int) -> str:
    """``template`` filled with ``fields``, field ``shorten`` cut (with "…") until the text
    takes at most ``max_segments`` segments."""
    value = fields[shorten]
    while True:
        text = template.format(**{**fields, shorten: value})
        if sms_segments(text) <= max_segments or not value:
            return text
        value = value[:-2] + "…" if len(value) > 1 else ""


class SpoolSmsAdapter:
    """SMS written to a spool directory for a gateway (see the module docstring)."""

    name = "sms"

    def __init__(self, directory: Path, *, max_segments: int = 3) -> None:
        self.spool = SpoolDirectory(directory)
        self.max_segments = max_segments

    def send(self, message: OutgoingMessage) -> DeliveryReceipt:
        segments = sms_segments(message.body)
        if segments > self.max_segments:
            raise DeliveryFailed(
                f"SMS of {segments} segments exceeds the limit of {self.max_segments}"
            )
        path = self.spool.write(
            message.idempotency_key,
            {
                "to": message.address,
                "text": message.body,
                "encoding": sms_encoding(message.body),
                "segments": segments,
                "out_id": message.idempotency_key,
            },
        )
        return DeliveryReceipt(self.name, message.idempotency_key, path.name, now_utc())

    def lookup(self, message: OutgoingMessage) -> DeliveryReceipt | None:
        key = message.idempotency_key
        if self.spool.read(key) is None:
            return None
        return DeliveryReceipt(
            self.name, key, self.spool.path_of(key).name, self.spool.accepted_at(key), True
        )
