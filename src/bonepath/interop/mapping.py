"""A hospital's own export read by a column mapping (``bonepath import --mapping MAP.toml``).

A real HIS/LIS export is not the template: one wide patient sheet with the hospital's own
column names, a long lab table (one row per result: 检验项目, 结果, 单位, 参考范围, 报告时间),
medication orders, CT reports as text. A mapping (TOML) says, per file or worksheet, which
template sheet its rows are (``patients``, ``labs``, ``bta``, ``imaging`` …), which of its
columns is which template column, which columns to ignore, and the hospital's own value codes:

.. code-block:: toml

    format = "bonepath-mapping/1"
    source = "his-county"                   # the patients' source (default "manual")
    [constants]                             # the same value for every patient
    city_tier = "三四线城市"
    [[sheets]]
    match = "患者*.csv"                      # file name or worksheet title (glob)
    kind = "patients"
    header_row = 1                          # the row holding the headers (1-based)
    ignore = ["姓名", "床号"]                 # every other column must be mapped
    [sheets.columns]
    "住院号" = "id"
    "性别" = "sex"
    [sheets.values.sex]                     # the hospital's codes, before the synonyms
    "1" = "male"
    "2" = "female"

The rows are then read exactly as the template's (:mod:`bonepath.interop.tabular`): grouped
into one record per patient, cells converted by :mod:`bonepath.interop.values`, refusals
located by file, row and the hospital's own column header. A labs column mapped to
``reference_range`` (``3.5-5.5``, ``<5``) fills ``lln``/``uln``. A column that is neither
mapped nor ignored, or a file that no ``[[sheets]]`` matches, refuses the whole set: its
values would otherwise be lost without a word.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from bonepath.errors import InputError, Problem
from bonepath.interop import values
from bonepath.interop.raw import RawRecord
from bonepath.interop.tabular import (
    SHEETS,
    SheetRows,
    TemplateSheet,
    _decode_csv,
    _is_blank,
    _normalized,
    records_from_sheets,
)
from bonepath.record import problems as codes

MAPPING_FORMAT: Final = "bonepath-mapping/1"
UNKNOWN_COLUMN: Final = "UNKNOWN_COLUMN"
REFERENCE_RANGE: Final = "reference_range"
"""A labs target that is not a template column: ``3.5-5.5`` fills ``lln`` and ``uln``."""
TABLE_SUFFIXES: Final = frozenset({".csv", ".xlsx", ".xlsm"})

_RANGE: Final = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:-|~|～|—|–|至|--)\s*([+-]?\d+(?:\.\d+)?)")
_UPPER: Final = re.compile(r"(?:<|<=|≤|小于)\s*(\d+(?:\.\d+)?)")
_LOWER: Final = re.compile(r"(?:>|>=|≥|大于)\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class SheetMapping:
    """How one file or worksheet maps onto a template sheet."""

    match: str
    kind: str
    columns: Mapping[str, str]
    ignore: tuple[str, ...] = ()
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    header_row: int = 1

    @property
    def sheet(self) -> TemplateSheet:
        return SHEETS[self.kind]

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatch(unicodedata.normalize("NFC", name), self.match)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """A whole mapping file: the patients' source, constants and one entry per sheet."""

    sheets: tuple[SheetMapping, ...]
    source: str | None = None
    constants: Mapping[str, str] = field(default_factory=dict)
    name: str = "mapping"

    def sheet_for(self, name: str) -> SheetMapping | None:
        return next((sheet for sheet in self.sheets if sheet.matches(name)), None)


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a mapping file.

    Raises
    ------
    InputError
        The file is not TOML, or names a sheet kind or template column that does not exist.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a readable column mapping ({exc})") from exc
    return parse_mapping(data, name=path.stem, where=str(path))


def parse_mapping(
    data: Mapping[str, Any], *, name: str = "mapping", where: str = ""
) -> ColumnMapping:
    if data.get("format", MAPPING_FORMAT) != MAPPING_FORMAT:
        raise InputError(f"{where}: format must be {MAPPING_FORMAT!r}")
    sheets = []
    for index, entry in enumerate(data.get("sheets", ())):
        here = f"{where} [[sheets]] #{index + 1}"
        kind = entry.get("kind")
        if kind not in SHEETS:
            raise InputError(f"{here}: kind {kind!r} is not one of {', '.join(SHEETS)}")
        sheet = SHEETS[kind]
        names = {column.name for column in sheet.columns}
        if kind == "labs":
            names.add(REFERENCE_RANGE)
        columns = {str(header): str(target) for header, target in entry.get("columns", {}).items()}
        wrong = sorted(target for target in columns.values() if target not in names)
        if wrong:
            raise InputError(
                f"{here}: {', '.join(wrong)} not a column of the {kind} sheet; "
                f"accepted: {', '.join(sorted(names))}"
            )
        value_maps = {
            str(column): {values.normalized(str(k)): str(v) for k, v in table.items()}
            for column, table in entry.get("values", {}).items()
        }
        sheets.append(
            SheetMapping(
                str(entry.get("match", "*")),
                kind,
                columns,
                tuple(str(header) for header in entry.get("ignore", ())),
                value_maps,
                int(entry.get("header_row", 1)),
            )
        )
    if not sheets:
        raise InputError(f"{where}: no [[sheets]]")
    patient_columns = {column.name for column in SHEETS["patients"].columns}
    constants = {str(k): str(v) for k, v in data.get("constants", {}).items()}
    wrong = sorted(set(constants) - patient_columns)
    if wrong:
        raise InputError(f"{where}: constants {', '.join(wrong)} are not patients columns")
    source = data.get("source")
    return ColumnMapping(tuple(sheets), None if source is None else str(source), constants, name)


