"""`bonepath mdt`: the case list exactly as issue 16 names it, a case from MDT-01 by script,
refusals as ``{"errors": [...]}`` with exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.store.repository import open_store

from .support import REFERRAL_DAY, SUSPECTED, UNSTABLE, record

runner = CliRunner()


@pytest.fixture
def url(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with open_store(db_url) as store:
        store.upsert_records([record(SUSPECTED), record(UNSTABLE)], import_source="test")
    monkeypatch.setenv("BONEPATH_DATABASE_URL", db_url)
    yield db_url


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_cases_from_mdt01_by_script_and_listed_as_the_issue_says(url: str) -> None:
    day = REFERRAL_DAY.isoformat()
    code, out = _run(
        "mdt",
        "create",
        "--patient",
        "MDT-SUSP",
        "--source",
        "test",
        "--by",
        "coord",
        "--as-of",
        day,
    )
    assert code == 0, out
    made = json.loads(out)
    assert made["triggers"] == ["DX-04"] and made["state"] == "proposed"
    assert made["summary"]["renal"]["crcl_ml_min"] == 72.9
    code, out = _run(
        "mdt",
        "create",
        "--patient",
        "MDT-SPINE",
        "--source",
        "test",
        "--by",
        "coord",
        "--as-of",
        day,
        "--question",
        "pain",
        "--text",
        "镇痛方案",
    )
    assert code == 0, out

    code, out = _run("mdt", "cases", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert list(listed) == ["cases"]
    first = listed["cases"][0]
    assert list(first) == [
        "id",
        "patient",
        "hospital",
        "state",
        "question",
        "triggers",
        "referred_to",
        "meeting_date",
        "decisions",
    ]
    assert first == {
        "id": made["id"],
        "patient": "MDT-SUSP",
        "hospital": "H1",
        "state": "proposed",
        "question": "diagnosis",
        "triggers": ["DX-04"],
        "referred_to": None,
        "meeting_date": None,
        "decisions": [],
    }
    assert [c["question"] for c in listed["cases"]] == ["diagnosis", "pain"]

    code, out = _run("mdt", "cases", "--state", "decided", "--format", "json")
    assert code == 0 and json.loads(out) == {"cases": []}
    code, out = _run("mdt", "cases", "--format", "table")
    assert code == 0 and "MDT-SUSP" in out and "DX-04" in out

    # the same patient twice, an unknown state: refused with the problems, exit 2
    code, out = _run(
        "mdt",
        "create",
        "--patient",
        "MDT-SUSP",
        "--source",
        "test",
        "--by",
        "coord",
        "--as-of",
        day,
    )
    assert code == 2 and json.loads(out)["errors"][0]["code"] == "MDT_CASE_EXISTS"
    code, out = _run("mdt", "cases", "--state", "closed", "--format", "json")
    assert code == 2
    assert json.loads(out)["errors"][0]["accepted"][0] == "proposed"


def test_responsibilities_and_tasks_as_json(url: str) -> None:
    code, out = _run("mdt", "responsibilities", "--format", "json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {
        "decision": "bm_confirmed",
        "task": "dental_check",
        "owner": "nurse",
        "due_days": 7,
    }.items() <= {k: v for k, v in rows[1].items() if k != "title"}.items()
    code, out = _run("mdt", "tasks", "--status", "all")
    assert code == 0 and json.loads(out) == {"tasks": []}
