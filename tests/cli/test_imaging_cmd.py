"""`bonepath imaging check-report` (interfaces.md): JSON, table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bonepath.cli.main import app


def test_check_report_prints_the_interfaces_json_from_a_file(tmp_path: Path) -> None:
    report = tmp_path / "ct.txt"
    report.write_text("骨窗示L3椎体溶骨性骨质破坏", encoding="utf-8")
    result = CliRunner().invoke(app, ["imaging", "check-report", str(report)])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["bone_window"] == "described"
    assert out["findings"][0]["level"] == "L3"
    assert out["findings"][0]["finding"] == "lytic"


def test_check_report_reads_stdin_and_says_not_described() -> None:
    result = CliRunner().invoke(app, ["imaging", "check-report", "-"], input="右肺上叶结节。")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "bone_window": "not_described",
        "evidence": [],
        "findings": [],
    }


def test_an_empty_report_is_refused_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["imaging", "check-report", "-"], input="  \n")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "EMPTY_REPORT"


def test_a_report_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "ct.txt"
    report.write_bytes("骨窗未见异常".encode("gb18030"))
    result = CliRunner().invoke(app, ["imaging", "check-report", str(report)])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "NOT_UTF8"


def test_the_table_is_in_the_chosen_language() -> None:
    text = "胸7椎体骨质破坏，考虑转移可能。"
    zh = CliRunner().invoke(app, ["imaging", "check-report", "-", "--format", "table"], input=text)
    en = CliRunner().invoke(
        app, ["imaging", "check-report", "-", "--format", "table", "--lang", "en"], input=text
    )
    assert zh.exit_code == en.exit_code == 0
    assert "报告已描述骨骼" in zh.stdout and "可疑" in zh.stdout
    assert "describes the bones" in en.stdout and "suspicious" in en.stdout
