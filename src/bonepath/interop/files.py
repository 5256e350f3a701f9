"""Record files in, a stream of raw records out: JSON, NDJSON and the CSV/Excel templates.

Each reader yields :class:`RawRecord`: where the record came from (``cohort.ndjson:12``,
``cohort.json[3]``, ``templates/patients.csv:5``), its decoded JSON, and, for the tabular
templates, which sheet cell each JSON path came from, so that a refusal names both the path
into the record and the row and column to fix. Nothing here validates a record: that is
:func:`bonepath.record.parse.parse_record`'s job, done by :mod:`bonepath.interop.importer`.
A piece of input that cannot even be decoded (a line that is not JSON) becomes a raw record
that already carries its problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from bonepath.errors import InputError, NotFound, Problem, RecordRefused
from bonepath.interop.raw import RawRecord
from bonepath.record import problems as codes
from bonepath.record.limits import MAX_RECORD_BYTES
from bonepath.record.parse import parse_json

InputKind = Literal["json", "ndjson", "csv", "xlsx", "fhir", "mapped"]

JSON_SUFFIXES: Final = frozenset({".json"})
NDJSON_SUFFIXES: Final = frozenset({".ndjson", ".jsonl"})
CSV_SUFFIXES: Final = frozenset({".csv"})
XLSX_SUFFIXES: Final = frozenset({".xlsx", ".xlsm"})
_UTF8_BOM: Final = b"\xef\xbb\xbf"
REJECTS_SUFFIX: Final = ".rejects.ndjson"
_ORJSON_DEPTH: Final = "depth limit exceeded"


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input of an import: a JSON, NDJSON or Excel file, or a set of template CSVs."""

    kind: InputKind
    path: Path
    members: tuple[Path, ...] = ()  # the CSV files of a template set, or the mapped files
    size: int = 0
    mapping: Any = None  # kind "mapped": the bonepath.interop.mapping.ColumnMapping

    @property
    def name(self) -> str:
        return str(self.path)


def find_inputs(paths: Sequence[Path]) -> list[InputFile]:
    """Resolve command-line paths to inputs, before anything is read.

    A directory contributes its JSON, NDJSON and Excel files and, when it holds CSV files,
    one template set of them. CSV files named on the command line are grouped into one
    template set per directory.

    Raises
    ------
    NotFound
        A path does not exist.
    InputError
        A path is not of a supported kind.
    """
    from bonepath.interop.fhir.sniff import sniff  # FHIR files: grouped, read by the FHIR mapping

    inputs: list[InputFile] = []
    csv_groups: dict[Path, list[Path]] = {}
    fhir_groups: dict[Path, list[Path]] = {}
    for path in paths:
        if not path.exists():
            raise NotFound(f"{path}: no such file or directory")
        if path.is_dir():
            for child in sorted(path.iterdir()):
                suffix = child.suffix.lower()
                if child.name.endswith(REJECTS_SUFFIX):
                    continue  # an earlier run's refusals (bonepath.interop.importer)
                if child.is_file() and suffix in CSV_SUFFIXES:
                    csv_groups.setdefault(path, []).append(child)
                elif child.is_file() and _kind(child) in ("json", "ndjson") and sniff(child):
                    fhir_groups.setdefault(path, []).append(child)
                elif child.is_file() and _kind(child) is not None:
                    inputs.append(_input(child))
            continue
        if path.suffix.lower() in CSV_SUFFIXES:
            csv_groups.setdefault(path.parent, []).append(path)
            continue
        if _kind(path) in ("json", "ndjson") and sniff(path):
            fhir_groups.setdefault(path.parent, []).append(path)
            continue
        if _kind(path) is None:
            raise InputError(
                f"{path}: not an importable file; accepted: .json (one record or a list), "
                ".ndjson/.jsonl (one record per line), .xlsx template workbook, or a "
                "directory of template .csv files"
            )
        inputs.append(_input(path))
    for directory, members in csv_groups.items():
        unique = tuple(dict.fromkeys(members))
        size = sum(member.stat().st_size for member in unique)
        inputs.append(InputFile("csv", directory, unique, size))
    for directory, members in fhir_groups.items():
        # the files of one directory are read together: a bulk export spreads a patient's
        # resources over one file per resource type
        unique = tuple(dict.fromkeys(members))
        size = sum(member.stat().st_size for member in unique)
        inputs.append(InputFile("fhir", directory, unique, size))
    return inputs


def _kind(path: Path) -> InputKind | None:
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in NDJSON_SUFFIXES:
        return "ndjson"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    return None


def _input(path: Path) -> InputFile:
    kind = _kind(path)
    assert kind is not None
    return InputFile(kind, path, size=path.stat().st_size)


