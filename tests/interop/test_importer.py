"""Batch import into a real store: good records kept, bad ones refused and written to rejects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonepath.interop.importer import import_paths
from bonepath.interop.tabular import write_workbook
from bonepath.record import problems as codes
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store, open_store
from store.support import (
    expected_table_counts,
    stored_table_counts,
    with_bad_unit,
    with_future_weight,
)

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def store(db_url: str) -> Any:
    with open_store(db_url) as opened:
        yield opened


def _ndjson(path: Path, items: list[Any]) -> Path:
    path.write_text(
        "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items),
        encoding="utf-8",
    )
    return path


def test_good_records_kept_bad_ones_refused_and_written_to_rejects(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    cohort = make_cohort(6)
    future = with_future_weight(cohort[4])
    path = _ndjson(
        tmp_path / "batch.ndjson",
        [cohort[0], cohort[1], with_bad_unit(cohort[2]), "{not json", cohort[3], future],
    )

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.updated, report.unchanged, report.refused) == (3, 0, 0, 3)
    good = [parse_record(data, today=TODAY) for data in (cohort[0], cohort[1], cohort[3])]
    assert store.count_patients() == 3
    assert stored_table_counts(store.engine) == expected_table_counts(good)
    assert store.get_record("synth", cohort[2]["id"]) is None
    rejects = tmp_path / "batch.rejects.ndjson"
    assert report.rejects_files == [rejects]
    lines = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [(r["location"], r["source"], r["id"]) for r in lines] == [
        (f"{path}:3", "synth", cohort[2]["id"]),
        (f"{path}:4", None, None),
        (f"{path}:6", "synth", cohort[4]["id"]),
    ]
    assert lines[0]["errors"][0] | {"problem": "…"} == {
        "path": "/events/labs/0/unit",
        "code": codes.UNKNOWN_UNIT,
        "problem": "…",
        "accepted": ["umol/L", "mg/dL"],
    }
    assert lines[1]["errors"][0]["code"] == codes.MALFORMED_JSON
    assert [(e["path"], e["code"]) for e in lines[2]["errors"]] == [
        ("/events/vitals/0/date", codes.FUTURE_DATE)
    ]


def test_reimport_is_unchanged_and_a_fixed_input_clears_its_rejects(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    cohort = make_cohort(4)
    path = _ndjson(tmp_path / "b.ndjson", [cohort[0], with_bad_unit(cohort[1]), cohort[2]])
    import_paths(store, [path], today=TODAY)
    assert (tmp_path / "b.rejects.ndjson").exists()

    _ndjson(path, [cohort[0], cohort[1], cohort[2]])
    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.updated, report.unchanged, report.refused) == (1, 0, 2, 0)
    assert not (tmp_path / "b.rejects.ndjson").exists()
    assert report.rejects_files == []


def test_explicit_rejects_file_collects_all_inputs_and_exists_when_empty(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    cohort = make_cohort(3)
    first = _ndjson(tmp_path / "one.ndjson", [with_bad_unit(cohort[0])])
    second = tmp_path / "two.json"
    second.write_text(json.dumps([cohort[1], with_bad_unit(cohort[2])]), encoding="utf-8")
    rejects = tmp_path / "out" / "rejects.ndjson"

    report = import_paths(store, [first, second], today=TODAY, rejects=rejects)

    locations = [orjson.loads(line)["location"] for line in rejects.read_bytes().splitlines()]
    assert locations == [f"{first}:1", f"{second}[1]"]
    assert report.imported == 1

    clean = _ndjson(tmp_path / "clean.ndjson", [cohort[1]])
    report = import_paths(store, [clean], today=TODAY, rejects=rejects)
    assert report.refused == 0 and rejects.read_bytes() == b""


def test_workbook_import_reports_the_sheet_cell_of_each_problem(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    records = [parse_record(data, today=TODAY) for data in make_cohort(10)]
    cohort = [r.to_json_dict() for r in records if len(r.events.labs) > 2][:3]
    cohort[1]["events"]["labs"][2]["value"] = "high"
    path = write_workbook(tmp_path / "cohort.xlsx", cohort)

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (2, 1)
    (refusal,) = report.refusals
    assert (refusal.source, refusal.id) == ("synth", cohort[1]["id"])
    assert refusal.location == f"{path}[patients 患者]:3"
    (error,) = refusal.errors
    labs_before = len(cohort[0]["events"]["labs"])
    assert error["path"] == "/events/labs/2/value"
    assert error["code"] == codes.NOT_A_NUMBER
    assert error["location"] == f"{path}[labs 检验]:{2 + labs_before + 2}"
    assert error["column"] == "结果值 / value"
    assert (tmp_path / "cohort.rejects.ndjson").exists()


def test_batch_row_records_the_run(store: Store, tmp_path: Path, make_cohort: Any) -> None:
    from sqlalchemy import select

    from bonepath.store.schema import import_batches

    cohort = make_cohort(3)
    path = _ndjson(tmp_path / "b.ndjson", [cohort[0], with_bad_unit(cohort[1]), cohort[2]])
    report = import_paths(store, [path], today=TODAY, chunk_size=1)

    with store.engine.connect() as conn:
        row = conn.execute(
            select(import_batches).where(import_batches.c.id == report.batch_id)
        ).one()
    assert (row.imported, row.unchanged, row.refused, row.import_source) == (2, 0, 1, str(path))
    assert row.finished_at is not None
    provenance = store.get_provenance("synth", cohort[0]["id"])
    assert provenance is not None and provenance.import_source == str(path)


def test_validation_in_worker_processes_keeps_input_order(tmp_path: Path, make_cohort: Any) -> None:
    from bonepath.interop.importer import PARALLEL_AFTER

    cohort = make_cohort(PARALLEL_AFTER + 700)
    bad = {5, PARALLEL_AFTER + 10, PARALLEL_AFTER + 650}
    items = [with_bad_unit(data) if index in bad else data for index, data in enumerate(cohort)]
    items.append(cohort[3])  # the same patient again, later in the file: unchanged
    path = _ndjson(tmp_path / "big.ndjson", items)

    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        report = import_paths(store, [path], today=TODAY, jobs=2, chunk_size=500)
        counts = stored_table_counts(store.engine)

    assert (report.imported, report.unchanged, report.refused) == (len(cohort) - 3, 1, 3)
    assert [r.location for r in report.refusals] == [f"{path}:{index + 1}" for index in sorted(bad)]
    good = [parse_record(data, today=TODAY) for i, data in enumerate(cohort) if i not in bad]
    assert counts == expected_table_counts(good)


# ---- NUL, control characters in ids, deep JSON (issue 13 items 4, 5, 12) ---------------------


def _deep(depth: int) -> str:
    """A record whose ``hospital.name`` is ``depth`` nested lists."""
    return '{"format": "bonepath-record/1", "id": "DEEP", "hospital": {"name": %s}}' % (
        "[" * depth + "]" * depth
    )


def test_nul_and_control_characters_refuse_their_record_and_keep_the_batch(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    """On PostgreSQL one U+0000 used to fail the whole chunk: 0 records stored, exit 1."""
    cohort = make_cohort(6)
    nul_text = {**cohort[1], "hospital": {**cohort[1].get("hospital", {}), "name": "H\x00"}}
    nul_id = {**cohort[2], "id": "P\x00"}
    newline_source = {**cohort[3], "source": "his\nb"}
    blank_physician = {**cohort[4], "physician": {"id": "  "}}
    path = _ndjson(
        tmp_path / "batch.ndjson",
        [cohort[0], nul_text, nul_id, newline_source, blank_physician, cohort[5]],
    )

    report = import_paths(store, [path], today=TODAY)

    assert (report.imported, report.refused) == (2, 4)
    assert store.count_patients() == 2
    refused = {r.location.rsplit(":", 1)[1]: r.errors for r in report.refusals}
    assert [(e["path"], e["code"]) for e in refused["2"]] == [
        ("/hospital/name", codes.CONTROL_CHARACTER)
    ]
    assert [(e["path"], e["code"]) for e in refused["3"]] == [("/id", codes.CONTROL_CHARACTER)]
    assert [(e["path"], e["code"]) for e in refused["4"]] == [("/source", codes.CONTROL_CHARACTER)]
    assert [(e["path"], e["code"]) for e in refused["5"]] == [("/physician/id", codes.WRONG_FORMAT)]


def test_deep_json_refuses_its_record_and_keeps_the_batch(
    store: Store, tmp_path: Path, make_cohort: Any
) -> None:
    """1,000 levels used to raise RecursionError and abort the import; 5,000 are past the JSON
    decoder's own bound: each is refused by its location, NDJSON line or list item."""
    cohort = make_cohort(3)
    lines = _ndjson(tmp_path / "lines.ndjson", [cohort[0], _deep(1000), _deep(5000)])
    listed = tmp_path / "list.json"
    listed.write_text(
        f"[{json.dumps(cohort[1])}, {_deep(5000)}, {json.dumps(cohort[2])}]", encoding="utf-8"
    )

    report = import_paths(store, [lines, listed], today=TODAY)

    assert (report.imported, report.refused) == (3, 3)
    assert store.count_patients() == 3
    refused = {r.location: r.errors for r in report.refusals}
    assert set(refused) == {f"{lines}:2", f"{lines}:3", f"{listed}[1]"}
    assert all([e["code"] for e in errors] == [codes.TOO_DEEP] for errors in refused.values())
    assert "line 1 column" in refused[f"{lines}:3"][0]["problem"]


