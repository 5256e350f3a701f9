"""A registry evaluated a part of the patients at a time gives the same findings as in one
part: the parts cover every patient once, with all and only that patient's rows."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bonepath.engine.evaluate import evaluate_many
from bonepath.population.chunks import map_parts, patient_chunks
from bonepath.population.registry import evaluate_snapshot, registry_findings, snapshot_findings
from bonepath.population.snapshot import read_snapshot, write_snapshot
from bonepath.record.parse import parse_record
from bonepath.synth import generate_record
from population.support import TODAY, stored

DAYS = (dt.date(2025, 6, 1), dt.date(2026, 11, 1))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chunks")
    records = [parse_record(generate_record(i, 11), today=TODAY) for i in range(120)]
    store = stored(f"sqlite:///{root / 's.sqlite3'}", records)
    write_snapshot(store, root / "snap")
    store.close()
    return root / "snap"


def test_parts_cover_every_patient_once_with_only_their_rows(snapshot: Path) -> None:
    tables = read_snapshot(snapshot)
    parts = list(patient_chunks(tables, 50))
    assert [p["patients"].num_rows for p in parts] == [50, 50, 20]
    for name, table in tables.items():
        assert sum(p[name].num_rows for p in parts) == table.num_rows
        for part in parts:
            assert pc.all(pc.is_in(part[name]["pk"], part["patients"]["pk"])).as_py() is not False


def test_chunked_evaluation_equals_one_part_finding_by_finding(snapshot: Path) -> None:
    whole = evaluate_snapshot(snapshot, DAYS, chunk_patients=10_000)
    parted = evaluate_snapshot(snapshot, DAYS, chunk_patients=17)
    assert [e.to_json() for e in parted.evaluations] == [e.to_json() for e in whole.evaluations]
    assert whole.finding_count > 100
    tables = read_snapshot(snapshot)
    assert registry_findings(tables, DAYS, chunk_patients=17).num_rows == whole.finding_count


def test_chunked_evaluation_equals_evaluate_many(snapshot: Path) -> None:
    records = [parse_record(generate_record(i, 11), today=TODAY) for i in range(120)]
    expected = {
        (e.source, e.patient, e.as_of): e.to_json()
        for e in evaluate_many([(r, day) for day in DAYS for r in records])
    }
    parted = evaluate_snapshot(snapshot, DAYS, chunk_patients=25)
    assert {(e.source, e.patient, e.as_of): e.to_json() for e in parted.evaluations} == expected


def test_a_part_holds_at_least_one_patient(snapshot: Path) -> None:
    with pytest.raises(ValueError, match="at least one patient"):
        list(patient_chunks(read_snapshot(snapshot), 0))


def test_tables_out_of_key_order_are_cut_by_key(snapshot: Path) -> None:
    tables = read_snapshot(snapshot)
    shuffled = {
        name: table.take(pc.sort_indices(table["pk"], sort_keys=[("pk", "descending")]))
        for name, table in tables.items()
    }
    parts = list(patient_chunks(shuffled, 50))
    assert [p["patients"]["pk"].to_pylist() for p in parts] == [
        list(range(1, 51)),
        list(range(51, 101)),
        list(range(101, 121)),
    ]
    assert sum(p["labs"].num_rows for p in parts) == tables["labs"].num_rows
    assert registry_findings(shuffled, DAYS, chunk_patients=50).num_rows == (
        registry_findings(tables, DAYS, chunk_patients=10_000).num_rows
    )


def _rows(table: pa.Table) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in table.to_pylist()]


def test_parts_side_by_side_give_the_findings_of_one_part_in_the_same_order(
    snapshot: Path,
) -> None:
    tables = read_snapshot(snapshot)
    one = registry_findings(tables, DAYS, chunk_patients=10_000, workers=1)
    in_order = registry_findings(tables, DAYS, chunk_patients=13, workers=1)
    side_by_side = registry_findings(tables, DAYS, chunk_patients=13, workers=3)
    assert one.num_rows > 100
    assert side_by_side.schema == one.schema
    assert _rows(side_by_side) == _rows(in_order)  # the parts' order, day by day
    assert sorted(map(str, _rows(side_by_side))) == sorted(map(str, _rows(one)))
    from_files = snapshot_findings(snapshot, DAYS, chunk_patients=13, workers=2)
    assert _rows(from_files) == _rows(in_order)
    parted = evaluate_snapshot(snapshot, DAYS, chunk_patients=29, workers=2)
    whole = evaluate_snapshot(snapshot, DAYS, chunk_patients=10_000, workers=1)
    assert [e.to_json() for e in parted.evaluations] == [e.to_json() for e in whole.evaluations]


def test_map_parts_keeps_the_order_and_reads_at_most_one_part_ahead() -> None:
    read: list[int] = []
    done = [threading.Event() for _ in range(9)]
    running = 0
    most = 0
    lock = threading.Lock()

    def parts() -> Iterator[int]:
        for i in range(9):
            read.append(i)
            yield i

    def work(part: int, alone: bool) -> tuple[int, bool, int]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if part % 2 == 0 and part < 8:
            assert done[part + 1].wait(10)  # an even part finishes after the next one
        with lock:
            running -= 1
        done[part].set()
        return part, alone, len(read)

    results = list(map_parts(parts(), work, workers=2))
    assert [part for part, _, _ in results] == list(range(9))
    assert {alone for _, alone, _ in results} == {False}
    assert most == 2
    # when part i is handed on, at most parts i .. i + 2 have been read
    assert all(seen <= part + 3 for part, _, seen in results)


def test_map_parts_works_on_a_single_part_alone_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    result = list(map_parts([7], lambda part, alone: (part, alone, threading.get_ident()), 2))
    assert result == [(7, True, caller)]
    assert list(map_parts([1, 2], lambda part, alone: (part, alone), 1)) == [(1, True), (2, True)]