# ---- reading ---------------------------------------------------------------------------------


def table_files(paths: Sequence[Path]) -> list[Path]:
    """The CSV and Excel files of ``paths`` (a directory contributes its own)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
        else:
            out.append(path)
    return out


def read_tables(path: Path) -> Iterator[tuple[str, str, list[list[Any]]]]:
    """``(name to match, location, rows)`` of each table in a file: a CSV (UTF-8 or GB18030)
    is one table named by its file name; a workbook has one per worksheet, named by title."""
    if path.suffix.lower() == ".csv":
        text = _decode_csv(path.read_bytes())
        yield path.name, str(path), list(csv.reader(io.StringIO(text, newline="")))
        return
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for worksheet in workbook.worksheets:
            rows = [list(row) for row in worksheet.iter_rows(values_only=True)]
            yield str(worksheet.title), f"{path}[{worksheet.title}]", rows
    finally:
        workbook.close()


def read_mapped(mapping: ColumnMapping, paths: Sequence[Path]) -> Iterator[RawRecord]:
    """The raw records of a hospital's files read by ``mapping``; see the module docstring."""
    sheets: list[SheetRows] = []
    size = 0
    where = ", ".join(str(path) for path in paths)
    for path in paths:
        size += path.stat().st_size
        try:
            tables = list(read_tables(path))
        except Exception as exc:  # openpyxl: zipfile, KeyError, InvalidFileException…
            problem = Problem("", codes.MALFORMED_JSON, f"not a readable CSV or .xlsx ({exc})")
            yield RawRecord(str(path), None, problems=(problem,), position=size)
            return
        for name, location, rows in tables:
            if not any(any(not _is_blank(cell) for cell in row) for row in rows):
                continue
            entry = mapping.sheet_for(name)
            if entry is None:
                yield _refused(
                    location,
                    Problem(
                        "",
                        codes.UNKNOWN_FIELD,
                        f"{name!r} is matched by no [[sheets]] of the column mapping; add one "
                        "(match = the file name or sheet title) or leave the file out",
                        tuple(sheet.match for sheet in mapping.sheets),
                    ),
                    size,
                )
                return
            built = _sheet_rows(mapping, entry, location, rows)
            if isinstance(built, tuple):
                problem, zh = built
                yield RawRecord(
                    location, None, problems=(problem,), position=size, problems_zh={"": zh}
                )
                return
            sheets.append(built)
    yield from records_from_sheets(sheets, where=where, position=size)


def _refused(location: str, problem: Problem, size: int) -> RawRecord:
    return RawRecord(location, None, problems=(problem,), position=size)


def _sheet_rows(
    mapping: ColumnMapping, entry: SheetMapping, location: str, rows: list[list[Any]]
) -> SheetRows | tuple[Problem, str]:
    header_at = max(entry.header_row, 1)
    header = (
        [("" if cell is None else str(cell).strip()) for cell in rows[header_at - 1]]
        if len(rows) >= header_at
        else []
    )
    mapped = {_normalized(h): t for h, t in entry.columns.items()}
    ignored = {_normalized(h) for h in entry.ignore}
    unknown = [h for h in header if h and _normalized(h) not in mapped | dict.fromkeys(ignored)]
    if unknown:
        listed = "、".join(f"“{h}”" for h in unknown)
        return (
            Problem(
                "",
                UNKNOWN_COLUMN,
                f"{location}: column(s) {', '.join(repr(h) for h in unknown)} are neither "
                "mapped nor ignored by the column mapping; map each under [sheets.columns] or "
                "list it in ignore",
            ),
            f"列{listed}既未在列映射中指定去向，也未列入ignore：请在[sheets.columns]中映射，"
            "或列入ignore（其数据将不导入）",
        )
    present = {_normalized(h) for h in header if h}
    missing = [h for h in entry.columns if _normalized(h) not in present]
    if missing:
        return (
            Problem(
                "",
                codes.MISSING_FIELD,
                f"{location}: the mapping names column(s) {', '.join(map(repr, missing))} that "
                f"are not in row {header_at}; correct the header or header_row",
                tuple(h for h in header if h),
            ),
            f"列映射中的列{'、'.join(missing)}不在第{header_at}行：请更正列名或header_row",
        )
    data = [list(row) for row in rows[header_at:]]
    aliases = {key: target for key, target in mapped.items() if target != REFERENCE_RANGE}
    extra: list[tuple[str, Any]] = []
    if mapping.source is not None and "source" not in mapped.values():
        extra.append(("source", mapping.source))
    if entry.kind == "patients":
        extra += [(name, value) for name, value in mapping.constants.items()]
    ranges = [i for i, h in enumerate(header) if mapped.get(_normalized(h)) == REFERENCE_RANGE]
    # ignored columns and the reference range (split below) are not read as cells
    out_header: list[Any] = [h if _normalized(h) in aliases else "" for h in header]
    for name, _value in extra:
        out_header.append(name)
        aliases[_normalized(name)] = name
    if ranges:
        out_header += ["lln", "uln"]
        aliases.update({"lln": "lln", "uln": "uln"})
    out_rows = []
    for row in data:
        row = row + [None] * (len(header) - len(row))
        filled = any(not _is_blank(cell) for cell in row)
        cells = row + [value if filled else None for _name, value in extra]
        if ranges:
            cells += list(reference_limits(row[ranges[0]]))
        out_rows.append(cells)
    numbered = [(number, cells) for number, cells in enumerate(out_rows, start=header_at + 1)]
    return SheetRows(
        entry.sheet,
        location,
        out_header,
        numbered,
        aliases=aliases,
        value_maps=entry.values,
    )


