"""Issue 14 items 2 and 5: where the rejects file of a folder goes, relative names run from
inside a folder, Chinese refusals in text output, and `evaluate --patient ID` without --source."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.interop.tabular import write_csv_set

runner = CliRunner()


def _run(db_url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"BONEPATH_DATABASE_URL": db_url})


def _template_dir(directory: Path, cohort: list[dict[str, Any]]) -> Path:
    bad = copy.deepcopy(cohort[1])
    bad["sex"] = "x"
    write_csv_set(directory, [cohort[0], bad])
    return directory


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'bonepath.sqlite3'}"


def test_rejects_of_a_template_folder_go_inside_it_and_are_not_read_back(
    sqlite_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    folder = _template_dir(tmp_path / "导出", make_cohort(2))

    first = _run(sqlite_url, "import", f"{folder}/", "--format", "json")
    again = _run(sqlite_url, "import", f"{folder}/", "--format", "json")

    assert first.exit_code == 2, first.output
    rejects = folder / "导出.rejects.ndjson"
    assert json.loads(first.stdout)["rejects_files"] == [str(rejects)]
    assert not (tmp_path / "导出.rejects.ndjson").exists()  # beside the folder: the old place
    (line,) = rejects.read_bytes().splitlines()
    assert orjson.loads(line)["errors"][0]["path"] == "/sex"
    # the second run reads the same CSVs, not the rejects file as an NDJSON input
    report = json.loads(again.stdout)
    assert (report["unchanged"], report["refused"]) == (1, 1)


@pytest.mark.parametrize("args", [("patients.csv", "bta.csv", "labs.csv"), (".",)])
def test_bare_relative_names_run_from_inside_the_folder(
    sqlite_url: str,
    tmp_path: Path,
    make_cohort: Any,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:
    """Used to crash: ValueError: PosixPath('.') has an empty name, nothing imported."""
    folder = _template_dir(tmp_path / "county", make_cohort(2))
    monkeypatch.chdir(folder)

    result = _run(sqlite_url, "import", *args, "--format", "json")

    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert (report["imported"], report["refused"]) == (1, 1)
    assert report["rejects_files"] == ["county.rejects.ndjson"]
    assert (folder / "county.rejects.ndjson").exists()


def test_text_output_explains_a_refusal_in_chinese_and_says_the_accepted_values_once(
    sqlite_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    folder = _template_dir(tmp_path / "t", make_cohort(2))

    zh = _run(sqlite_url, "import", str(folder))
    en = _run(sqlite_url, "import", str(folder), "--lang", "en")

    line = next(text for text in zh.stdout.splitlines() if "/sex" in text)
    assert line.startswith("  /sex  UNKNOWN_CODE  “x”不是性别 / sex的可用值，请改为可接受的值之一")
    assert "（可接受：男 / male、女 / female）" in line
    assert f"({folder / 'patients.csv'}:3, 性别 / sex)" in line
    line = next(text for text in en.stdout.splitlines() if "/sex" in text)
    assert "'x' is not a value of 性别 / sex" in line
    assert line.count("female") == 1  # the accepted values are said once, not twice


def _imported(db_url: str, tmp_path: Path, record: dict[str, Any], source: str) -> None:
    data = {**copy.deepcopy(record), "source": source}
    path = tmp_path / f"{source}.json"
    path.write_bytes(orjson.dumps(data))
    result = _run(db_url, "import", str(path))
    assert result.exit_code == 0, result.output


def test_evaluate_finds_a_stored_patient_by_id_alone_and_asks_for_source_when_ambiguous(
    db_url: str, tmp_path: Path, make_cohort: Any
) -> None:
    record = make_cohort(1)[0]
    _imported(db_url, tmp_path, record, "his-county")

    found = _run(db_url, "evaluate", "--patient", record["id"], "--as-of", "2026-11-01")

    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["patient"] == record["id"]

    _imported(db_url, tmp_path, record, "lis-county")
    ambiguous = _run(db_url, "evaluate", "--patient", record["id"], "--as-of", "2026-11-01")
    chosen = _run(
        db_url,
        "evaluate",
        "--patient",
        record["id"],
        "--source",
        "lis-county",
        "--as-of",
        "2026-11-01",
    )
    missing = _run(db_url, "evaluate", "--patient", "NOBODY")

    assert ambiguous.exit_code == 1
    assert "held by 2 sources (his-county, lis-county); name one with --source" in ambiguous.output
    assert chosen.exit_code == 0, chosen.output
    assert missing.exit_code == 1 and "no stored patient with id 'NOBODY'" in missing.output
