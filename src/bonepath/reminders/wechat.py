"""WeChat template messages: the payload shape and the spool adapter.

A WeChat Official Account template message is a JSON document posted to the template-message
endpoint (``cgi-bin/message/template/send``)::

    {"touser": "<openid>", "template_id": "<id from the account's template library>",
     "client_msg_id": "<idempotency key>",
     "data": {"first": {"value": "…"}, "keyword1": {"value": "…"}, "keyword2": {"value": "…"},
              "keyword3": {"value": "…"}, "remark": {"value": "…"}}}

``client_msg_id`` is WeChat's own guard against a repeat of the same message to the same user;
we pass the outbox key there. The ``data`` field names belong to the template chosen in the
account's admin page: ours (:func:`bonepath.reminders.templates.render_message`) are the
classic ``first / keyword1..3 / remark`` (事项 / 截止日期 / 医院与患者); a newer template with
``thing1`` / ``time2`` fields (20 characters at most for ``thing``) needs only another mapping.
No request goes to WeChat from this package: :class:`SpoolWeChatAdapter` writes the payload
to a spool directory for the hospital's gateway (which holds the access token).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bonepath.errors import ConfigError
from bonepath.reminders.channels import (
    DeliveryReceipt,
    OutgoingMessage,
    SpoolDirectory,
    now_utc,
)


def template_payload(
    message: OutgoingMessage, template_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The template-message document of ``message`` (see the module docstring)."""
    return {
        "touser": message.address,
        "template_id": template_id,
        "client_msg_id": message.idempotency_key,
        "data": {name: {"value": str(field["value"])} for name, field in data.items()},
    }


class SpoolWeChatAdapter:
    """WeChat template messages written to a spool directory (see the module docstring)."""

    name = "wechat"

    def __init__(self, directory: Path, *, template_id: str) -> None:
        if not template_id:
            raise ConfigError("a WeChat template id is needed (BONEPATH_WECHAT_TEMPLATE_ID)")
        self.spool = SpoolDirectory(directory)
        self.template_id = template_id

    def send(self, message: OutgoingMessage) -> DeliveryReceipt:
        data = (message.payload or {}).get("data", {})
        path = self.spool.write(
            message.idempotency_key, template_payload(message, self.template_id, data)
        )
        return DeliveryReceipt(self.name, message.idempotency_key, path.name, now_utc())

    def lookup(self, message: OutgoingMessage) -> DeliveryReceipt | None:
        key = message.idempotency_key
        if self.spool.read(key) is None:
            return None
        return DeliveryReceipt(
            self.name, key, self.spool.path_of(key).name, self.spool.accepted_at(key), True
        )
