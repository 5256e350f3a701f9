"""The store's record tables read back into Arrow exactly as the engine builds them from the
records: same columns (no provenance), same types, same values, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import create_engine

from bonepath.engine.duckdb_runner import arrow_schema, to_arrow
from bonepath.population.registry import patient_conditions
from bonepath.population.tables import _read_sqlite, read_table_parts, read_tables, sqlite_file
from bonepath.record.columns import TABLES, to_columns
from bonepath.record.parse import parse_record
from population.support import TODAY, small_registry_data, stored

AWKWARD_TEXT = 'CT: "lytic", rib 5;\nsecond line, with commas'


def _records() -> list:
    data = small_registry_data()
    screening = copy.deepcopy(data[3])
    screening["id"] = "P0005"
    screening["events"]["imaging"][0]["report_text"] = AWKWARD_TEXT
    return [parse_record(d, today=TODAY) for d in [*data, screening]]


def _sorted(table: pa.Table) -> pa.Table:
    keys = [c for c in ("pk", "seq", "site") if c in table.column_names]
    return table.sort_by([(k, "ascending") for k in keys])


def test_tables_read_back_as_the_engine_builds_them(db_url: str) -> None:
    records = _records()
    with stored(db_url, records) as store:
        pks = [store.pk_of(r.source, r.id) for r in records]
        tables = read_tables(store.engine)
    expected = to_arrow(to_columns(zip(pks, records, strict=True)))
    assert list(tables) == list(TABLES)
    for name, table in tables.items():
        assert table.schema == arrow_schema(name), name
        assert _sorted(table).equals(_sorted(expected[name])), name
    texts = tables["imaging"].column("report_text").to_pylist()
    assert AWKWARD_TEXT in texts
    assert tables["patients"].num_rows == 6 and tables["imaging"].num_rows == 2


def test_patient_selection_restricts_every_table(db_url: str) -> None:
    with stored(db_url, _records()) as store:
        tables = read_tables(store.engine, patient_conditions(hospitals={"H02"}))
        h02 = {
            store.pk_of("his-b", "P0001"),
            store.pk_of("his-a", "P0002"),
            store.pk_of("his-b", "P0004"),
        }
    assert set(tables["patients"].column("pk").to_pylist()) == h02
    for name, table in tables.items():
        assert set(table.column("pk").to_pylist()) <= h02, name
    assert tables["bta"].num_rows == 3 + 2 + 3
    assert tables["imaging"].num_rows == 0
    assert tables["imaging"].schema == arrow_schema("imaging")


def test_an_empty_selection_gives_empty_typed_tables(db_url: str) -> None:
    with stored(db_url, _records()) as store:
        tables = read_tables(store.engine, patient_conditions(hospitals={"nowhere"}))
    assert all(t.num_rows == 0 and t.schema == arrow_schema(n) for n, t in tables.items())


def test_parts_of_two_patients_are_the_whole_in_key_ranges(db_url: str) -> None:
    """Six patients in parts of two (one transaction): three parts, each holding only its
    patients' rows, together every row of every table; a selection applies within parts."""
    with stored(db_url, _records()) as store:
        whole = read_tables(store.engine)
        parts = list(read_table_parts(store.engine, chunk_patients=2))
        selected = list(read_table_parts(store.engine, patient_conditions(hospitals={"H02"}), 2))
        nobody = list(read_table_parts(store.engine, patient_conditions(hospitals={"-"}), 2))
    assert [part["patients"].num_rows for part in parts] == [2, 2, 2]
    keys = [part["patients"]["pk"].to_pylist() for part in parts]
    assert keys == sorted(keys) and max(keys[0]) < min(keys[1])
    for part in parts:
        mine = set(part["patients"]["pk"].to_pylist())
        for name, table in part.items():
            assert table.schema == arrow_schema(name), name
            assert set(table["pk"].to_pylist()) <= mine, name
    for name, table in whole.items():
        joined = pa.concat_tables([part[name] for part in parts])
        assert _sorted(joined).equals(_sorted(table)), name
    assert [part["patients"].num_rows for part in selected] == [2, 1]
    assert sum(part["bta"].num_rows for part in selected) == 3 + 2 + 3
    assert nobody == []


