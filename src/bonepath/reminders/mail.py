"""E-mail through an SMTP server: message building and the adapter.

Every e-mail carries ``Message-ID: <idempotency key@domain>``, the same on every attempt, so a
message sent again after a crash is recognisable — and removable — as a repeat by the receiving
side. SMTP itself cannot say whether an earlier session delivered a message: an e-mail whose
sender was killed after the server accepted it and before the outbox recorded it is sent again
(at-least-once), unless the deployment gives the adapter a ``delivered`` look-up of the
receiving side's Message-IDs (a mail archive, a journal mailbox); then reconciliation records
it as sent without sending (docs/reminders.md, "What exactly-once means for e-mail").

Subjects and bodies are Unicode (Chinese): the subject is RFC 2047-encoded, the body is
``text/plain; charset=utf-8``. Extra headers name the rule and due day for filters:
``X-Bonepath-Rule``, ``X-Bonepath-Due``, ``X-Bonepath-Task``.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from bonepath.errors import DeliveryFailed, DeliveryUncertain
from bonepath.reminders.channels import DeliveryReceipt, OutgoingMessage, now_utc

DeliveredLookup = Callable[[str], bool]
"""``message_id -> bool``: whether the receiving side already holds this Message-ID."""


def message_id(message: OutgoingMessage, domain: str) -> str:
    """The stable ``Message-ID`` of ``message``: its idempotency key at ``domain``."""
    return f"<{message.idempotency_key}@{domain}>"


def build_email(message: OutgoingMessage, sender: str, domain: str) -> EmailMessage:
    """The RFC 5322 message for ``message`` (UTF-8 text, encoded subject, stable Message-ID)."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = message.address
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message, domain)
    mail["X-Bonepath-Rule"] = message.rule
    mail["X-Bonepath-Due"] = message.due.isoformat() if message.due else "-"
    mail["X-Bonepath-Task"] = str(message.task_id)
    mail["Content-Language"] = "zh-CN" if message.lang == "zh" else "en"
    mail.set_content(message.body, charset="utf-8")
    return mail


class SmtpAdapter:
    """E-mail via one SMTP server (plain, STARTTLS or implicit TLS; optional login)."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
        domain: str = "bonepath.invalid",
        delivered: DeliveredLookup | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError("security must be none, starttls or tls")
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.domain = domain
        self.delivered = delivered

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: OutgoingMessage) -> DeliveryReceipt:
        mail = build_email(message, self.sender, self.domain)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(
                f"cannot reach the SMTP server {self.host}:{self.port}: {exc}"
            ) from exc
        try:
            with smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
        ) as exc:
            # the server answered "no": nothing was accepted
            raise DeliveryFailed(f"the SMTP server refused the message: {exc}") from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            # the session broke; the server may have accepted the data before it did
            raise DeliveryUncertain(f"the SMTP session broke: {exc}") from exc
        return DeliveryReceipt(self.name, message.idempotency_key, mail["Message-ID"], now_utc())

    def lookup(self, message: OutgoingMessage) -> DeliveryReceipt | None:
        if self.delivered is None:
            return None  # SMTP cannot tell: reconciliation sends again, same Message-ID
        reference = message_id(message, self.domain)
        if not self.delivered(reference):
            return None
        return DeliveryReceipt(self.name, message.idempotency_key, reference, now_utc(), True)
