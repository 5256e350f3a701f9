"""`bonepath synth` on the command line (src/bonepath/cli/synth_cmd.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
from typer.testing import CliRunner

from bonepath.cli.main import app

from .support import all_dates

runner = CliRunner()


def test_synth_writes_n_records(tmp_path: Path) -> None:
    out = tmp_path / "c.ndjson"
    result = runner.invoke(app, ["synth", "--patients", "60", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(records) == 60
    assert {r["source"] for r in records} == {"synth"}


def test_synth_is_byte_identical_for_the_same_options(tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = ["synth", "-n", "40", "-s", "9", "--as-of", "2025-03-01", "-o", str(tmp_path / name)]
        assert runner.invoke(app, args).exit_code == 0
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_synth_as_of_bounds_every_date(tmp_path: Path) -> None:
    out = tmp_path / "c.ndjson"
    args = ["synth", "-n", "200", "--as-of", "2022-01-15", "-o", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    latest = max(
        d for line in out.read_bytes().splitlines() for _, d in all_dates(orjson.loads(line))
    )
    assert latest <= dt.date(2022, 1, 15)


def test_synth_refuses_a_bad_as_of_with_exit_code_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--as-of", "2026-02-30", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "not a date" in result.output


def test_synth_refuses_an_as_of_before_the_cohort_start(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--as-of", "2015-01-01", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_synth_reports_an_unwritable_path_with_exit_code_1(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "c.ndjson"
    result = runner.invoke(app, ["synth", "-n", "5", "-o", str(out)])
    assert result.exit_code == 1


def test_synth_writes_to_standard_output_with_a_dash() -> None:
    result = runner.invoke(app, ["synth", "-n", "7", "-s", "2", "-o", "-"])
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert [orjson.loads(line)["id"] for line in lines] == [f"S{i:07d}" for i in range(1, 8)]
