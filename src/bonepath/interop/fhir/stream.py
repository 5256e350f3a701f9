"""FHIR import in constant memory, whatever the size of the files (issue 18 item 3).

A patient's resources may be anywhere in the input (a bulk export writes one NDJSON file per
resource type; a Bundle may hold thousands of patients), so they have to be brought together
before a patient can be mapped. Instead of holding every resource in memory, the import:

1. **spills** each resource, as its JSON bytes, to a temporary SQLite file beside nothing else
   (``tempfile``; removed at the end) with the reference of its patient. NDJSON is read line by
   line; a Bundle ``.json`` file up to :data:`WHOLE_FILE_BYTES` is decoded at once (orjson),
   a larger one entry by entry with ijson (its C backend), after a first pass that reads the
   Bundle's own elements (its ``type`` decides whether it is a transaction);
2. **maps** one patient at a time, in the order the Patients came: the small rows (patient,
   resource number) are sorted by patient (SQLite sorts on disk; the JSON bodies sit in a
   table of their own and are never sorted), the mapping reads each batch of patients'
   bodies by number, validates them by their R4B models (:func:`.read.validate`), and maps
   them by :mod:`.to_record` exactly as the in-memory path maps them; a resource about no
   patient (a hospital's Organization, a Medication) is read from the spill when a reference
   asks for it; the importer's validator then checks each mapped record in the same process;
3. reports, at the end, what belonged to no patient (skipped or refused, with the reason).

Memory is bounded by the largest single patient (and a transaction Bundle, which is all or
nothing and mapped as one unit, as FHIR R4 defines it), not by the input. With ``jobs`` > 1
the patients are validated and mapped in worker processes, each reading the spill; the
importing process only reads the files, sorts the small rows and writes the records.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import sqlite3
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, Final

import orjson

from bonepath.errors import Problem
from bonepath.interop.fhir.memo import memoized
from bonepath.interop.fhir.read import MALFORMED, USED_TYPES, Item, Unit, fhir_path, validate
from bonepath.interop.fhir.to_record import (
    _REFERENCED,
    SKIP_NO_PATIENT,
    SKIP_OUT_OF_SCOPE,
    SKIP_UNDATED_CANCER,
    SKIP_UNKNOWN_PATIENT,
    SKIP_UNUSED_TYPE,
    Mapped,
    _in_scope,
    _map_patient,
    _Patient,
    _raw_record,
    map_unit,
)
from bonepath.interop.raw import RawRecord
from bonepath.record import problems as codes

WHOLE_FILE_BYTES: Final = 32 * 1024 * 1024
"""A ``.json`` file up to this size is decoded at once; a larger one entry by entry."""
SPILL_BATCH: Final = 5000
"""Resources per insert into the spill."""
POOL_AFTER: Final = 20_000
"""Resources in the input beyond which ``jobs`` > 1 maps in worker processes (a small input
does not pay for starting them)."""
_BODY_QUERY: Final = 5000
"""Resources read from the spill per query."""
GROUP_BATCH: Final = 100
"""Patients per unit of mapping work (one message to a worker process)."""
REF_CACHE: Final = 4096
"""Validated resources about no patient kept for the next reference to them."""
SKIP_DUPLICATE_PATIENT: Final = "another Patient of the input has the same id"
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_ENTRY_CHECK: Final = 500
"""Bundle entries whose own elements (fullUrl, request, …) are validated together."""
GC_THRESHOLDS: Final = (10_000, 10, 10)
"""The cyclic garbage collector's thresholds while an import runs (Python's: 700, 10, 10).
The import allocates millions of short-lived containers (decoded JSON, models), nearly all
freed by reference counting; with the default thresholds the collector ran ≈ 3,700 times
for 2,000 patients, 17 of them full collections over every loaded module and model class
(≈ 16 % of the import's CPU). Cycles are still collected, only less often."""
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """:data:`GC_THRESHOLDS` within the block, the thresholds before it restored after it
    (imports running at once in one process: when the last one ends)."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


def _worker_started() -> None:
    """A mapping worker process lives for one import: the import's thresholds throughout."""
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass(slots=True)
class Outcome:
    """What one batch of patients gave: records (in scope or refused), skips, refs used."""

    records: list[RawRecord] = field(default_factory=list)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    used: set[int] = field(default_factory=set)


def _subject_ref(raw: Any) -> str | None:
    for attr in ("subject", "patient"):
        value = raw.get(attr)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            return str(value["reference"])
    return None


class Spill:
    """The temporary SQLite file that holds the resources until their patient is mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "cache_size=-16384",  # 16 MiB of pages: memory stays flat, the sort goes to disk
            "temp_store=FILE",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(
            """
            CREATE TABLE res (seq INTEGER PRIMARY KEY, unit INTEGER NOT NULL, kind TEXT,
                              ref TEXT);
            CREATE TABLE body (seq INTEGER PRIMARY KEY, raw BLOB, path TEXT, location TEXT,
                               full_url TEXT);
            CREATE TABLE alias (alias TEXT PRIMARY KEY, canon INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE refs (key TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE used (seq INTEGER PRIMARY KEY);
            """
        )
        self.db.execute("BEGIN")
        self._rows: list[tuple[Any, ...]] = []
        self._bodies: list[tuple[Any, ...]] = []
        self._aliases: list[tuple[str, int]] = []
        self._refs: list[tuple[str, int]] = []
        self.seq = 0
        self.units = 0
        self.count = 0

    def new_unit(self) -> int:
        self.units += 1
        return self.units

    def add(
        self,
        unit: int,
        raw: Any,
        data: bytes,
        path: str,
        location: str,
        full_url: str | None = None,
    ) -> None:
        self.seq += 1
        self.count += 1
        seq = self.seq
        kind: str | None = None
        ref: str | None = None
        if isinstance(raw, dict) and isinstance(raw.get("resourceType"), str):
            kind = raw["resourceType"]
            ident = raw.get("id") if isinstance(raw.get("id"), str) else None
            if kind == "Patient":
                ref = f"Patient/{ident}"
                if unit == 0:
                    self._aliases.append((ref, seq))
                    if full_url:
                        self._aliases.append((full_url, seq))
            else:
                ref = _subject_ref(raw)
                if unit == 0 and ref is None and kind in _REFERENCED:
                    self._refs.append((f"{kind}/{ident}", seq))
                    if full_url:
                        self._refs.append((full_url, seq))
        self._rows.append((seq, unit, kind, ref))
        self._bodies.append((seq, data, path, location, full_url))
        if len(self._rows) >= SPILL_BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO res VALUES (?,?,?,?)", self._rows)
        self.db.executemany("INSERT INTO body VALUES (?,?,?,?,?)", self._bodies)
        self.db.executemany("INSERT OR IGNORE INTO alias VALUES (?,?)", self._aliases)
        self.db.executemany("INSERT OR IGNORE INTO refs VALUES (?,?)", self._refs)
        self._rows.clear()
        self._bodies.clear()
        self._aliases.clear()
        self._refs.clear()

    def close_writing(self) -> None:
        self.flush()
        # what the end of the import asks by seq (resources about no patient): an index, not
        # a scan of ``refs`` for each resource
        self.db.execute("CREATE INDEX refs_seq ON refs (seq)")
        self.db.execute("COMMIT")

    def groups(self) -> Iterator[list[int]]:
        """The resources (``seq``) of each patient of the pooled input, its Patient first,
        Patients in order. Only the small ``res`` rows are sorted; the resources themselves
        (``body``) are read by the mapping, a batch at a time, by their ``seq``."""
        cursor = self.db.execute(
            "SELECT a.canon, r.seq FROM res r JOIN alias a ON a.alias = r.ref "
            "WHERE r.unit = 0 ORDER BY a.canon, r.seq != a.canon, r.seq"
        )
        group: list[int] = []
        current = None
        for canon, seq in cursor:
            if canon != current and group:
                yield group
                group = []
            current = canon
            group.append(seq)
        if group:
            yield group

    def unowned(self) -> Iterator[tuple[Any, ...]]:
        """Pooled resources of no Patient in the input (not the referenced kinds)."""
        return self.db.execute(
            "SELECT r.seq, r.kind, b.raw, b.path, b.location, b.full_url, r.ref FROM res r "
            "JOIN body b ON b.seq = r.seq WHERE r.unit = 0 AND (r.kind IS NULL OR r.kind != 'Patient') "
            "AND NOT (r.ref IS NOT NULL AND EXISTS (SELECT 1 FROM alias a WHERE a.alias = r.ref)) "
            "AND NOT (r.ref IS NULL AND EXISTS (SELECT 1 FROM refs f WHERE f.seq = r.seq)) "
            "ORDER BY r.seq"
        )

    def unused_refs(self) -> Iterator[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT r.seq, r.kind, b.raw, b.path, b.location, b.full_url, r.ref FROM res r "
            "JOIN body b ON b.seq = r.seq WHERE r.seq IN (SELECT seq FROM refs) AND r.seq NOT IN (SELECT seq FROM used) "
            "ORDER BY r.seq"
        )

    def transaction_units(self) -> Iterator[int]:
        for (unit,) in self.db.execute(
            "SELECT DISTINCT unit FROM res WHERE unit != 0 ORDER BY unit"
        ).fetchall():
            yield unit

    def unit_rows(self, unit: int) -> list[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT r.seq, r.kind, b.raw, b.path, b.location, b.full_url FROM res r "
            "JOIN body b ON b.seq = r.seq WHERE r.unit = ? ORDER BY r.seq",
            (unit,),
        ).fetchall()

    def mark_used(self, seqs: Iterable[int]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(s,) for s in seqs])

    def close(self) -> None:
        self.db.close()


class _SpillRefs:
    """:class:`.to_record.Refs` read from the spill: validated on first use, kept in a cache."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._cache: OrderedDict[int, Item | None] = OrderedDict()
        self._seq_of: dict[int, int] = {}

    def get(self, key: str, /) -> Item | None:
        row = self.db.execute(
            "SELECT b.seq, b.raw, b.path, b.location, b.full_url FROM refs f "
            "JOIN body b ON b.seq = f.seq WHERE f.key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        seq = row[0]
        if seq in self._cache:
            self._cache.move_to_end(seq)
            return self._cache[seq]
        item = validate(orjson.loads(row[1]), row[2], row[3], row[4])
        found = None if item.problems else item
        self._cache[seq] = found
        if found is not None:
            self._seq_of[id(found)] = seq
        while len(self._cache) > REF_CACHE:
            _, old = self._cache.popitem(last=False)
            if old is not None:
                self._seq_of.pop(id(old), None)
        return found

    def seq_of(self, item: Item) -> int | None:
        return self._seq_of.get(id(item))

    def bodies(self, groups: list[list[int]]) -> list[list[tuple[Any, ...]]]:
        """The rows ``(seq, kind, raw, path, location, full_url)`` of each group of ``seq``s."""
        wanted = [seq for group in groups for seq in group]
        found: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(wanted), _BODY_QUERY):
            part = wanted[start : start + _BODY_QUERY]
            for row in self.db.execute(
                "SELECT b.seq, r.kind, b.raw, b.path, b.location, b.full_url FROM body b "
                "JOIN res r ON r.seq = b.seq WHERE b.seq IN (SELECT value FROM json_each(?))",
                (orjson.dumps(part).decode(),),
            ):
                found[row[0]] = row
        return [[found[seq] for seq in group] for group in groups]


_REFS: dict[str, _SpillRefs] = {}

Prepare = Callable[[Sequence[Any], dt.date], list[Any]]
"""Validates decoded records (the importer's ``validate_batch``): each becomes a prepared
record or its problems (a tuple)."""


def _refs_for(path: Path) -> _SpillRefs:
    key = str(path)
    if key not in _REFS:
        _REFS.clear()
        _REFS[key] = _SpillRefs(path)
    return _REFS[key]


def map_groups(
    spill_path: Path,
    groups: list[list[int]],
    prepare: tuple[Prepare, dt.date] | None = None,
) -> Outcome:
    """Validate and map a batch of patients (``seq`` groups of :meth:`Spill.groups`), each
    read from the spill here; in any process. With ``prepare`` (the validator and the day),
    each record mapped without a problem is also validated here (:attr:`RawRecord.prepared`)."""
    with memoized():
        refs = _refs_for(spill_path)
        out = _map_groups(refs, refs.bodies(groups))
    if prepare is not None:
        validator, today = prepare
        ready = [i for i, raw in enumerate(out.records) if not raw.problems]
        results = validator([out.records[i].data for i in ready], today)
        for i, result in zip(ready, results, strict=True):
            raw = out.records[i]
            kept = raw.data if isinstance(result, tuple) else None
            out.records[i] = replace(raw, data=kept, prepared=result)
    return out


def _map_groups(refs: _SpillRefs, groups: list[list[tuple[Any, ...]]]) -> Outcome:
    out = Outcome()
    for rows in groups:
        items = [
            validate(orjson.loads(raw), path, location, full_url)
            for _, _, raw, path, location, full_url in rows
        ]
        patient = _Patient(items[0])
        for item in items[1:]:
            patient.items.append(item)
            patient.problems.extend(item.problems)
        patient.refs = refs
        _map_patient(patient)
        for item in items[1:]:
            if item.resource_type == "Patient" and item.model is not None:
                # a second Patient with the same id: mapped as an unused type by _map_patient
                patient.skipped[("Patient", SKIP_UNUSED_TYPE)] -= 1
                patient.skipped[("Patient", SKIP_DUPLICATE_PATIENT)] += 1
        if _in_scope(patient):
            out.skipped.update(patient.skipped)
            out.records.append(_raw_record(patient))
            out.used.update(s for i in patient.used if (s := refs.seq_of(i)) is not None)
        else:
            reason = SKIP_UNDATED_CANCER if patient.undated_cancer else SKIP_OUT_OF_SCOPE
            for item in patient.items:
                out.skipped[(item.resource_type, reason)] += 1
    out.skipped += Counter()
    return out


# ---- reading the files into the spill ------------------------------------------------------


@dataclass(slots=True)
class _Reader:
    spill: Spill
    problems: list[RawRecord] = field(default_factory=list)
    """Problems of the containers (a file that is not JSON, a Bundle that is not one)."""
    unit_problems: dict[int, list[Problem]] = field(default_factory=dict)
    locations: dict[int, str] = field(default_factory=dict)
    """Problems of each transaction Bundle itself (the transaction is then refused whole)."""

    def refuse(self, location: str, problems: Sequence[Problem]) -> None:
        self.problems.append(RawRecord(location, None, problems=tuple(problems)))

    def resource(
        self,
        unit: int,
        raw: Any,
        data: bytes | None,
        path: str,
        where: str,
        full_url: str | None = None,
    ) -> None:
        self.spill.add(
            unit, raw, orjson.dumps(raw) if data is None else data, path, where, full_url
        )

    def bundle(self, data: dict[str, Any], location: str) -> None:
        """A Bundle decoded whole."""
        entries = data.get("entry", [])
        shell = {key: value for key, value in data.items() if key != "entry"}
        unit = self._shell(shell, location)
        if not isinstance(entries, list):
            self.refuse(
                location, [Problem("Bundle.entry", MALFORMED, "Bundle.entry must be a list")]
            )
            return
        self._entries(unit, enumerate(entries), location)

    def _shell(self, shell: dict[str, Any], location: str) -> int:
        checked = validate(
            {**shell, "entry": []} if "entry" in shell else shell, "Bundle", location
        )
        if shell.get("type") != "transaction":
            if checked.problems:
                self.refuse(location, checked.problems)
            return 0
        unit = self.spill.new_unit()
        self.unit_problems[unit] = list(checked.problems)
        return unit

    def _entries(self, unit: int, entries: Iterable[tuple[int, Any]], location: str) -> None:
        self.locations[unit] = location
        wrappers: list[tuple[int, Any]] = []
        for index, entry in entries:
            wrappers.append(
                (
                    index,
                    {k: v for k, v in entry.items() if k != "resource"}
                    if isinstance(entry, dict)
                    else entry,
                )
            )
            if len(wrappers) >= _ENTRY_CHECK:
                self._check_wrappers(unit, wrappers, location)
                wrappers = []
            if not isinstance(entry, dict) or "resource" not in entry:
                continue
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            self.resource(
                unit,
                entry["resource"],
                None,
                f"Bundle.entry[{index}].resource",
                f"{location} entry[{index}]",
                full_url,
            )
        self._check_wrappers(unit, wrappers, location)

    def _check_wrappers(self, unit: int, wrappers: list[tuple[int, Any]], location: str) -> None:
        """The entries' own elements (fullUrl, request, …), validated as a Bundle of them."""
        if not wrappers:
            return
        first = wrappers[0][0]
        checked = validate(
            {"resourceType": "Bundle", "type": "collection", "entry": [w for _, w in wrappers]},
            "Bundle",
            location,
        )
        if checked.problems:
            moved = []
            for problem in checked.problems:
                text = problem.path
                prefix = "Bundle.entry["
                if text.startswith(prefix):
                    index, _, rest = text[len(prefix) :].partition("]")
                    if index.isdigit():
                        text = f"{prefix}{int(index) + first}]{rest}"
                moved.append(replace(problem, path=text))
            if unit:
                self.unit_problems[unit].extend(moved)
            else:
                self.refuse(location, moved)

    def json_file(self, path: Path) -> None:
        size = path.stat().st_size
        if size <= WHOLE_FILE_BYTES:
            raw = path.read_bytes().removeprefix(_UTF8_BOM)
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                self.refuse(
                    str(path),
                    [Problem("", codes.MALFORMED_JSON, f"{path}: not valid JSON ({exc})")],
                )
                return
            if isinstance(data, dict) and data.get("resourceType") == "Bundle":
                self.bundle(data, str(path))
            else:
                kind = data.get("resourceType", "?") if isinstance(data, dict) else "?"
                self.resource(0, data, raw, str(kind), str(path))
            return
        self._large_json(path)

    def _large_json(self, path: Path) -> None:
        import ijson  # type: ignore[import-untyped]  # the C backend (yajl2_c)

        location = str(path)
        try:
            with path.open("rb") as stream:
                _skip_bom(stream)
                shell = _top_level(stream)
                if shell.get("resourceType") != "Bundle":
                    self.refuse(
                        location,
                        [
                            Problem(
                                "",
                                MALFORMED,
                                f"{path}: a JSON file over "
                                f"{WHOLE_FILE_BYTES // 2**20} MiB must be a "
                                "Bundle (or use NDJSON)",
                            )
                        ],
                    )
                    return
                unit = self._shell(shell, location)
                stream.seek(0)
                _skip_bom(stream)
                entries = ijson.items(stream, "entry.item", use_float=True)
                self._entries(unit, enumerate(entries), location)
        except ijson.JSONError as exc:
            self.refuse(
                location, [Problem("", codes.MALFORMED_JSON, f"{path}: not valid JSON ({exc})")]
            )

    def ndjson_file(self, path: Path) -> None:
        with path.open("rb") as stream:
            for number, line in enumerate(stream, start=1):
                if number == 1:
                    line = line.removeprefix(_UTF8_BOM)
                if not line.strip():
                    continue
                location = f"{path}:{number}"
                try:
                    data = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    self.refuse(
                        location,
                        [Problem("", codes.MALFORMED_JSON, f"{location}: not valid JSON ({exc})")],
                    )
                    continue
                if isinstance(data, dict) and data.get("resourceType") == "Bundle":
                    self.bundle(data, location)
                else:
                    kind = data.get("resourceType", "?") if isinstance(data, dict) else "?"
                    self.resource(0, data, line, str(kind), location)


def _skip_bom(stream: IO[bytes]) -> None:
    if stream.read(3) != _UTF8_BOM:
        stream.seek(0)


def _top_level(stream: IO[bytes]) -> dict[str, Any]:
    """The top-level elements of a JSON object but ``entry``, read as events (constant memory)."""
    import ijson

    shell: dict[str, Any] = {}
    builder: Any = None
    key = ""
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if prefix == "":
            if event == "map_key":
                if builder is not None:
                    shell[key] = builder.value
                key = value
                builder = None if value == "entry" else ijson.ObjectBuilder()
            elif event == "end_map" and builder is not None:
                shell[key] = builder.value
                builder = None
            elif event not in ("start_map", "end_map"):
                return {}  # not an object
            continue
        if builder is not None:
            builder.event(event, value)
    return shell


# ---- the import ----------------------------------------------------------------------------


def stream_fhir(
    paths: Sequence[Path],
    *,
    today: dt.date,
    skipped: Counter[tuple[str, str]],
    jobs: int = 1,
    workdir: Path | None = None,
    prepare: Prepare | None = None,
) -> Iterator[RawRecord]:
    """The raw records of the FHIR files ``paths`` (read together), in constant memory.

    Yields one raw record per patient in scope (Patients in input order), then each
    transaction Bundle's, then the refusals of what belongs to no patient. ``skipped`` is
    updated as the patients are mapped, and is complete once the iterator is exhausted.
    ``prepare`` (the importer's validator) validates each patient's record where it was
    mapped, in the worker process (:attr:`RawRecord.prepared`).
    """
    for _, raw in _stream(
        paths, today=today, skipped=skipped, jobs=jobs, workdir=workdir, prepare=prepare
    ):
        yield raw


def read_fhir_streaming(paths: Sequence[Path], *, today: dt.date, jobs: int = 1) -> Mapped:
    """:func:`stream_fhir` collected: the records and refusals of the files (tests, previews)."""
    out = Mapped()
    for is_record, raw in _stream(
        paths, today=today, skipped=out.skipped, jobs=jobs, workdir=default_workdir()
    ):
        (out.records if is_record else out.refused_items).append(raw)
    return out


def _stream(
    paths: Sequence[Path],
    *,
    today: dt.date,
    skipped: Counter[tuple[str, str]],
    jobs: int,
    workdir: Path | None,
    prepare: Prepare | None = None,
) -> Iterator[tuple[bool, RawRecord]]:
    """(is a patient's record, raw record) for each record and each refused resource."""
    with ExitStack() as stack:
        stack.enter_context(fewer_collections())
        tmp = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bonepath-fhir-", dir=workdir))
        )
        spill = Spill(tmp / "spill.sqlite3")
        stack.callback(spill.close)
        reader = _Reader(spill)
        for path in paths:
            if path.suffix.lower() in (".ndjson", ".jsonl"):
                reader.ndjson_file(path)
            else:
                reader.json_file(path)
        spill.close_writing()

        pool: ProcessPoolExecutor | None = None
        if jobs > 1 and spill.count > POOL_AFTER:
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    jobs, mp_context=get_context("spawn"), initializer=_worker_started
                )
            )
        queue: list[Future[Outcome]] = []

        def collect(outcome: Outcome) -> Iterator[tuple[bool, RawRecord]]:
            skipped.update(outcome.skipped)
            spill.mark_used(outcome.used)
            for raw in outcome.records:
                yield True, raw

        validating = None if prepare is None else (prepare, today)
        batch: list[list[int]] = []
        for group in spill.groups():
            batch.append(group)
            if len(batch) < GROUP_BATCH:
                continue
            if pool is None:
                yield from collect(map_groups(spill.path, batch, validating))
            else:
                queue.append(pool.submit(map_groups, spill.path, batch, validating))
                while len(queue) > 2 * jobs:
                    yield from collect(queue.pop(0).result())
            batch = []
        if batch:
            if pool is None:
                yield from collect(map_groups(spill.path, batch, validating))
            else:
                queue.append(pool.submit(map_groups, spill.path, batch, validating))
        for future in queue:
            yield from collect(future.result())

        for unit in spill.transaction_units():
            rows = spill.unit_rows(unit)
            whole = Unit(
                reader.locations[unit],
                transaction=True,
                problems=reader.unit_problems.get(unit, []),
            )
            mapped = _map_transaction(whole, rows, today)
            skipped.update(mapped.skipped)
            for raw in mapped.records:
                yield True, raw
            for raw in mapped.refused_items:
                yield False, raw

        for row in spill.unowned():
            for raw in _unowned(row, skipped):
                yield False, raw
        for row in spill.unused_refs():
            for raw in _unowned(row, skipped):
                yield False, raw
        refs = _REFS.pop(str(spill.path), None)
        if refs is not None:
            refs.db.close()
        for raw in reader.problems:
            yield False, raw


