"""The adapter interface: the registry takes only real adapters; a spool write is atomic;
the reminder package stays free of web frameworks (it sits on the store, like population/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bonepath.reminders as reminders
from bonepath.errors import ConfigError
from bonepath.reminders.channels import ChannelAdapter, ChannelRegistry, SpoolDirectory
from bonepath.reminders.mail import SmtpAdapter
from bonepath.reminders.sms import SpoolSmsAdapter
from bonepath.reminders.wechat import SpoolWeChatAdapter

PACKAGE = Path(reminders.__file__).parent


def test_every_shipped_adapter_implements_the_protocol(tmp_path: Path) -> None:
    adapters = [
        SmtpAdapter("127.0.0.1", 25, "a@b"),
        SpoolSmsAdapter(tmp_path),
        SpoolWeChatAdapter(tmp_path, template_id="T"),
    ]
    registry = ChannelRegistry()
    for adapter in adapters:
        assert isinstance(adapter, ChannelAdapter)
        registry.register(adapter)
    assert registry.names() == ("email", "sms", "wechat")


def test_registry_refuses_an_object_without_send_and_lookup() -> None:
    class OnlySends:
        name = "fax"

        def send(self, message: object) -> None: ...

    with pytest.raises(ConfigError, match="ChannelAdapter"):
        ChannelRegistry().register(OnlySends())  # type: ignore[arg-type]


def test_spool_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    spool = SpoolDirectory(tmp_path / "new")
    spool.write("k1", {"text": "您好"})
    spool.write("k1", {"text": "您好"})
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["k1.json"]
    assert spool.read("k1") == {"text": "您好"} and spool.read("k2") is None


def test_reminders_import_no_web_framework() -> None:
    web = {"fastapi", "starlette", "jinja2", "uvicorn", "httpx", "requests"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        }
        assert not names & web, path.name


def test_public_surface() -> None:
    assert {"list_tasks", "close_task", "get_task", "run_reminders", "ChannelAdapter"} <= set(
        reminders.__all__
    )
    assert all(hasattr(reminders, name) for name in reminders.__all__)
