"""The quality pass a part of the registry at a time equals the pass over the whole registry:
the strata (summed over the parts), every measure's units and the outcome inputs (the parts'
rows together), in memory and over a snapshot read part by part (issue 19)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bonepath.population.chunks import patient_chunks
from bonepath.population.quality import measure_snapshot, snapshot_stages
from bonepath.population.snapshot import write_tables
from bonepath.quality.compute import OUTCOMES, STRATA_TABLE, TASKS, UNITS, Period
from bonepath.quality.results import build_report
from bonepath.quality.run import compute_quality, run_stages
from quality.conftest import AS_OF, Cohort

PERIOD = Period(dt.date(2024, 1, 1), AS_OF)
KEEP = (UNITS, OUTCOMES)
PATIENTS = 5_000
"""The first patients of the seeded 20,000-patient cohort (quality/conftest.py)."""


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(row.values()) for row in table.to_pylist()),
        key=lambda row: tuple((value is None, str(value)) for value in row),
    )


def _same(left: dict[str, pa.Table], right: dict[str, pa.Table]) -> None:
    assert set(left) == set(right)
    for name in left:
        assert left[name].schema == right[name].schema, name
        assert _rows(left[name]) == _rows(right[name]), name


def _first(tables: dict[str, pa.Table], patients: int) -> dict[str, pa.Table]:
    last = tables["patients"]["pk"][patients - 1].as_py()
    return {name: table.filter(pc.less_equal(table["pk"], last)) for name, table in tables.items()}


@pytest.fixture(scope="module")
def registry(cohort: Cohort) -> dict[str, pa.Table]:
    return _first(cohort.tables, PATIENTS)


@pytest.fixture(scope="module")
def whole(registry: dict[str, pa.Table]) -> dict[str, pa.Table]:
    return run_stages(registry, PERIOD, KEEP, chunk_patients=PATIENTS)


@pytest.fixture(scope="module")
def snapshot(registry: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("quality") / "snapshot"
    write_tables(registry, directory)
    return directory


def test_the_whole_pass_has_units_of_every_measure_and_many_strata(
    whole: dict[str, pa.Table],
) -> None:
    measures = set(whole[UNITS].column("measure").to_pylist())
    assert {"QC-01", "QC-02", "QC-03", "QC-04", "QC-09", "QC-10", "QC-12"} <= measures
    assert whole[STRATA_TABLE].num_rows > 500
    assert whole[OUTCOMES].num_rows > 200


def test_parts_of_700_patients_equal_the_whole(
    registry: dict[str, pa.Table], whole: dict[str, pa.Table]
) -> None:
    assert len(list(patient_chunks(registry, 700))) == 8  # the last part smaller
    _same(run_stages(registry, PERIOD, KEEP, chunk_patients=700), whole)


def test_tiny_parts_equal_one_part_on_a_slice_of_the_cohort(
    registry: dict[str, pa.Table],
) -> None:
    sliced = _first(registry, 600)
    one = run_stages(sliced, PERIOD, KEEP, chunk_patients=600)
    assert one[UNITS].num_rows > 0
    _same(run_stages(sliced, PERIOD, KEEP, chunk_patients=41), one)  # 15 parts


def test_the_reminder_tasks_are_split_with_their_patients(registry: dict[str, pa.Table]) -> None:
    pks = list(range(1, PATIENTS + 1, 23))
    tasks = pa.table(
        {
            "pk": pa.array(pks[::-1], pa.int64()),  # not in key order
            "opened": pa.array([dt.date(2025, 3, 1 + i % 28) for i in range(len(pks))]),
            "closed": pa.array(
                [None if i % 3 else dt.date(2025, 3, 5 + i % 20) for i in range(len(pks))],
                pa.date32(),
            ),
            "reason": pa.array([("cost", "superseded", None)[i % 3] for i in range(len(pks))]),
        }
    )
    tables = {**registry, TASKS: tasks}
    one = run_stages(tables, PERIOD, chunk_patients=PATIENTS)
    strata = one[STRATA_TABLE].to_pylist()
    qc08 = [r for r in strata if r["measure"] == "QC-08" and r["by"] is None]
    assert qc08 and qc08[0]["denominator"] == len(pks) and qc08[0]["known"] == len(pks)
    _same(run_stages(tables, PERIOD, chunk_patients=999), one)


def test_a_snapshot_read_part_by_part_equals_the_whole(
    snapshot: Path, whole: dict[str, pa.Table], registry: dict[str, pa.Table]
) -> None:
    _same(snapshot_stages(snapshot, PERIOD, KEEP, chunk_patients=900), whole)
    report = measure_snapshot(snapshot, PERIOD.start, PERIOD.end, chunk_patients=1_300)
    expected = build_report(whole[STRATA_TABLE].to_pylist(), PERIOD.start, PERIOD.end)
    assert report.to_json() == expected.to_json()
    assert report == compute_quality(registry, PERIOD.start, PERIOD.end)
    assert report["QC-01"].denominator > 1_000


def test_a_hospital_of_the_snapshot_equals_its_patients_measured_alone(
    registry: dict[str, pa.Table], snapshot: Path
) -> None:
    people = registry["patients"]
    hospital = str(people["hospital_id"][0].as_py())
    keys = people.filter(pc.equal(people["hospital_id"], hospital))["pk"]
    alone = {name: table.filter(pc.is_in(table["pk"], keys)) for name, table in registry.items()}
    assert 0 < len(keys) < PATIENTS
    report = measure_snapshot(
        snapshot, PERIOD.start, PERIOD.end, hospitals={hospital}, chunk_patients=150
    )
    assert report == compute_quality(alone, PERIOD.start, PERIOD.end, {hospital})
    assert report.hospitals == (hospital,)


def test_no_patient_selected_gives_empty_strata(snapshot: Path) -> None:
    stages = snapshot_stages(snapshot, PERIOD, hospitals={"no such hospital"})
    assert stages[STRATA_TABLE].num_rows == 0
    assert stages[STRATA_TABLE].column_names == [
        "measure",
        "by",
        "value",
        "numerator",
        "known",
        "denominator",
    ]
