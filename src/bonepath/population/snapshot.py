"""A columnar snapshot of the store's record tables, for the embedded registry backend.

Reading a large SQLite store costs most of a registry evaluation: SQLite hands rows to Python
one value at a time (≈ 4 µs a row, 23 s of 31 s for 100,000 patients, bench/README.md). A
snapshot is written once after an import or on a schedule (``bonepath snapshot``) and read
back in about a second per 100,000 patients: one Parquet file per record table
(:data:`~bonepath.record.columns.TABLES` columns only, never the provenance of ``patients``, in
the engine's exact Arrow layout) and a ``snapshot.json`` manifest (format, row counts, when
written). The tables are read from the store in one transaction (one consistent state), and
the directory is replaced whole (written beside it, then renamed), so a reader never sees half
a snapshot.

A snapshot is as fresh as its last refresh: evaluating one tells what the registry said then.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bonepath.engine.duckdb_runner import arrow_schema
from bonepath.errors import ConfigError, StoreError
from bonepath.population.tables import read_tables
from bonepath.record.columns import TABLES
from bonepath.store.bulk import DRIVER_ERRORS
from bonepath.store.repository import Store

FORMAT: Final = 1
"""The snapshot layout version; a snapshot of another version must be written again."""

MANIFEST: Final = "snapshot.json"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What a snapshot holds: its directory, when it was written, rows per table."""

    directory: Path
    written_at: dt.datetime
    rows: Mapping[str, int]

    @property
    def patients(self) -> int:
        return self.rows["patients"]


def write_snapshot(
    store: Store | Engine, directory: Path, *, now: dt.datetime | None = None
) -> SnapshotInfo:
    """Write every record table of ``store`` to ``directory`` (replacing what was there).

    Raises
    ------
    StoreError
        The store could not be read or the directory not written.
    """
    engine = store.engine if isinstance(store, Store) else store
    try:
        tables = read_tables(engine)
    except (SQLAlchemyError, pa.ArrowException, *DRIVER_ERRORS) as exc:
        raise StoreError(f"reading the store for the snapshot failed: {exc}") from exc
    return write_tables(tables, directory, now=now)


def write_tables(
    tables: Mapping[str, pa.Table],
    directory: Path,
    *,
    now: dt.datetime | None = None,
    row_group_size: int | None = None,
) -> SnapshotInfo:
    """Write record tables already in Arrow (the engine's layout) as the snapshot ``directory``
    (``row_group_size``: rows per Parquet row group, default pyarrow's)."""
    written_at = now or dt.datetime.now(dt.UTC)
    directory = Path(directory)
    partial = directory.with_name(directory.name + ".partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in TABLES:
            table = tables[name]
            if not table.schema.equals(arrow_schema(name)):
                raise ConfigError(f"table {name} is not in the engine's layout")
            pq.write_table(
                table,
                partial / f"{name}.parquet",
                compression="zstd",
                row_group_size=row_group_size,
            )
        rows = {name: tables[name].num_rows for name in TABLES}
        manifest = {"format": FORMAT, "written_at": written_at.isoformat(), "rows": rows}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _replace(partial, directory)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"writing the snapshot {directory} failed: {exc}") from exc
    return SnapshotInfo(directory, written_at, rows)


def _replace(new: Path, directory: Path) -> None:
    """Put ``new`` at ``directory``: the old snapshot is moved aside first, then removed."""
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(new, directory)
    shutil.rmtree(old, ignore_errors=True)


def snapshot_info(directory: Path) -> SnapshotInfo:
    """The manifest of the snapshot at ``directory``.

    Raises
    ------
    ConfigError
        There is no snapshot there, or one of another format (write it again).
    """
    path = Path(directory) / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no registry snapshot at {directory}: run bonepath snapshot") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the registry snapshot at {directory} is unreadable: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ConfigError(
            f"the registry snapshot at {directory} has format {manifest.get('format')!r}, "
            f"this version reads {FORMAT}: write it again (bonepath snapshot)"
        )
    return SnapshotInfo(
        Path(directory),
        dt.datetime.fromisoformat(manifest["written_at"]),
        {str(k): int(v) for k, v in manifest["rows"].items()},
    )


