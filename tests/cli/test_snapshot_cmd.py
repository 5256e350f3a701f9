"""`bonepath snapshot --out DIR` writes the snapshot the embedded backend evaluates like the
store, says so in Chinese then English, and fails with exit 1 when it cannot write."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.population.registry import evaluate_registry, evaluate_snapshot
from population.support import AS_OF, small_registry_records, stored

runner = CliRunner()


def test_snapshot_command_writes_what_the_registry_evaluates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = stored(url, small_registry_records())
    out = tmp_path / "snap"
    result = runner.invoke(app, ["snapshot", "--out", str(out)], env={"BONEPATH_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    zh, en = result.output.strip().splitlines()
    assert zh.startswith("已写入登记快照") and "5 名患者" in zh
    assert "5 patients" in en
    assert [e.to_json() for e in evaluate_snapshot(out, AS_OF).evaluations] == [
        e.to_json() for e in evaluate_registry(store, AS_OF).evaluations
    ]
    store.close()


def test_snapshot_command_that_cannot_write_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    stored(url, small_registry_records()[:1]).close()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = runner.invoke(
        app, ["snapshot", "--out", str(blocker / "snap")], env={"BONEPATH_DATABASE_URL": url}
    )
    assert result.exit_code == 1
    assert "bonepath snapshot:" in result.stderr