def reference_limits(cell: Any) -> tuple[Any, Any]:
    """``(lln, uln)`` of a reference range cell (``3.5-5.5``, ``3.5～5.5``, ``<5``, ``>30``);
    a range in another form is kept as written in ``lln`` so the parser refuses it there."""
    if _is_blank(cell):
        return None, None
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    if match := _RANGE.fullmatch(text):
        return match.group(1), match.group(2)
    if match := _UPPER.fullmatch(text):
        return None, match.group(1)
    if match := _LOWER.fullmatch(text):
        return match.group(1), None
    return text, None


# ---- suggesting a first mapping ---------------------------------------------------------------


def _header_synonyms() -> dict[str, dict[str, str]]:
    text = files("bonepath.interop.synonyms").joinpath("headers.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {
        kind: {_normalized(h): str(c) for h, c in table.items()}
        for kind, table in data.items()
        if kind != "sources"
    }


def _recognize(kind: str, header: str, synonyms: Mapping[str, Mapping[str, str]]) -> str | None:
    found = synonyms.get(kind, {}).get(_normalized(header))
    if found is not None:
        return found
    column = SHEETS[kind].column_for(header)
    return None if column is None else column.name


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A first mapping of some files: the TOML text, and what a person should look at."""

    toml: str
    notes: tuple[str, ...]


def suggest_mapping(paths: Sequence[Path], *, source: str | None = None) -> Suggestion:
    """A first mapping from the headers of ``paths`` (Chinese and English synonyms,
    ``synonyms/headers.toml``, and the template's own headers); the kind of each table is the
    template sheet whose columns its headers name most often."""
    synonyms = _header_synonyms()
    lines = [
        "# bonepath column mapping: written by `bonepath mapping suggest`; check every line.",
        f'format = "{MAPPING_FORMAT}"',
        f'source = "{source or "his"}"  # the patients\' source system',
        "",
        "[constants]  # the same value for every patient, e.g.",
        '# city_tier = "三四线城市"',
        '# hospital_type = "综合医院"',
    ]
    notes: list[str] = []
    for path in paths:
        for name, location, rows in read_tables(path):
            best: tuple[int, str, int, dict[str, str]] | None = None
            for index, row in enumerate(rows[:10]):
                header = [str(cell).strip() for cell in row if not _is_blank(cell)]
                for kind in SHEETS:
                    found = {h: c for h in header if (c := _recognize(kind, h, synonyms))}
                    score = len(set(found.values())) + (1 if "id" in found.values() else 0)
                    if score >= 2 and (best is None or score > best[0]):
                        best = (score, kind, index + 1, found)
            if best is None:
                notes.append(f"{location}: no header recognized; map it by hand or leave it out")
                continue
            _score, kind, header_row, found = best
            header = [str(c).strip() for c in rows[header_row - 1] if not _is_blank(c)]
            ignored = [h for h in header if h not in found]
            lines += [
                "",
                "[[sheets]]",
                f"match = {_toml_string(name)}",
                f'kind = "{kind}"',
                f"header_row = {header_row}",
                "ignore = [" + ", ".join(_toml_string(h) for h in ignored) + "]",
                "[sheets.columns]",
                *(f"{_toml_string(h)} = {_toml_string(c)}" for h, c in found.items()),
            ]
            if "id" not in found.values():
                notes.append(f"{location}: no patient id column recognized; map one to id")
            if ignored:
                notes.append(f"{location}: ignored column(s) {', '.join(ignored)}")
    return Suggestion("\n".join(lines) + "\n", tuple(notes))


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
