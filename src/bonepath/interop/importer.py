"""Batch import: record files in, good records stored, every bad one refused with its problems.

The pipeline behind ``bonepath import`` (and any other front end that imports files): read
each input (:mod:`bonepath.interop.files`), validate each record with the real today
(:func:`bonepath.record.parse.parse_record`), write the good ones to the store in chunks of
whole patients (:meth:`bonepath.store.repository.Store.upsert_prepared`), and write each
refusal, with its location and every problem, to a rejects file (NDJSON). A refused record
never stops the batch; a record is never half-written (see :mod:`bonepath.store.repository`).
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, Final

import orjson

from bonepath.errors import Problem, RecordRefused
from bonepath.interop.files import (
    REJECTS_SUFFIX,
    InputFile,
    find_inputs,
    read_input,
)
from bonepath.interop.raw import RawRecord
from bonepath.record.parse import parse_record
from bonepath.store.fastpath import fast_prepared
from bonepath.store.repository import (
    DEFAULT_CHUNK_SIZE,
    ImportResult,
    PreparedRecord,
    Store,
    prepare_record,
)

PARSE_BATCH: Final = 250
"""Records per unit of validation work (sent to a worker process as one message)."""
PARALLEL_AFTER: Final = 2000
"""Records validated in this process before worker processes are worth starting."""
MAX_JOBS: Final = 8


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused record: where it was, who it was (when known), and every problem.

    Each error is :meth:`bonepath.errors.Problem.to_dict` plus, for a template, the
    ``location`` (sheet row) and ``column`` of the cell the problem's path came from.
    """

    location: str
    source: str | None
    id: str | None
    errors: tuple[dict[str, Any], ...]

    def relative_to(self, directory: Path) -> Refusal:
        """The refusal with ``directory/`` cut from its locations and sentences: an uploaded file
        is named by its own name (``patients.csv:3``), never by the server's temporary path."""
        prefix = str(directory) + os.sep

        def cut(text: str) -> str:
            return text.replace(prefix, "")

        texts = ("location", "problem", "problem_zh")  # a sentence may name the file too
        errors = tuple(
            {**error, **{k: cut(error[k]) for k in texts if isinstance(error.get(k), str)}}
            for error in self.errors
        )
        return Refusal(cut(self.location), self.source, self.id, errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "source": self.source,
            "id": self.id,
            "errors": list(self.errors),
        }


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts of stored outcomes, the refusals, the rejects files written."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    rejects_files: list[Path] = field(default_factory=list)
    batch_id: int | None = None
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    """FHIR input: resources not used, by (resource type, reason)."""

    @property
    def refused(self) -> int:
        return len(self.refusals)

    def add(self, result: ImportResult) -> None:
        self.imported += result.imported
        self.updated += result.updated
        self.unchanged += result.unchanged

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "refusals": [refusal.to_dict() for refusal in self.refusals],
            "rejects_files": [str(path) for path in self.rejects_files],
            "batch": self.batch_id,
            "skipped": [
                {"resourceType": kind, "reason": reason, "count": count}
                for (kind, reason), count in sorted(self.skipped.items())
            ],
        }


Progress = Callable[[int, int, ImportReport], None]
"""Called as records are processed: (bytes of input read, bytes in all, the report so far)."""


def default_rejects_path(source: InputFile) -> Path:
    """Where the refusals of an input go: ``cohort.ndjson`` -> ``cohort.rejects.ndjson`` beside
    it; a set of template CSVs, FHIR or mapped files read from directory ``DIR`` ->
    ``DIR/DIR.rejects.ndjson`` inside it (a directory named ``.`` or by a relative name is
    named by its absolute path's last part). Files ending ``.rejects.ndjson`` are never read
    from a directory, so the next import of ``DIR`` does not take them for records."""
    path = source.path
    if source.kind == "fhir" and len(source.members) == 1:  # one Bundle or NDJSON file
        path = source.members[0]
        return path.with_name(path.stem + REJECTS_SUFFIX)
    if source.kind in ("csv", "fhir", "mapped"):
        name = path.name or path.resolve().name or "import"
        return path / (name + REJECTS_SUFFIX)
    return path.with_name(path.stem + REJECTS_SUFFIX)


