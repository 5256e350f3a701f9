"""The registry snapshot (Parquet per record table) evaluates exactly like the store it was
written from, is replaced whole on refresh, and is refused when it is not this version's
layout; the columnar findings table turns into the same findings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bonepath.engine.evaluate import findings_from_rows
from bonepath.errors import ConfigError
from bonepath.population.registry import (
    evaluate_registry,
    evaluate_snapshot,
    registry_findings,
    snapshot_findings,
)
from bonepath.population.snapshot import (
    FORMAT,
    MANIFEST,
    check_snapshot,
    read_snapshot,
    snapshot_info,
    snapshot_parts,
    write_snapshot,
    write_tables,
)
from bonepath.record.columns import TABLES
from bonepath.record.parse import parse_record
from bonepath.rules import load_catalogue
from bonepath.store.repository import Store
from bonepath.synth import generate_record
from population.support import AS_OF, TODAY, small_registry_records, stored

DAYS = (dt.date(2025, 6, 1), AS_OF)
WRITTEN = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The five hand-built patients and 150 synthetic ones in one SQLite store."""
    path = tmp_path_factory.mktemp("snapshot") / "registry.sqlite3"
    records = small_registry_records() + [
        parse_record(generate_record(i, 7), today=TODAY) for i in range(150)
    ]
    store = stored(f"sqlite:///{path}", records)
    yield store
    store.close()