def test_sqlite_file_is_read_through_adbc_equal_to_python_cursor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A SQLite file is read by the ADBC driver, which types a column from its first rows:
    1,100 patients whose first 1,050 have no death date, PD-L1 or department (NULL) read back
    typed and equal to Python's cursor and to the records, also a part at a time."""
    template = small_registry_data()[0]
    records = []
    for n in range(1100):
        data = copy.deepcopy(template)
        data["id"] = f"N{n:05d}"
        if n < 1050:
            data.pop("department", None)
            data["cancer"].pop("pd_l1_tps", None)
        else:
            data["department"] = "thoracic_surgery"
            data["cancer"]["pd_l1_tps"] = 55.5
            data["death_date"] = "2026-09-01"
        records.append(parse_record(data, today=TODAY))
    url = f"sqlite:///{tmp_path / 'nulls.sqlite3'}"
    caplog.set_level(logging.WARNING, logger="bonepath.population.tables")
    with stored(url, records) as store:
        assert sqlite_file(store.engine) == str(tmp_path / "nulls.sqlite3")
        through_adbc = read_tables(store.engine)
        parts = list(read_table_parts(store.engine, chunk_patients=400))
        with store.engine.connect() as conn, conn.begin():
            through_python = {name: _read_sqlite(conn, name, ()) for name in TABLES}
        pks = [store.pk_of(r.source, r.id) for r in records]
    assert caplog.records == []  # no fallback to Python's cursor
    expected = to_arrow(to_columns(zip(pks, records, strict=True)))
    for name in TABLES:
        assert through_adbc[name].schema == arrow_schema(name), name
        assert through_adbc[name].equals(through_python[name]), name
        assert _sorted(through_adbc[name]).equals(_sorted(expected[name])), name
        joined = pa.concat_tables([part[name] for part in parts])
        assert joined.equals(through_adbc[name]), name
    people = through_adbc["patients"]
    assert people["department"].null_count == 1050
    assert people["pd_l1_tps"].to_pylist()[-1] == 55.5
    assert people["death_date"].to_pylist()[-1] == dt.date(2026, 9, 1)


def test_an_in_memory_sqlite_store_has_no_file_for_adbc() -> None:
    assert sqlite_file(create_engine("sqlite://")) is None
    assert sqlite_file(create_engine("sqlite:///:memory:")) is None
    assert sqlite_file(create_engine("postgresql+psycopg://u@h/db")) is None
    assert sqlite_file(create_engine("sqlite:////srv/bonepath/store.sqlite3")) == (
        "/srv/bonepath/store.sqlite3"
    )


_READ_IN_A_FRESH_PROCESS = """
import json, logging, sys
from bonepath.population.tables import read_table_parts, read_tables
from bonepath.store.repository import open_store

fallbacks = []
handler = logging.Handler()
handler.emit = fallbacks.append
logging.getLogger("bonepath.population.tables").addHandler(handler)
with open_store(sys.argv[1]) as store:
    whole = read_tables(store.engine)
    parts = list(read_table_parts(store.engine, chunk_patients=2))
# the path column only: a mapping's hex address can spell "adbc" too (7f3adbc00000-…)
paths = [line.split()[5] for line in open("/proc/self/maps") if len(line.split()) > 5]
libraries = [path for path in paths if "adbc" in path]
print(json.dumps({
    "patients": whole["patients"].num_rows,
    "parts": [part["patients"].num_rows for part in parts],
    "fallbacks": len(fallbacks),
    "modules": sorted(name for name in sys.modules if name.startswith("adbc_driver_sqlite")),
    "libraries": sorted(set(libraries)),
}))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc")
def test_the_reading_process_never_loads_a_second_sqlite_library(tmp_path: Path) -> None:
    """The ADBC driver (its own SQLite library) reads the store from a child process: the
    process that reads — the web server, the CLI — holds the store through Python's sqlite3
    alone, so closing the driver's connection cannot drop that process's locks."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with stored(url, _records()):
        pass
    done = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_FRESH_PROCESS, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(done.stdout) == {
        "patients": 6,
        "parts": [2, 2, 2],
        "fallbacks": 0,  # read through the driver, not Python's cursor
        "modules": [],
        "libraries": [],
    }


def test_without_the_reader_process_the_tables_are_read_through_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the driver's process cannot start, the store is read through Python's cursor
    (the same tables), and a warning says so."""
    records = _records()
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with stored(url, records) as store:
        through_adbc = read_tables(store.engine)
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
        caplog.set_level(logging.WARNING, logger="bonepath.population.tables")
        through_python = read_tables(store.engine)
        parts = list(read_table_parts(store.engine, chunk_patients=4))
    assert [r.getMessage().startswith("reading ") for r in caplog.records] == [True, True]
    for name in TABLES:
        assert through_python[name].equals(through_adbc[name]), name
        assert pa.concat_tables([part[name] for part in parts]).equals(through_adbc[name]), name
