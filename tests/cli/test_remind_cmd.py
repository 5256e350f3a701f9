"""`bonepath remind` as cron runs it: two processes started at once send each message once;
`bonepath recipient` and `bonepath task` manage recipients and close tasks with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.store.repository import Store
from population.support import AS_OF
from reminders.support import (
    NURSE_H01,
    SmtpServer,
    message_states,
    registry_store,
    running_smtp_server,
)

runner = CliRunner()
DAY = AS_OF.isoformat()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with registry_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        yield store


def _env(url: str, smtp: SmtpServer, spool: Path) -> dict[str, str]:
    return {
        "BONEPATH_DATABASE_URL": url,
        "BONEPATH_SMTP_HOST": smtp.host,
        "BONEPATH_SMTP_PORT": str(smtp.port),
        "BONEPATH_SMTP_FROM": "bonepath@h01.example",
        "BONEPATH_SPOOL_DIR": str(spool),
    }


def _run(env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, list(args), env=env)


def test_two_remind_processes_at_once_send_each_message_once(
    db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    env = _env(db_url, smtp_server, tmp_path / "spool")
    with registry_store(db_url) as store:
        added = _run(
            env,
            "recipient",
            "add",
            "--channel",
            "email",
            "--address",
            NURSE_H01,
            "--hospital",
            "H01",
            "--rules",
            "ADH,SAFE,SCR",
        )
        assert added.exit_code == 0, added.output
        added = _run(
            env,
            "recipient",
            "add",
            "--channel",
            "sms",
            "--address",
            "+8613800000000",
            "--patient",
            "his-a/P0001",
            "--rules",
            "ADH",
        )
        assert added.exit_code == 0, added.output
        command = [sys.executable, "-m", "bonepath", "remind", "--as-of", DAY]
        full_env = {**os.environ, **env}
        processes = [
            subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=300) for process in processes]
        for process, (_out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
        summaries = [json.loads(out) for out, _ in outputs]
        # one process opened the tasks; the other found them there
        assert sorted(s["tasks"]["opened"] for s in summaries)[0] == 0
        queued = sum(s["messages_queued"] for s in summaries)
        assert queued == sum(message_states(store).values())
        assert message_states(store) == {"sent": queued}
        emails = Counter(smtp_server.journal.message_ids())
        sms = list((tmp_path / "spool" / "sms").glob("*.json"))
        assert set(emails.values()) == {1}
        assert len(emails) + len(sms) == queued
        assert len(sms) == 2  # ADH-02 and ADH-03 of his-a/P0001
        assert sorted(s["channels"] for s in summaries) == [["email", "sms"], ["email", "sms"]]


def test_remind_without_send_queues_and_task_close_needs_an_adh03_reason(
    sqlite_store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    env = _env(str(sqlite_store.engine.url), smtp_server, tmp_path / "spool")
    result = _run(env, "remind", "--as-of", DAY, "--no-send")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["delivery"] is None and summary["tasks"]["opened"] > 0
    listed = _run(env, "task", "list", "--rule", "ADH-03", "--hospital", "H01")
    [task] = json.loads(listed.stdout)
    assert task["patient"] == "P0001" and task["due"] == "2026-08-24"
    refused = _run(env, "task", "close", str(task["id"]), "--reason", "done", "--by", "nurse-li")
    assert refused.exit_code == 2
    assert "cost" in json.loads(refused.stdout)["errors"][0]["problem"]
    closed = _run(
        env,
        "task",
        "close",
        str(task["id"]),
        "--reason",
        "cost",
        "--by",
        "nurse-li",
        "--note",
        "自费困难",
    )
    assert closed.exit_code == 0, closed.output
    body = json.loads(closed.stdout)
    assert body["status"] == "closed" and body["close_reason"]["zh"] == "费用原因"
    assert body["close_note"] == "自费困难" and body["closed_by"] == "nurse-li"


def test_remind_refuses_a_bad_day_and_an_unconfigured_channel(
    sqlite_store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    env = _env(str(sqlite_store.engine.url), smtp_server, tmp_path / "spool")
    bad = _run(env, "remind", "--as-of", "2026-13-01")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["errors"][0]["code"] == "INVALID_DATE"
    missing = _run(env, "remind", "--as-of", DAY, "--channel", "wechat")
    assert missing.exit_code == 1 and "BONEPATH_WECHAT_TEMPLATE_ID" in missing.stderr
