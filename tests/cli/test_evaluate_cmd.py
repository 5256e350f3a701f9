"""`bonepath evaluate` as outside tools call it: a real subprocess, exit codes, JSON shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="shared examples not beside the checkout")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bonepath", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_json_output_matches_interfaces_md() -> None:
    r = run("evaluate", str(EXAMPLES / "adherence_overdue.json"), "--as-of", "2026-09-30")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["patient"] == "EX-ADH" and out["as_of"] == "2026-09-30" and out["rules_version"]
    adh03 = next(f for f in out["findings"] if f["rule"] == "ADH-03")
    assert set(adh03) >= {"rule", "kind", "severity", "title", "due", "values", "sources"}
    assert adh03["values"] == {"drug": "denosumab", "due": "2026-08-24", "overdue_days": 37}
    assert adh03["kind"] == "action" and adh03["severity"] == "high"


def test_refused_record_exits_2_with_the_error_path() -> None:
    r = run("evaluate", str(EXAMPLES / "refused_bad_unit.json"), "--as-of", "2026-10-10")
    assert r.returncode == 2
    errors = json.loads(r.stdout)["errors"]
    assert [e["path"] for e in errors] == ["/events/labs/0/unit"]
    assert errors[0]["accepted"] == ["umol/L", "mg/dL"]


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_record_exits_2_too_deep(tmp_path: Path, depth: int) -> None:
    """Issue 13 item 5: 1,000 levels used to end in a RecursionError (exit 1)."""
    record = json.loads((EXAMPLES / "adherence_overdue.json").read_text(encoding="utf-8"))
    text = json.dumps(record)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    r = run("evaluate", str(path), "--as-of", "2026-09-30")
    assert r.returncode == 2, r.stderr
    assert [e["code"] for e in json.loads(r.stdout)["errors"]] == ["TOO_DEEP"]


def test_table_in_chinese_shows_what_when_and_why() -> None:
    r = run(
        "evaluate", str(EXAMPLES / "zoledronic_renal_dose.json"),
        "--as-of", "2026-10-21", "--format", "table", "--lang", "zh",
    )
    assert r.returncode == 0, r.stderr
    assert "唑来膦酸按肌酐清除率给药" in r.stdout  # BTA-03 title
    assert "dose_mg=3.3" in r.stdout and "2026-10-23" in r.stdout  # dose and ADH-01 due
    assert "003_adb8f62cb860f7f3.txt, 表2" in r.stdout  # the source of the line


def test_bad_as_of_is_refused() -> None:
    r = run("evaluate", str(EXAMPLES / "baseline_screening.json"), "--as-of", "2026-02-30")
    assert r.returncode == 2
    assert json.loads(r.stdout)["errors"][0]["code"] == "INVALID_DATE"


def test_stored_patient_is_evaluated_like_its_file(tmp_path: Path) -> None:
    env = {"BONEPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    record = EXAMPLES / "hypocalcaemia_hold.json"
    assert run("import", str(record), env=env).returncode == 0
    from_store = run(
        "evaluate", "--patient", "EX-HYPOCA", "--source", "example", "--as-of", "2026-10-06", env=env
    )
    from_file = run("evaluate", str(record), "--as-of", "2026-10-06")
    assert from_store.returncode == 0, from_store.stderr
    assert json.loads(from_store.stdout)["findings"] == json.loads(from_file.stdout)["findings"]
    assert any(f["rule"] == "SAFE-05" for f in json.loads(from_store.stdout)["findings"])


def test_import_chunk_default_matches_the_store() -> None:
    """The CLI spells the default chunk size literally (it imports the store lazily)."""
    import inspect

    from bonepath.cli import import_cmd
    from bonepath.store.repository import DEFAULT_CHUNK_SIZE

    assert f"] = {DEFAULT_CHUNK_SIZE}," in inspect.getsource(import_cmd)
