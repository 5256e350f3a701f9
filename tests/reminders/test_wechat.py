"""WeChat template messages through the spool: the documented payload shape, Chinese text,
``client_msg_id`` = the outbox key, one file per key."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bonepath.errors import ConfigError
from bonepath.reminders import ChannelRegistry, add_recipient, deliver, sync_tasks
from bonepath.reminders.wechat import SpoolWeChatAdapter
from bonepath.store.repository import Store
from reminders.support import NOW, evaluated, message_keys


def test_template_message_written_for_the_gateway(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    add_recipient(store, "wechat", "oPENID-p0001", patient=("his-a", "P0001"), rules=["ADH-03"])
    sync_tasks(store, evaluated(store), now=NOW)
    channels = ChannelRegistry()
    channels.register(SpoolWeChatAdapter(tmp_path, template_id="TPL-bone-dose"))
    assert len(deliver(store, channels, now=NOW).sent) == 1
    [key] = message_keys(store)
    document = orjson.loads((tmp_path / f"{key}.json").read_bytes())
    assert document["touser"] == "oPENID-p0001"
    assert document["template_id"] == "TPL-bone-dose"
    assert document["client_msg_id"] == key
    assert document["data"]["keyword2"] == {"value": "2026-08-24"}
    assert "逾期超过4周" in document["data"]["remark"]["value"]
    assert "P0001" not in orjson.dumps(document).decode()


def test_adapter_needs_a_template_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="template"):
        SpoolWeChatAdapter(tmp_path, template_id="")