def read_snapshot(
    directory: Path, *, hospitals: Collection[str] = (), departments: Collection[str] = ()
) -> dict[str, pa.Table]:
    """The record tables of the snapshot at ``directory`` (of ``hospitals`` / ``departments``).

    Raises
    ------
    ConfigError
        No snapshot there, another format, or a table whose columns are not the engine's
        (a snapshot written before the record layout changed: write it again).
    """
    info = snapshot_info(directory)
    tables: dict[str, pa.Table] = {}
    for name in TABLES:
        schema = arrow_schema(name)
        try:
            table = pq.read_table(info.directory / f"{name}.parquet")
        except (OSError, pa.ArrowException) as exc:
            raise ConfigError(f"the registry snapshot at {directory} is incomplete: {exc}") from exc
        if not table.schema.equals(schema):
            raise ConfigError(
                f"the registry snapshot at {directory} has another layout of {name}: "
                "write it again (bonepath snapshot)"
            )
        tables[name] = table
    if hospitals or departments:
        tables = _select(tables, hospitals, departments)
    return tables


def check_snapshot(directory: Path) -> SnapshotInfo:
    """The manifest of the snapshot, after checking every table's file has the engine's layout.

    Reads only the Parquet footers (for a reader such as Spark that then reads the files).

    Raises
    ------
    ConfigError
        As :func:`read_snapshot`.
    """
    info = snapshot_info(directory)
    for name in TABLES:
        try:
            schema = pq.read_schema(info.directory / f"{name}.parquet")
        except (OSError, pa.ArrowException) as exc:
            raise ConfigError(f"the registry snapshot at {directory} is incomplete: {exc}") from exc
        if not schema.remove_metadata().equals(arrow_schema(name)):
            raise ConfigError(
                f"the registry snapshot at {directory} has another layout of {name}: "
                "write it again (bonepath snapshot)"
            )
    return info


def snapshot_parts(
    directory: Path,
    chunk_patients: int,
    *,
    hospitals: Collection[str] = (),
    departments: Collection[str] = (),
) -> Iterator[dict[str, pa.Table]]:
    """The snapshot's record tables, a part of at most ``chunk_patients`` patients at a time.

    Each part is read from the files on its own, ``patients`` included: only the keys (and,
    to select, the hospital and department) of every patient are read up front. A table whose
    rows are in key order (how the snapshot is written) is streamed front to back a batch at a
    time, so only about a part of it is ever in memory; one that is not is read a part at a
    time with a key filter. Parts are in key order.

    Raises
    ------
    ConfigError
        As :func:`read_snapshot`.
    """
    if chunk_patients < 1:
        raise ValueError("a part holds at least one patient")
    info = check_snapshot(directory)
    selected = bool(hospitals or departments)
    keys = _patient_keys(info.directory, hospitals, departments)
    readers: dict[str, _InOrder | None] = {}
    for start in range(0, len(keys), chunk_patients):
        chosen = keys.slice(start, chunk_patients)
        low, high = chosen[0].as_py(), chosen[-1].as_py()
        tables: dict[str, pa.Table] = {}
        for name in TABLES:
            path = info.directory / f"{name}.parquet"
            try:
                if name not in readers:
                    readers[name] = _InOrder.open(path, arrow_schema(name))
                reader = readers[name]
                if reader is not None:
                    table = reader.upto(high)
                else:
                    table = pq.read_table(
                        path,
                        filters=[("pk", ">=", low), ("pk", "<=", high)],
                        schema=arrow_schema(name),
                    )
            except (OSError, pa.ArrowException) as exc:
                raise ConfigError(
                    f"the registry snapshot at {directory} is incomplete: {exc}"
                ) from exc
            if selected:
                table = table.filter(pc.is_in(table["pk"], chosen))
            tables[name] = _in_key_order(table) if name == "patients" else table
        yield tables


def _patient_keys(
    directory: Path, hospitals: Collection[str], departments: Collection[str]
) -> pa.Array:
    """The sorted keys of the snapshot's patients (of ``hospitals`` / ``departments``)."""
    try:
        people = pq.read_table(
            directory / "patients.parquet", columns=["pk", "hospital_id", "department"]
        )
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"the registry snapshot at {directory} is incomplete: {exc}") from exc
    if hospitals or departments:
        people = _select({"patients": people}, hospitals, departments)["patients"]
    keys = people["pk"].combine_chunks()
    return keys if _ascending(keys) else pc.take(keys, pc.sort_indices(keys))