def _map_transaction(whole: Unit, rows: list[tuple[Any, ...]], today: dt.date) -> Mapped:
    with memoized():
        whole.items = [
            validate(orjson.loads(raw), path, location, full_url)
            for _, _, raw, path, location, full_url in rows
        ]
        return map_unit(whole, today=today)


def _unowned(row: tuple[Any, ...], skipped: Counter[tuple[str, str]]) -> Iterator[RawRecord]:
    _, kind, raw, path, location, full_url, ref = row
    data = orjson.loads(raw)
    item = validate(data, path, location, full_url)
    if item.problems:
        yield RawRecord(item.location, item.raw, problems=item.problems)
        return
    reason = (
        SKIP_UNUSED_TYPE
        if item.resource_type not in USED_TYPES
        else SKIP_UNKNOWN_PATIENT
        if ref and ref.startswith(("Patient/", "urn:"))
        else SKIP_NO_PATIENT
    )
    skipped[(item.resource_type, reason)] += 1


def default_workdir() -> Path | None:
    """``BONEPATH_TMPDIR`` when set (the spill may be as large as the input), else the system's."""
    value = os.environ.get("BONEPATH_TMPDIR")
    return Path(value) if value else None


__all__ = ["Spill", "fhir_path", "map_groups", "read_fhir_streaming", "stream_fhir"]
