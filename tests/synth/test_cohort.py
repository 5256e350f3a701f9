"""Whole cohorts: byte-identical for a seed, independent of size and worker count."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import orjson
import pytest

from bonepath.synth import CohortSpec, iter_chunks, write_cohort, write_ndjson

AS_OF = dt.date(2026, 11, 1)


def _bytes(spec: CohortSpec, workers: int, chunk: int) -> bytes:
    return b"".join(data for _, data in iter_chunks(spec, workers=workers, chunk=chunk))


def test_two_workers_write_the_same_bytes_as_one() -> None:
    spec = CohortSpec(patients=240, seed=11, as_of=AS_OF)
    assert _bytes(spec, workers=2, chunk=50) == _bytes(spec, workers=1, chunk=50)


def test_a_smaller_cohort_is_a_prefix_of_a_larger_one() -> None:
    small = _bytes(CohortSpec(patients=100, seed=4, as_of=AS_OF), workers=1, chunk=30)
    large = _bytes(CohortSpec(patients=250, seed=4, as_of=AS_OF), workers=1, chunk=70)
    assert large.startswith(small)
    assert small.count(b"\n") == 100


def test_each_line_is_one_json_record_in_patient_order() -> None:
    buffer = io.BytesIO()
    count = write_ndjson(CohortSpec(patients=25, seed=2, as_of=AS_OF), buffer, workers=1)
    lines = buffer.getvalue().splitlines()
    assert count == len(lines) == 25
    assert [orjson.loads(line)["id"] for line in lines] == [f"S{i:07d}" for i in range(1, 26)]


def test_write_cohort_leaves_only_the_finished_file(tmp_path: Path) -> None:
    out = tmp_path / "cohort.ndjson"
    written = write_cohort(CohortSpec(patients=30, seed=1, as_of=AS_OF), out, workers=1)
    assert written == 30
    assert [p.name for p in tmp_path.iterdir()] == ["cohort.ndjson"]


def test_same_spec_writes_identical_files(tmp_path: Path) -> None:
    spec = CohortSpec(patients=40, seed=8, as_of=AS_OF)
    write_cohort(spec, tmp_path / "a.ndjson", workers=1)
    write_cohort(spec, tmp_path / "b.ndjson", workers=1)
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()


def test_progress_is_reported_per_chunk() -> None:
    seen: list[int] = []
    spec = CohortSpec(patients=70, seed=3, as_of=AS_OF)
    write_ndjson(spec, io.BytesIO(), workers=1, progress=seen.append)
    assert sum(seen) == 70


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="patients must be 0 or more"):
        CohortSpec(patients=-1, seed=0, as_of=AS_OF)


def test_an_as_of_before_the_cohort_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before the cohort's first diagnosis date"):
        CohortSpec(patients=1, seed=0, as_of=dt.date(2018, 1, 1))


def test_an_as_of_after_the_latest_supported_date_is_refused() -> None:
    with pytest.raises(ValueError, match="after 2199-12-31"):
        CohortSpec(patients=1, seed=0, as_of=dt.date(2200, 6, 1))