class _InOrder:
    """A snapshot table streamed front to back, a batch at a time, handing out the rows up to
    a key at a time: for parts in key order over a file whose rows are in key order (checked
    when opened, from the key column alone — how the snapshot is written). Reading each part
    with a key filter instead decodes every row group the part's range touches, whole (with
    row groups of 1,048,576 rows, about twice the file); reading whole row groups held up to a
    row group of every table beside the part (issue 19: 1.1 GB of Arrow memory at parts of
    100,000 patients of a million)."""

    BATCH_ROWS: Final = 65_536

    def __init__(self, file: pq.ParquetFile, schema: pa.Schema) -> None:
        self._schema = schema
        self._batches = file.iter_batches(batch_size=self.BATCH_ROWS)
        self._held: list[pa.RecordBatch] = []
        self._done = False

    @classmethod
    def open(cls, path: Path, schema: pa.Schema) -> _InOrder | None:
        """A reader of ``path``, or ``None`` when its rows are not in key order: then each
        part is read with a key filter."""
        file = pq.ParquetFile(path)
        if not file.schema_arrow.remove_metadata().equals(schema):
            raise pa.ArrowInvalid(f"{path.name} has another layout")
        last = None
        for group in range(file.metadata.num_row_groups):
            keys = file.read_row_group(group, columns=["pk"])["pk"].combine_chunks()
            if len(keys) == 0:
                continue
            if last is not None and keys[0].as_py() < last:
                return None
            if not _ascending(keys):
                return None
            last = keys[-1].as_py()
        return cls(file, schema)

    def upto(self, high: int) -> pa.Table:
        """Every row not handed out yet with a key up to ``high`` (a zero-copy slice: the rows
        are in key order)."""
        while not self._done and not (
            self._held and self._held[-1].num_rows and self._held[-1]["pk"][-1].as_py() > high
        ):
            batch = next(self._batches, None)
            if batch is None:
                self._done = True
            elif batch.num_rows:
                self._held.append(batch)
        rows = pa.Table.from_batches(self._held, self._held[0].schema) if self._held else None
        if rows is None:
            return self._schema.empty_table()
        rows = rows.replace_schema_metadata(None)
        if not rows.schema.equals(self._schema, check_metadata=True):
            rows = rows.cast(self._schema)
        count = pc.sum(pc.less_equal(rows["pk"], high)).as_py() or 0
        self._held = rows.slice(count).to_batches()
        return rows.slice(0, count)


def _in_key_order(table: pa.Table) -> pa.Table:
    """``table`` sorted by ``pk`` (stable), untouched when it already is — as the snapshot
    writes every table: sorting the million-row ``patients`` table took more CPU than reading
    it."""
    return table if _ascending(table["pk"].combine_chunks()) else table.sort_by("pk")


def _ascending(keys: pa.Array) -> bool:
    """Whether ``keys`` never decrease."""
    return len(keys) < 2 or bool(pc.all(pc.greater_equal(keys[1:], keys[:-1])).as_py())


def read_snapshot_patients(
    directory: Path, *, hospitals: Collection[str] = (), departments: Collection[str] = ()
) -> pa.Table:
    """The ``patients`` table of the snapshot (of ``hospitals`` / ``departments``) alone.

    Raises
    ------
    ConfigError
        As :func:`read_snapshot`.
    """
    info = snapshot_info(directory)
    try:
        people = pq.read_table(info.directory / "patients.parquet")
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"the registry snapshot at {directory} is incomplete: {exc}") from exc
    if not people.schema.equals(arrow_schema("patients")):
        raise ConfigError(
            f"the registry snapshot at {directory} has another layout of patients: "
            "write it again (bonepath snapshot)"
        )
    if hospitals or departments:
        return _select({"patients": people}, hospitals, departments)["patients"]
    return people


def _select(
    tables: dict[str, pa.Table], hospitals: Collection[str], departments: Collection[str]
) -> dict[str, pa.Table]:
    people = tables["patients"]
    keep = pa.array([True] * people.num_rows)
    if hospitals:
        keep = pc.and_(keep, pc.is_in(people["hospital_id"], pa.array(sorted(hospitals))))
    if departments:
        keep = pc.and_(keep, pc.is_in(people["department"], pa.array(sorted(departments))))
    keep = pc.fill_null(keep, False)
    chosen = people.filter(keep)
    out = {"patients": chosen}
    for name, table in tables.items():
        if name != "patients":
            out[name] = table.filter(pc.is_in(table["pk"], chosen["pk"]))
    return out
