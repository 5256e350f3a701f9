"""What "the same due event" is, the idempotency keys, and the close-reason vocabulary."""

from __future__ import annotations

import datetime as dt

from bonepath.reminders.model import (
    ADH03_REASONS,
    CLOSE_REASON_LABELS,
    NURSE_REASONS,
    Audience,
    CloseReason,
    Recipient,
    event_key,
    message_key,
    reasons_for,
)

DUE = dt.date(2026, 8, 24)


def test_the_same_due_event_has_one_key_and_a_moved_due_day_is_a_new_event() -> None:
    key = event_key("his-a", "P0001", "ADH-01", None, DUE)
    assert key == event_key("his-a", "P0001", "ADH-01", None, DUE)
    assert len(key) == 64
    others = {
        event_key("his-a", "P0001", "ADH-01", None, DUE + dt.timedelta(days=28)),  # next dose
        event_key("his-b", "P0001", "ADH-01", None, DUE),  # same id, other source
        event_key("his-a", "P0001", "ADH-02", None, DUE),  # escalated rule
        event_key("his-a", "P0001", "ADH-01", "lumbar_spine", DUE),  # per-item rule
        event_key("his-a", "P0001", "ADH-01", None, None),  # no due day
    }
    assert key not in others and len(others) == 5
    # no separator trick: fields cannot run into each other
    assert event_key("a", "bc", "R", None, None) != event_key("ab", "c", "R", None, None)


def test_message_keys_differ_per_recipient_and_channel() -> None:
    key = event_key("his-a", "P0001", "ADH-03", None, DUE)
    keys = {message_key(key, 1, "email"), message_key(key, 2, "email"), message_key(key, 1, "sms")}
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)


def test_adh03_needs_an_interruption_reason_and_system_reasons_are_the_jobs() -> None:
    # rules.md ADH-03: "record the reason (cost, safety worry, dental, PS, unknown)"
    assert {"cost", "safety_concern", "dental", "performance_status", "unknown"} <= {
        r.value for r in reasons_for("ADH-03")
    }
    assert CloseReason.DONE not in ADH03_REASONS
    assert reasons_for("SCR-01") == NURSE_REASONS
    assert CloseReason.RESOLVED_BY_RECORD not in NURSE_REASONS
    assert CloseReason.SUPERSEDED not in NURSE_REASONS


def test_every_reason_has_a_chinese_and_an_english_label() -> None:
    assert set(CLOSE_REASON_LABELS) == set(CloseReason)
    for zh, en in CLOSE_REASON_LABELS.values():
        assert zh and en and any("\u4e00" <= c <= "\u9fff" for c in zh) and en.isascii()


def test_recipient_rules_match_ids_families_and_star() -> None:
    def recipient(*rules: str) -> Recipient:
        return Recipient(1, "email", "a@b", "zh", Audience.STAFF, None, None, None, rules, True)

    assert recipient("ADH").wants("ADH-03") and not recipient("ADH").wants("SAFE-05")
    assert recipient("SAFE-05").wants("SAFE-05") and not recipient("SAFE-0").wants("SAFE-05")
    assert recipient("*").wants("DX-07")