def read_input(source: InputFile) -> Iterator[RawRecord]:
    """The raw records of one input, in file order."""
    if source.kind == "ndjson":
        return read_ndjson(source.path)
    if source.kind == "json":
        return read_json(source.path)
    if source.kind == "mapped":
        from bonepath.interop.mapping import read_mapped

        return read_mapped(source.mapping, source.members)
    if source.kind == "fhir":
        # mapped as of the real today; bonepath.interop.importer also counts what is skipped
        import datetime as dt

        from bonepath.interop.fhir.importing import read_fhir

        mapped = read_fhir(source.members, today=dt.date.today())
        return iter([*mapped.records, *mapped.refused_items])
    from bonepath.interop import tabular  # openpyxl is only loaded for templates

    if source.kind == "xlsx":
        return tabular.read_workbook(source.path)
    return tabular.read_csv_set(source.path, source.members)


def read_ndjson(path: Path) -> Iterator[RawRecord]:
    """One record per line; blank lines are skipped; a line that is not JSON is refused."""
    position = 0
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            position += len(line)
            if number == 1 and line.startswith(_UTF8_BOM):
                line = line[len(_UTF8_BOM) :]
            if not line.strip():
                continue
            yield _decoded(f"{path}:{number}", line, position)


def read_json(path: Path) -> Iterator[RawRecord]:
    """A file holding one record (an object) or a list of records.

    A list is read as a whole; when one of its records is nested too deeply for the JSON
    decoder (1,024 levels), the list is cut into its items and each is read on its own, so
    that one such record is refused (``TOO_DEEP``) and the others are kept.
    """
    text = path.read_bytes()
    size = len(text)
    try:
        data = orjson.loads(text.removeprefix(_UTF8_BOM))
    except orjson.JSONDecodeError as exc:
        items = _list_items(text) if str(exc).startswith(_ORJSON_DEPTH) else None
        if items is None:
            yield RawRecord(str(path), None, problems=_malformed(text), position=size)
            return
        for index, item in enumerate(items):
            yield _decoded(f"{path}[{index}]", item, size, bounded=False)
        return
    if not isinstance(data, list):
        yield _checked(RawRecord(str(path), data, position=size))
        return
    for index, item in enumerate(data):
        yield _checked(RawRecord(f"{path}[{index}]", item, position=size))


# A JSON string, or one of the characters that open, close or separate values.
_JSON_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]', re.DOTALL)


def _list_items(text: bytes) -> list[bytes] | None:
    """The texts of the items of a top-level JSON list, found by bracket depth without
    decoding; None when ``text`` is not a list whose items are separated well enough to cut."""
    body = text.removeprefix(_UTF8_BOM).strip()
    if not body.startswith(b"["):
        return None
    items: list[bytes] = []
    depth, start = 0, 1
    for token in _JSON_TOKENS.finditer(body):
        mark = token.group()
        if mark.startswith(b'"'):
            continue
        if mark in (b"[", b"{"):
            depth += 1
        elif mark in (b"]", b"}"):
            depth -= 1
            if depth == 0:
                last = body[start : token.start()]
                if body[token.end() :].strip() or (last.strip() == b"" and items):
                    return None  # text after the list, or a trailing comma: not JSON
                return [*items, last] if last.strip() else items
        elif depth == 1:  # a comma between two items
            items.append(body[start : token.start()])
            start = token.end()
    return None


def _decoded(location: str, text: bytes, position: int, *, bounded: bool = True) -> RawRecord:
    """One record's text decoded; refused unread when it is over the size bound (``bounded``:
    the text is one record, not a whole file)."""
    if bounded and len(text) > MAX_RECORD_BYTES:
        return RawRecord(location, None, problems=_malformed(text), position=position)
    try:
        data = orjson.loads(text.removeprefix(_UTF8_BOM))
    except orjson.JSONDecodeError:
        return RawRecord(location, None, problems=_malformed(text), position=position)
    return _checked(RawRecord(location, data, position=position))


def _malformed(text: bytes) -> tuple[Problem, ...]:
    # The parser words the refusal of text that is not JSON, too deep or too large; reuse it.
    try:
        parse_json(text)
    except RecordRefused as refused:
        return refused.problems
    raise AssertionError("text that orjson refused was accepted by parse_json")  # pragma: no cover


def _checked(raw: RawRecord) -> RawRecord:
    """Refuse FHIR resources by name instead of as a record with unknown fields."""
    if isinstance(raw.data, Mapping) and "resourceType" in raw.data:
        problem = Problem(
            "/resourceType",
            codes.UNSUPPORTED_FORMAT,
            f"a FHIR {raw.data.get('resourceType')} resource inside a list of records is not "
            "a bonepath record; import FHIR as a Bundle (.json) or bulk NDJSON file of its own "
            "(docs/fhir.md)",
            ("bonepath-record/1",),
        )
        return RawRecord(raw.location, raw.data, problems=(problem,), position=raw.position)
    return raw


def iter_inputs(inputs: Iterable[InputFile]) -> Iterator[tuple[InputFile, RawRecord]]:
    """Every raw record of every input, tagged with its input."""
    for source in inputs:
        for raw in read_input(source):
            yield source, raw