@pytest.fixture(scope="module")
def snapshot(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("snap") / "registry"
    write_snapshot(store, directory, now=WRITTEN)
    return directory


@pytest.mark.parametrize("chunk", [200_000, 40], ids=["one part", "parts of 40"])
def test_snapshot_evaluation_equals_the_store_finding_by_finding(
    store: Store, snapshot: Path, chunk: int
) -> None:
    from_store = evaluate_registry(store, DAYS)
    from_snapshot = evaluate_snapshot(snapshot, DAYS, chunk_patients=chunk)
    assert from_snapshot.patients == from_store.patients
    assert [e.to_json() for e in from_snapshot.evaluations] == [
        e.to_json() for e in from_store.evaluations
    ]
    # the hand-built P0002 is on a SAFE-05 hold on AS_OF in both
    hold = from_snapshot.evaluation("his-a", "P0002", AS_OF)
    assert "SAFE-05" in {f.rule for f in hold.findings}


def test_snapshot_selects_a_hospital_like_the_store(store: Store, snapshot: Path) -> None:
    from_store = evaluate_registry(store, AS_OF, hospitals={"H02"})
    from_snapshot = evaluate_snapshot(snapshot, AS_OF, hospitals={"H02"}, chunk_patients=7)
    assert {(p.source, p.id) for p in from_snapshot.patients} >= {
        ("his-b", "P0001"),
        ("his-a", "P0002"),
        ("his-b", "P0004"),
    }
    assert all(p.hospital == "H02" for p in from_snapshot.patients)
    assert [e.to_json() for e in from_snapshot.evaluations] == [
        e.to_json() for e in from_store.evaluations
    ]


def test_columnar_findings_become_the_registry_findings(snapshot: Path) -> None:
    tables = read_snapshot(snapshot)
    found = registry_findings(tables, DAYS)
    assert found.column_names[:3] == ["as_of", "pk", "rule"]
    catalogue = load_catalogue()
    expected = evaluate_snapshot(snapshot, DAYS)
    pk_of = {(p.source, p.id): p.pk for p in expected.patients}
    for day in DAYS:
        rows = found.filter(pa.compute.equal(found["as_of"], day)).to_pylist()
        by_pk = findings_from_rows(rows, catalogue)
        for evaluation in expected.evaluations:
            if evaluation.as_of == day:
                pk = pk_of[(evaluation.source, evaluation.patient)]
                assert tuple(by_pk.get(pk, ())) == evaluation.findings
    assert found.num_rows == expected.finding_count


def test_snapshot_parts_are_read_a_key_range_at_a_time(snapshot: Path) -> None:
    """Parts of 40 patients: each holds only its patients' rows, and together they are the
    whole snapshot, row for row."""
    whole = read_snapshot(snapshot)
    parts = list(snapshot_parts(snapshot, 40))
    assert [part["patients"].num_rows for part in parts] == [40, 40, 40, 35]
    for part in parts:
        keys = set(part["patients"]["pk"].to_pylist())
        for name, table in part.items():
            assert set(table["pk"].to_pylist()) <= keys, name
            assert table.schema.equals(whole[name].schema)
    for name, table in whole.items():
        joined = pa.concat_tables([part[name] for part in parts])
        every_column = [(column, "ascending") for column in table.column_names]
        assert joined.sort_by(every_column).equals(table.sort_by(every_column)), name


def test_columnar_findings_of_a_snapshot_in_parts_equal_the_whole(snapshot: Path) -> None:
    whole = registry_findings(read_snapshot(snapshot), DAYS)
    parted = snapshot_findings(snapshot, DAYS, chunk_patients=40)
    assert parted.column_names == whole.column_names
    key = [
        ("as_of", "ascending"),
        ("pk", "ascending"),
        ("rule", "ascending"),
        ("item", "ascending"),
    ]
    assert parted.sort_by(key).equals(whole.sort_by(key))
    # nobody selected: no row, the same columns
    nobody = snapshot_findings(snapshot, AS_OF, hospitals={"H99"})
    assert nobody.num_rows == 0 and nobody.column_names == whole.column_names


def test_manifest_counts_the_rows_and_keeps_the_time_written(snapshot: Path) -> None:
    info = snapshot_info(snapshot)
    assert info.written_at == WRITTEN
    assert info.patients == 155
    assert set(info.rows) == set(TABLES)
    assert info.rows["bta"] == pq.read_metadata(snapshot / "bta.parquet").num_rows


def test_snapshot_is_what_the_store_held_when_written_until_refreshed(
    tmp_path: Path,
) -> None:
    store = stored(f"sqlite:///{tmp_path / 's.sqlite3'}", small_registry_records()[:2])
    directory = tmp_path / "snapshots" / "registry"
    write_snapshot(store, directory)
    store.upsert_records(small_registry_records()[2:3], import_source="test")
    assert {p.id for p in evaluate_snapshot(directory, AS_OF).patients} == {"P0001"}
    write_snapshot(store, directory)
    refreshed = evaluate_snapshot(directory, AS_OF)
    assert {p.id for p in refreshed.patients} == {"P0001", "P0002"}
    # replaced whole: nothing of the writing is left beside it
    assert [p.name for p in directory.parent.iterdir()] == ["registry"]
    store.close()


def test_missing_snapshot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no registry snapshot"):
        evaluate_snapshot(tmp_path / "none", AS_OF)


def test_snapshot_of_another_format_is_refused(snapshot: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    (other / MANIFEST).write_text(json.dumps({**manifest, "format": FORMAT + 1}), "utf-8")
    with pytest.raises(ConfigError, match="write it again"):
        read_snapshot(other)


def test_snapshot_with_a_table_of_another_layout_is_refused(snapshot: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for name in TABLES:
        table = pq.read_table(snapshot / f"{name}.parquet")
        if name == "labs":
            table = table.drop_columns([table.column_names[-1]])
        pq.write_table(table, other / f"{name}.parquet")
    (other / MANIFEST).write_bytes((snapshot / MANIFEST).read_bytes())
    with pytest.raises(ConfigError, match="another layout of labs"):
        read_snapshot(other)
    # Spark would read the files itself: their layout is checked (footers only) before
    with pytest.raises(ConfigError, match="another layout of labs"):
        check_snapshot(other)
    with pytest.raises(ConfigError, match="another layout of labs"):
        evaluate_snapshot(other, AS_OF, backend="spark")


def test_the_snapshot_layout_check_accepts_what_was_written(snapshot: Path) -> None:
    assert check_snapshot(snapshot).rows == snapshot_info(snapshot).rows


def test_unknown_snapshot_backend_is_refused(snapshot: Path) -> None:
    with pytest.raises(ConfigError, match="accepted: duckdb, spark"):
        evaluate_snapshot(snapshot, AS_OF, backend="postgres")  # type: ignore[arg-type]


def test_parts_of_a_snapshot_with_many_row_groups_are_the_whole(
    snapshot: Path, tmp_path: Path
) -> None:
    """Row groups of 7 rows: each part takes its rows from the groups read so far (each
    group is read once), and the parts are the whole snapshot, row for row, in key order."""
    whole = read_snapshot(snapshot)
    small = tmp_path / "small-groups"
    write_tables(whole, small, row_group_size=7)
    assert pq.ParquetFile(small / "labs.parquet").metadata.num_row_groups > 20
    for size in (1, 13, 40, 1_000):
        parts = list(snapshot_parts(small, size))
        for name, table in whole.items():
            joined = pa.concat_tables([part[name] for part in parts])
            assert joined.equals(table), (size, name)
        for part in parts:
            keys = set(part["patients"]["pk"].to_pylist())
            assert all(set(t["pk"].to_pylist()) <= keys for t in part.values())
    chosen = list(snapshot_parts(small, 9, hospitals={"H02"}))
    same = list(snapshot_parts(snapshot, 9, hospitals={"H02"}))
    assert len(chosen) == len(same) > 1
    for mine, theirs in zip(chosen, same, strict=True):
        for name in whole:
            assert mine[name].equals(theirs[name]), name


def _rows(table: pa.Table) -> list[str]:
    return sorted(repr(row) for row in table.to_pylist())


def test_parts_of_a_snapshot_written_out_of_key_order_still_hold_each_patients_rows(
    snapshot: Path, tmp_path: Path
) -> None:
    """A snapshot written by another tool, rows in reverse key order: in one row group each
    (sorted as read: parts are slices of sorted rows) and in groups of 7 (groups out of
    order: each part read with a key filter). Every part holds exactly its patients' rows."""
    whole = read_snapshot(snapshot)
    backwards = {
        name: table.take(pa.array(range(table.num_rows - 1, -1, -1), pa.int64()))
        for name, table in whole.items()
    }
    for groups in (None, 7):
        directory = tmp_path / f"backwards-{groups}"
        write_tables(backwards, directory, row_group_size=groups)
        for size in (13, 1_000):
            parts = list(snapshot_parts(directory, size))
            for name, table in whole.items():
                joined = pa.concat_tables([part[name] for part in parts])
                assert _rows(joined) == _rows(table), (groups, size, name)
            for part in parts:
                keys = set(part["patients"]["pk"].to_pylist())
                assert all(set(t["pk"].to_pylist()) <= keys for t in part.values())
                assert part["patients"]["pk"].to_pylist() == sorted(keys)
