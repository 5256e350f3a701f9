"""Channels come from BONEPATH_* settings; a wanted channel that is not configured is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bonepath.errors import ConfigError
from bonepath.reminders.settings import ReminderSettings, build_channels


def test_configured_channels_and_their_adapters(tmp_path: object) -> None:
    settings = ReminderSettings(
        smtp_host="mail.h01.example", smtp_from="bonepath@h01.example", spool_dir=str(tmp_path)
    )
    assert settings.configured() == ("email", "sms")
    assert build_channels(settings).names() == ("email", "sms")
    assert build_channels(settings, ["sms"]).names() == ("sms",)
    with pytest.raises(ConfigError, match="WECHAT_TEMPLATE_ID"):
        build_channels(settings, ["wechat"])
    assert ReminderSettings().configured() == ()


def test_unsafe_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="lease"):
        ReminderSettings(reminder_lease_s=5)
    with pytest.raises(ValidationError, match="smtp_security"):
        ReminderSettings(smtp_security="ssl3")