def mapped_input(paths: Sequence[Path], mapping: Path) -> InputFile:
    """The files of ``paths`` as one set read by the column mapping file ``mapping``.

    Raises
    ------
    NotFound
        A path does not exist.
    InputError
        The mapping cannot be read, or a path is not a CSV or Excel file.
    """
    from bonepath.errors import InputError, NotFound
    from bonepath.interop.mapping import TABLE_SUFFIXES, load_mapping, table_files

    for path in [mapping, *paths]:
        if not path.exists():
            raise NotFound(f"{path}: no such file or directory")
    column_mapping = load_mapping(mapping)
    members = tuple(dict.fromkeys(table_files(paths)))
    for member in members:
        if member.suffix.lower() not in TABLE_SUFFIXES:
            raise InputError(f"{member}: a column mapping reads .csv, .xlsx and .xlsm files")
    if not members:
        raise InputError("no .csv or .xlsx file to read with the column mapping")
    folder = members[0].parent
    size = sum(member.stat().st_size for member in members)
    return InputFile("mapped", folder, members, size, column_mapping)


def refusal_of(raw: RawRecord, problems: Sequence[Problem]) -> Refusal:
    """A refusal of ``raw``, each problem located in its template cell where there is one."""
    errors = []
    for problem in problems:
        error = problem.to_dict()
        if problem.path in raw.problems_zh and problem in (*raw.cell_problems, *raw.problems):
            error["problem_zh"] = raw.problems_zh[problem.path]
        origin = raw.origin_of(problem.path)
        if origin is not None:
            error["location"] = origin.location
            if origin.column is not None:
                error["column"] = origin.column
            if origin.fhir_path is not None:
                error["fhir_path"] = origin.fhir_path
        errors.append(error)
    source, id_ = raw.key
    return Refusal(raw.location, source, id_, tuple(errors))


def default_jobs() -> int:
    """Processes validating records: one per core but the writer's, at most :data:`MAX_JOBS`.

    With fewer than two to spare, validating in the importing process is faster: sending a
    record to a worker and its rows back costs about a third of validating it.
    """
    spare = (os.cpu_count() or 1) - 1
    return min(spare, MAX_JOBS) if spare >= 2 else 1


def validate_batch(
    items: Sequence[Any], today: dt.date
) -> list[PreparedRecord | tuple[Problem, ...]]:
    """Validate and flatten decoded records; each becomes a prepared record or its problems.

    Runs in worker processes: everything returned is plain data, cheap to send back. A record
    the fast path certifies (:func:`bonepath.store.fastpath.fast_prepared`: one walk, the same
    document, hash and rows) skips the model; any other goes through :func:`parse_record`, so a
    refusal always lists the slow path's problems and messages.
    """
    out: list[PreparedRecord | tuple[Problem, ...]] = []
    for data in items:
        prepared = fast_prepared(data, today)
        if prepared is not None:
            out.append(prepared)
            continue
        try:
            out.append(prepare_record(parse_record(data, today=today)))
        except RecordRefused as refused:
            out.append(refused.problems)
    return out


def _merged(batch: list[_Item], results: list[Any]) -> Iterator[Validated]:
    """``batch`` with the validator's ``results``, a record validated by its reader keeping
    that validation."""
    for item, result in zip(batch, results, strict=True):
        yield item, (result if item.raw.prepared is None else item.raw.prepared)


@dataclass(frozen=True, slots=True)
class _Item:
    raw: RawRecord
    source: InputFile
    rejects: _RejectsFile


Validated = tuple[_Item, "PreparedRecord | tuple[Problem, ...]"]