# ---- the writing thread (issue 19) -----------------------------------------------------------


def test_a_store_failure_in_the_writing_thread_stops_the_import_with_the_chunks_before_kept(
    store: Store, tmp_path: Path, make_cohort: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bonepath.errors import StoreError

    path = _ndjson(tmp_path / "batch.ndjson", make_cohort(9))
    real = Store.upsert_prepared
    calls: list[int] = []

    def fail_second_chunk(self: Store, items: Any, **kwargs: Any) -> Any:
        calls.append(len(items))
        if len(calls) == 2:
            raise StoreError("the disk is full")
        return real(self, items, **kwargs)

    monkeypatch.setattr(Store, "upsert_prepared", fail_second_chunk)
    with pytest.raises(StoreError, match="the disk is full"):
        import_paths(store, [path], today=TODAY, chunk_size=3)
    assert store.count_patients() == 3  # the first chunk, committed before the failure
    assert calls == [3, 3]  # the chunk queued after it was dropped, not written


def test_an_in_memory_store_is_written_by_the_importing_thread(
    tmp_path: Path, make_cohort: Any
) -> None:
    path = _ndjson(tmp_path / "batch.ndjson", make_cohort(5))
    with open_store("sqlite:///:memory:") as memory:
        report = import_paths(memory, [path], today=TODAY, chunk_size=2)
        assert (report.imported, memory.count_patients()) == (5, 5)
