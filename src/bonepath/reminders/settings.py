"""Channel settings of the reminder job (``BONEPATH_SMTP_*``, ``BONEPATH_SPOOL_DIR``, …).

Built by the entry point (``bonepath remind``) and turned into a
:class:`~bonepath.reminders.channels.ChannelRegistry` by :func:`build_channels`; a channel
without its settings is simply not available (its messages stay pending).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bonepath.errors import ConfigError
from bonepath.reminders.channels import ChannelRegistry
from bonepath.reminders.mail import SmtpAdapter
from bonepath.reminders.sms import SpoolSmsAdapter
from bonepath.reminders.wechat import SpoolWeChatAdapter

CHANNELS = ("email", "sms", "wechat")


class ReminderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BONEPATH_", extra="ignore")

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout_s: float = 60.0
    message_id_domain: str = "bonepath.invalid"
    spool_dir: str = ""
    wechat_template_id: str = ""
    reminder_lease_s: int = 300

    @field_validator("smtp_security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in ("none", "starttls", "tls"):
            raise ValueError("smtp_security must be none, starttls or tls")
        return value

    @field_validator("reminder_lease_s")
    @classmethod
    def _lease(cls, value: int) -> int:
        if value < 30:
            raise ValueError("the lease must be at least 30 s (longer than one send)")
        return value

    def configured(self) -> tuple[str, ...]:
        """The channels these settings make available."""
        names = []
        if self.smtp_host and self.smtp_from:
            names.append("email")
        if self.spool_dir:
            names.append("sms")
            if self.wechat_template_id:
                names.append("wechat")
        return tuple(names)


def build_channels(settings: ReminderSettings, wanted: Collection[str] = ()) -> ChannelRegistry:
    """The adapters of ``wanted`` channels (default: every configured one).

    Raises :class:`ConfigError` when a wanted channel is not configured.
    """
    names = tuple(wanted) or settings.configured()
    missing = [name for name in names if name not in settings.configured()]
    if missing:
        raise ConfigError(
            f"channel {', '.join(missing)} is not configured: e-mail needs BONEPATH_SMTP_HOST "
            "and BONEPATH_SMTP_FROM; sms needs BONEPATH_SPOOL_DIR; wechat also "
            "BONEPATH_WECHAT_TEMPLATE_ID"
        )
    registry = ChannelRegistry()
    spool = Path(settings.spool_dir) if settings.spool_dir else None
    for name in names:
        if name == "email":
            registry.register(
                SmtpAdapter(
                    settings.smtp_host,
                    settings.smtp_port,
                    settings.smtp_from,
                    security=settings.smtp_security,
                    username=settings.smtp_user or None,
                    password=settings.smtp_password or None,
                    timeout_s=settings.smtp_timeout_s,
                    domain=settings.message_id_domain,
                )
            )
        elif name == "sms" and spool is not None:
            registry.register(SpoolSmsAdapter(spool / "sms"))
        elif name == "wechat" and spool is not None:
            registry.register(
                SpoolWeChatAdapter(spool / "wechat", template_id=settings.wechat_template_id)
            )
    return registry