class _Validation:
    """Validates batches of raw records, results in input order: in worker processes once
    the input has shown itself to be large (a small import does not pay for starting them)."""

    def __init__(self, today: dt.date, jobs: int, stack: ExitStack) -> None:
        self._today = today
        self._jobs = jobs
        self.jobs = jobs
        self._stack = stack
        self._pool: ProcessPoolExecutor | None = None
        self._queue: deque[tuple[list[_Item], Future[list[Any]]]] = deque()
        self._seen = 0

    def submit(self, batch: list[_Item]) -> Iterator[Validated]:
        """Queue ``batch``; yields the results that are ready, oldest first."""
        self._seen += len(batch)
        if all(item.raw.problems or item.raw.prepared is not None for item in batch):
            # validated where it was read (FHIR's mapping workers): nothing left to do here; a
            # record its reader refused gets no parser problems (its own are reported)
            yield from _merged(batch, [()] * len(batch))
            return
        data = [
            None if item.raw.problems or item.raw.prepared is not None else item.raw.data
            for item in batch
        ]
        if self._pool is None and self._jobs > 1 and self._seen > PARALLEL_AFTER:
            # spawn, not fork: the same on Windows, and safe beside the progress bar's thread
            self._pool = self._stack.enter_context(
                ProcessPoolExecutor(self._jobs, mp_context=get_context("spawn"))
            )
        if self._pool is None:
            yield from _merged(batch, validate_batch(data, self._today))
            return
        self._queue.append((batch, self._pool.submit(validate_batch, data, self._today)))
        while len(self._queue) > 2 * self._jobs:
            yield from self._oldest()

    def drain(self) -> Iterator[Validated]:
        while self._queue:
            yield from self._oldest()

    def _oldest(self) -> Iterator[Validated]:
        batch, future = self._queue.popleft()
        yield from _merged(batch, future.result())


def import_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    today: dt.date | None = None,
    rejects: Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int | None = None,
    progress: Progress | None = None,
    mapping: Path | None = None,
) -> ImportReport:
    """Import every record of ``paths`` into ``store``; see the module docstring.

    Parameters
    ----------
    today
        The day after which a date is in the future (VAL-01); the real today by default.
    rejects
        One rejects file for all inputs; by default each input with refusals gets
        ``NAME.rejects.ndjson`` beside it (a stale one from an earlier run is removed).
    chunk_size
        Patients per transaction.
    jobs
        Worker processes validating records (default :func:`default_jobs`); the records
        are still written by this process, in input order.
    mapping
        A column mapping (:mod:`bonepath.interop.mapping`): ``paths`` are then a hospital's
        own CSV/Excel files (or directories of them), read together as one set.

    Raises
    ------
    NotFound, InputError
        A path is missing or not importable (raised before anything is written).
    StoreError
        The store failed; chunks committed before the failure stay imported.
    """
    inputs = find_inputs(paths) if mapping is None else [mapped_input(paths, mapping)]
    day = dt.date.today() if today is None else today
    report = ImportReport()
    report.batch_id = store.start_batch(", ".join(str(path) for path in paths)[:1000])
    pending: list[tuple[PreparedRecord, str]] = []
    offsets: dict[Path, int] = {}
    total = 0
    for source in inputs:
        offsets[source.path] = total
        total += source.size

    chunks = _ChunkWriter(store, report, chunk_size)

    def flush() -> None:
        if pending:
            chunks.write(pending.copy())
            pending.clear()

    def handle(results: Iterable[Validated]) -> None:
        for item, result in results:
            problems = item.raw.refusal_problems(result if isinstance(result, tuple) else ())
            if problems:
                refusal = refusal_of(item.raw, problems)
                report.refusals.append(refusal)
                item.rejects.write(refusal)
            elif isinstance(result, PreparedRecord):
                pending.append((result, item.source.name))
            if len(pending) >= chunk_size:
                flush()
            if progress is not None:
                progress(offsets[item.source.path] + item.raw.position, total, report)

    writers: dict[Path, _RejectsFile] = {}
    with ExitStack() as stack:
        stack.callback(chunks.stop)
        workers = default_jobs() if jobs is None else jobs
        # FHIR input is validated and mapped in the streaming reader's own worker processes;
        # its records are then checked here, not by a second set of workers (less memory,
        # one hop less)
        only_fhir = bool(inputs) and all(source.kind == "fhir" for source in inputs)
        validation = _Validation(day, 1 if only_fhir else workers, stack)
        validation.jobs = workers
        batch: list[_Item] = []
        for source in inputs:
            path = rejects if rejects is not None else default_rejects_path(source)
            writer = writers.setdefault(path, _RejectsFile(path, stack))
            for raw in _raw_records(source, report, day, validation.jobs):
                batch.append(_Item(raw, source, writer))
                if len(batch) >= PARSE_BATCH:
                    handle(validation.submit(batch))
                    batch = []
        handle(validation.submit(batch))
        handle(validation.drain())
        flush()
        chunks.close()
    for path, writer in writers.items():
        # An explicit --rejects file always reflects this run, even when it is empty.
        if writer.finish(keep_empty=path == rejects):
            report.rejects_files.append(path)
    if progress is not None:
        progress(total, total, report)
    store.finish_batch(report.batch_id, refused=report.refused)
    return report


