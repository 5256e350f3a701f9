"""`bonepath import`, `bonepath template` and `bonepath db` as a user runs them.

Exit codes and JSON keys are public (interfaces.md); the kill test proves that an import cut
off by SIGKILL leaves only whole patients, and that running it again completes the rest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.record.parse import parse_record
from bonepath.store import migrate
from bonepath.store.db import create_store_engine
from bonepath.store.schema import import_batches
from store.support import (
    expected_rows_by_patient,
    stored_rows_by_patient,
    stored_table_counts,
    with_bad_unit,
)

runner = CliRunner()


def _run(db_url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"BONEPATH_DATABASE_URL": db_url})


def _ndjson(path: Path, items: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in items))
    return path


def test_all_good_exits_0_and_reimport_is_unchanged(
    db_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    path = _ndjson(tmp_path / "c.ndjson", make_cohort(3))

    first = _run(db_url, "import", str(path))
    again = _run(db_url, "import", str(path))

    assert first.exit_code == 0, first.output
    assert first.stdout.strip().endswith("imported 3, updated 0, unchanged 0, refused 0")
    assert again.exit_code == 0
    assert again.stdout.strip().endswith("imported 0, updated 0, unchanged 3, refused 0")
    assert not (tmp_path / "c.rejects.ndjson").exists()


def test_refusals_exit_2_good_records_still_imported_json_output(
    db_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    cohort = make_cohort(3)
    path = _ndjson(tmp_path / "c.ndjson", [cohort[0], with_bad_unit(cohort[1]), cohort[2]])

    result = _run(db_url, "import", str(path), "--format", "json")

    assert result.exit_code == 2, result.output
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("imported", "updated", "unchanged", "refused")} == {
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "refused": 1,
    }
    (refusal,) = out["refusals"]
    assert (refusal["location"], refusal["source"], refusal["id"]) == (
        f"{path}:2",
        "synth",
        cohort[1]["id"],
    )
    assert refusal["errors"][0]["path"] == "/events/labs/0/unit"
    assert refusal["errors"][0]["accepted"] == ["umol/L", "mg/dL"]
    assert out["rejects_files"] == [str(tmp_path / "c.rejects.ndjson")]
    engine = create_store_engine(db_url)
    try:
        assert stored_table_counts(engine)["patients"] == 2
    finally:
        engine.dispose()


def test_refusals_are_listed_in_text_output(db_url: str, tmp_path: Path, make_cohort: Any) -> None:
    data = make_cohort(1)[0]
    path = _ndjson(tmp_path / "c.ndjson", [with_bad_unit(data)])
    rejects = tmp_path / "all-rejects.ndjson"

    result = _run(db_url, "import", str(path), "--rejects", str(rejects))

    assert result.exit_code == 2
    assert f"refused {path}:1 (synth/{data['id']}):" in result.stdout
    assert "/events/labs/0/unit  UNKNOWN_UNIT" in result.stdout
    assert f"refused 1 — rejects: {rejects}" in result.stdout
    assert orjson.loads(rejects.read_bytes())["id"] == data["id"]


def test_unusable_paths_and_stores_exit_1(tmp_path: Path, make_cohort: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    missing = _run(url, "import", str(tmp_path / "missing.ndjson"))
    assert missing.exit_code == 1
    assert "no such file or directory" in missing.stderr

    path = _ndjson(tmp_path / "c.ndjson", make_cohort(1))
    unreachable = _run(
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", "import", str(path)
    )
    assert unreachable.exit_code == 1
    assert "cannot open the store" in unreachable.stderr


def test_db_upgrade_creates_the_store_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'store.sqlite3'}"

    first = _run(url, "db", "upgrade")
    second = _run(url, "db", "upgrade")
    current = _run(url, "db", "current")

    head = migrate.head_revision()  # the newest migration shipped (0003 and counting)
    assert first.exit_code == 0 and f"upgraded from empty to revision {head}" in first.stdout
    assert second.exit_code == 0 and f"already at revision {head}" in second.stdout
    assert current.stdout.strip() == f"revision {head}; newest {head}"
    assert (tmp_path / "new" / "store.sqlite3").is_file()


def test_template_commands_write_importable_empty_templates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    workbook = tmp_path / "template.xlsx"

    assert _run(url, "template", str(workbook)).exit_code == 0
    assert _run(url, "template", str(tmp_path / "csv")).exit_code == 0
    refused_overwrite = _run(url, "template", str(workbook))
    imported = _run(url, "import", str(workbook), str(tmp_path / "csv"))

    assert refused_overwrite.exit_code == 1 and "--force" in refused_overwrite.stderr
    assert _run(url, "template", str(workbook), "--force").exit_code == 0
    assert (
        (tmp_path / "csv" / "labs.csv")
        .read_text(encoding="utf-8-sig")
        .startswith("来源系统 / source,患者编号 / id,检验日期 / date")
    )
    assert imported.exit_code == 0, imported.output
    assert "imported 0, updated 0, unchanged 0, refused 0" in imported.stdout


def test_commands_are_registered() -> None:
    result = runner.invoke(app, ["--help"])
    assert all(name in result.stdout for name in ("import", "template", "db"))


@pytest.mark.slow
def test_killed_import_leaves_whole_patients_and_rerun_completes(
    db_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    count = 2000
    cohort = make_cohort(count, seed=11)
    path = _ndjson(tmp_path / "big.ndjson", cohort)
    expected = expected_rows_by_patient(parse_record(data) for data in cohort)
    env = {**os.environ, "BONEPATH_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "bonepath", "import", str(path), "--chunk-size", "100"]
    engine = create_store_engine(db_url)
    try:
        _run(db_url, "db", "upgrade")
        process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the kill takes any helper too
        )
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 200 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM patients")).scalar_one()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

        assert process.returncode == -signal.SIGKILL
        rows = stored_rows_by_patient(engine)
        assert 200 <= len(rows) < count
        assert len(rows) % 100 == 0  # whole chunks only
        for key, stored_rows in rows.items():
            assert stored_rows == expected[key], key
        with engine.connect() as conn:
            finished = conn.execute(select(import_batches.c.finished_at)).scalars().all()
        assert finished == [None]  # the run was cut off

        rerun = subprocess.run(
            [*command, "--format", "json"], env=env, capture_output=True, check=False
        )
        assert rerun.returncode == 0, rerun.stderr
        report = json.loads(rerun.stdout)
        assert (report["imported"], report["unchanged"]) == (count - len(rows), len(rows))
        assert stored_rows_by_patient(engine) == expected
    finally:
        engine.dispose()