def _raw_records(
    source: InputFile, report: ImportReport, today: dt.date, jobs: int = 1
) -> Iterable[RawRecord]:
    """The raw records of one input; FHIR files through the streaming FHIR mapping (constant
    memory; skips counted as the patients are mapped)."""
    if source.kind != "fhir":
        return read_input(source)
    from bonepath.interop.fhir.stream import default_workdir, stream_fhir

    return stream_fhir(
        source.members,
        today=today,
        skipped=report.skipped,
        jobs=jobs,
        workdir=default_workdir(),
        prepare=validate_batch,
    )


class _RejectsFile:
    """An NDJSON file of refusals, created on the first refusal."""

    def __init__(self, path: Path, stack: ExitStack) -> None:
        self.path = path
        self._stack = stack
        self._stream: IO[bytes] | None = None
        self.count = 0

    def write(self, refusal: Refusal) -> None:
        if self._stream is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self._stack.enter_context(self.path.open("wb"))
        self._stream.write(orjson.dumps(refusal.to_dict()) + b"\n")
        self.count += 1

    def finish(self, *, keep_empty: bool) -> bool:
        """After the run (stream closed): True when the file exists and holds this run's refusals.

        Without refusals a file left by an earlier run is removed, or emptied with ``keep_empty``.
        """
        if self.count:
            return True
        if keep_empty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")
            return True
        self.path.unlink(missing_ok=True)
        return False


class _ChunkWriter:
    """Writes chunks of prepared records, in input order; on PostgreSQL in a thread of its own
    while the importing thread reads and validates the next ones (the server inserts, and the
    writer waits for it without the GIL, beside the validation). One chunk waits at most
    (memory stays flat); each is still one transaction of :meth:`Store.upsert_prepared`.
    After a failure the chunks still queued are dropped and the error is raised in the
    importing thread by the next :meth:`write` or :meth:`close`.

    A SQLite store is written in the importing thread: sqlite3 takes the GIL back after every
    row, so a writing thread only takes turns with the validation (measured 4-8 % slower), and
    an in-memory store has one connection per thread."""

    def __init__(self, store: Store, report: ImportReport, chunk_size: int) -> None:
        self._store = store
        self._report = report
        self._chunk_size = chunk_size
        self._queue: queue.Queue[list[tuple[PreparedRecord, str]] | None] = queue.Queue(1)
        self._error: BaseException | None = None
        self._raised = False
        self._thread: threading.Thread | None = None

    def write(self, chunk: list[tuple[PreparedRecord, str]]) -> None:
        self._raise_error()
        if self._store.engine.dialect.name == "sqlite":
            self._write(chunk)
            self._raise_error()
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bonepath-import-writer")
            self._thread.start()
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait until every chunk is written; raise the writer's error, if any."""
        self.stop()
        self._raise_error()

    def stop(self) -> None:
        """Wait for the chunks already queued (also when the import is failing)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                self._write(chunk)

    def _write(self, chunk: list[tuple[PreparedRecord, str]]) -> None:
        try:
            result = self._store.upsert_prepared(
                chunk, batch_id=self._report.batch_id, chunk_size=self._chunk_size
            )
        except BaseException as exc:  # raised again in the importing thread
            self._error = exc
        else:
            self._report.add(result)

    def _raise_error(self) -> None:
        if self._error is not None and not self._raised:
            self._raised = True
            raise self._error
