"""Values as hospitals write them: coded values by synonym, numbers, dates.

Applied where tabular input is read (the CSV/Excel templates and mapped hospital files,
:mod:`bonepath.interop.tabular`, :mod:`bonepath.interop.mapping`), never by the record parser:
JSON format v1 stays strict (record-format.md). Each function either converts a cell without
ambiguity, refuses it with a :class:`CellRefusal` that says what to write instead, or returns
``None`` ("not recognised"), in which case the cell goes to the parser as written and is
refused there with its path.

- **Codes.** One table per vocabulary, as cited data (``interop/synonyms/*.toml``, see the
  README there): ``男`` → ``male``, ``肌酐(CREA)`` → ``creatinine``, ``安加维`` → ``denosumab``.
  A text that must not be mapped silently (``普罗力``, the osteoporosis denosumab; ``离子钙``)
  is refused with the table's own message; an unknown text is refused with the accepted
  values in both languages (``男 / male``).
- **Numbers.** Full-width digits, thousands separators (``1,200`` = 1200), a trailing LIS
  flag (``85↑``); ``3,0`` (decimal comma or a mistyped thousands group?) and censored
  results (``<5``) are refused, never guessed.
- **Dates.** ``2026-03-05``, ``2026/3/5``, ``2026.3.5``, ``2026年3月5日``, ``20260305``, each
  with or without a time; Excel date cells and serial numbers. Day-or-month-first
  (``05/03/2026``) and two-digit years are refused.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any, Final

from bonepath import vocab

AMBIGUOUS_VALUE: Final = "AMBIGUOUS_VALUE"
"""A cell that could mean two things (``3,0``, ``05/03/2026``, ``<5``, smoking ``有``)."""
WRONG_PRODUCT: Final = "WRONG_PRODUCT"
"""A drug product that is not the bone-metastasis regimen (denosumab 60 mg, zoledronic acid 5 mg)."""
WRONG_TEST: Final = "WRONG_TEST"
"""A lab test that is not the one the record means (ionized or urine calcium for serum calcium)."""
UNKNOWN_VALUE: Final = "UNKNOWN_CODE"
"""An unknown coded value: the record parser's own code, with the accepted values in both
languages."""

REFUSAL_CODES: Final = frozenset({AMBIGUOUS_VALUE, WRONG_PRODUCT, WRONG_TEST})
"""The codes a synonym table's ``[refused]`` entry may carry."""
CELL_REFUSAL_CODES: Final = REFUSAL_CODES | {UNKNOWN_VALUE}
"""Every code a :class:`CellRefusal` carries."""

EXCEL_EPOCH: Final = dt.date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system as it counts from 1900-03-01 (serial 61) on; serials
below 61 are refused (Excel counts a 1900-02-29 that did not exist)."""
FIRST_SERIAL: Final = 61
LAST_SERIAL: Final = 2_958_465  # 9999-12-31


@dataclass(frozen=True, slots=True)
class CellRefusal:
    """Why a cell is refused before parsing: a problem code, the English sentence, the Chinese
    sentence, and the values that would be accepted (in both languages where they are codes)."""

    code: str
    en: str
    zh: str
    accepted: tuple[str, ...] | None = None


def normalized(text: str) -> str:
    """NFKC (full-width forms, Roman numerals Ⅳ), case folded, without white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


# ---- vocabularies ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refused:
    code: str
    source: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class _Strength:
    code: str
    mg: float
    source: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A synonym table: the codes of one vocabulary and the texts that mean each."""

    name: str
    labels: Mapping[str, str]  # code -> Chinese label, in table order
    lookup: Mapping[str, tuple[str, str]]  # normalized text -> (code, source key)
    refused: Mapping[str, _Refused]
    sources: Mapping[str, str]
    strip: tuple[str, ...] = ()
    split_brackets: bool = False
    strengths: tuple[_Strength, ...] = field(default=())

    @property
    def accepted(self) -> tuple[str, ...]:
        """The codes as ``中文 / code``: what a person may write in a cell."""
        return tuple(f"{zh} / {code}" for code, zh in self.labels.items())

    def resolve(self, text: str, what: str) -> str | CellRefusal:
        """The code ``text`` means, or why it is refused (``what`` names the field)."""
        key = normalized(text)
        found = self._exact(key)
        if found is None and (self.split_brackets or self.strip):
            found = self._by_parts(key)
        if found is None:
            return CellRefusal(
                UNKNOWN_VALUE,
                f"{text!r} is not a value of {what}",
                f"“{text}”不是{what}的可用值，请改为可接受的值之一",
                self.accepted,
            )
        if isinstance(found, CellRefusal):
            return found
        for strength in self.strengths:
            if strength.code == found and _has_strength(key, strength.mg):
                return CellRefusal(WRONG_PRODUCT, strength.en, strength.zh)
        return found

    def _exact(self, key: str) -> str | CellRefusal | None:
        if key in self.refused:
            refused = self.refused[key]
            return CellRefusal(refused.code, refused.en, refused.zh)
        hit = self.lookup.get(key)
        return None if hit is None else hit[0]

    def _by_parts(self, key: str) -> str | CellRefusal | None:
        """``肌酐(CREA)``, ``地舒单抗注射液(安加维)``, ``唑来膦酸注射液4mg:5ml``: each part that
        is known must agree; any refused part refuses the whole."""
        parts = re.split(r"[()\[\]【】<>]+", key) if self.split_brackets else [key]
        found: set[str] = set()
        for part in parts:
            for candidate in dict.fromkeys((part, self._stripped(part))):
                if not candidate:
                    continue
                hit = self._exact(candidate)
                if isinstance(hit, CellRefusal):
                    return hit
                if hit is not None:
                    found.add(hit)
                    break
        if len(found) == 1:
            return found.pop()
        return None  # none known, or parts naming two codes: not guessed

    def _stripped(self, part: str) -> str:
        text = _STRENGTH.sub("", part)
        for affix in self.strip:
            text = text.replace(normalized(affix), "")
        return text.strip(":/,;-")


_STRENGTH: Final = re.compile(r"\d+(?:\.\d+)?(?:mg|g|ml|μg|ug)(?:[:/]\d+(?:\.\d+)?(?:ml|l))?")


def _has_strength(key: str, mg: float) -> bool:
    return any(math.isclose(float(value), mg) for value in re.findall(r"(\d+(?:\.\d+)?)mg", key))


_PACKAGE: Final = "bonepath.interop.synonyms"


def _file_name(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() + ".toml"


@cache
def vocabulary(name: str) -> Vocabulary | None:
    """The synonym table of a vocabulary (an enum name of :mod:`bonepath.vocab`, or ``unit``);
    None when there is none. Checked at load: see :func:`_build`."""
    resource = files(_PACKAGE).joinpath(_file_name(name))
    if not resource.is_file():
        return None
    return _build(name, tomllib.loads(resource.read_text(encoding="utf-8")))


def vocabulary_names() -> tuple[str, ...]:
    """Every synonym table shipped (by vocabulary name)."""
    out = []
    for resource in files(_PACKAGE).iterdir():
        if resource.name.endswith(".toml") and resource.name != "headers.toml":
            data = tomllib.loads(resource.read_text(encoding="utf-8"))
            out.append(str(data["vocabulary"]))
    return tuple(sorted(out))


def _build(name: str, data: Mapping[str, Any]) -> Vocabulary:
    if data.get("vocabulary") != name:
        raise ValueError(f"synonyms {_file_name(name)}: vocabulary is {data.get('vocabulary')!r}")
    sources: dict[str, str] = dict(data.get("sources", {}))
    enum = getattr(vocab, name, None)
    valid = (
        {str(member.value) for member in enum}
        if isinstance(enum, type) and issubclass(enum, StrEnum)
        else None
    )
    labels: dict[str, str] = {}
    lookup: dict[str, tuple[str, str]] = {}

    def add(text: str, code: str, source: str) -> None:
        key = normalized(text)
        if source not in sources:
            raise ValueError(f"synonyms {name}: {text!r} cites unknown source {source!r}")
        previous = lookup.get(key)
        if previous is not None and previous[0] != code:
            raise ValueError(f"synonyms {name}: {text!r} means both {previous[0]} and {code}")
        lookup.setdefault(key, (code, source))

    for code, entry in data.get("codes", {}).items():
        if valid is not None and code not in valid:
            raise ValueError(f"synonyms {name}: {code!r} is not a code of vocab.{name}")
        labels[code] = str(entry["zh"])
        lookup.setdefault(normalized(code), (code, "code"))
        for text, source in entry.get("synonyms", {}).items():
            add(text, code, source)
    if valid is not None and set(labels) != valid:
        raise ValueError(f"synonyms {name}: no entry for {sorted(valid - set(labels))}")
    refused = {}
    for text, entry in data.get("refused", {}).items():
        key = normalized(text)
        if key in lookup or entry["source"] not in sources:
            raise ValueError(f"synonyms {name}: refused {text!r} is mapped or has no source")
        code = entry.get("code", AMBIGUOUS_VALUE)
        if code not in REFUSAL_CODES:
            raise ValueError(f"synonyms {name}: refused {text!r} has code {code!r}")
        refused[key] = _Refused(code, entry["source"], entry["en"], entry["zh"])
    strengths = tuple(_Strength(**entry) for entry in data.get("strengths", ()))
    for strength in strengths:
        if strength.code not in labels or strength.source not in sources:
            raise ValueError(f"synonyms {name}: strength of unknown code or source {strength}")
    return Vocabulary(
        name,
        labels,
        lookup,
        refused,
        sources,
        tuple(data.get("strip", ())),
        bool(data.get("split_brackets", False)),
        strengths,
    )


def resolve_unit(text: str) -> str | None:
    """The record-format spelling of a lab unit (``μmol/L`` → ``umol/L``); None if unknown
    (the parser then refuses it with the units accepted for the test)."""
    table = vocabulary("unit")
    assert table is not None
    hit = table.lookup.get(normalized(text))
    return None if hit is None else hit[0]


# ---- numbers -------------------------------------------------------------------------------

_PLAIN: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS: Final = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_COMMA: Final = re.compile(r"[+-]?\d*,\d+(,\d+)*(\.\d+)?")
_CENSORED: Final = re.compile(r"(<=?|>=?|≤|≥|小于|大于|低于|高于)\s*[+-]?(\d+\.?\d*|\.\d+)")
_FLAGS: Final = re.compile(r"(\s*[↑↓]|\s+[HL]|\s*\([HL]\))+$")


def parse_number(text: str) -> float | CellRefusal | None:
    """A number as written in a cell; None when the text is no number at all."""
    clean = unicodedata.normalize("NFKC", text).strip()
    clean = _FLAGS.sub("", clean).strip()  # "85↑", "2.1 L": the LIS flag, not the value
    if _PLAIN.fullmatch(clean):
        value = float(clean)
    elif _THOUSANDS.fullmatch(clean):
        value = float(clean.replace(",", ""))
    elif _COMMA.fullmatch(clean):
        return CellRefusal(
            AMBIGUOUS_VALUE,
            f"{text!r} could be a decimal comma or a thousands separator; write it with a "
            "decimal point (3.0) or full thousands (1,200)",
            f"“{text}”中的逗号可能是小数点也可能是千位分隔符，请写成小数点形式（如3.0）或完整的千位（如1,200）",
        )
    elif _CENSORED.fullmatch(clean):
        return CellRefusal(
            AMBIGUOUS_VALUE,
            f"{text!r} is a result outside the measuring range, not a value; leave the cell "
            "empty or write the measured number",
            f"“{text}”是超出检测范围的结果而非数值，请留空或填写实际测得的数值",
        )
    else:
        return None
    return value if math.isfinite(value) else None


# ---- dates ----------------------------------------------------------------------------------

_TIME: Final = (
    r"(?:[T\s]*\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?|\s*\d{1,2}时(?:\d{1,2}分)?(?:\d{1,2}秒)?)?"
)
_YMD: Final = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)
_YMD_ZH: Final = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?" + _TIME)
_COMPACT: Final = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{4}(?:\d{2})?)?")
_DAY_FIRST: Final = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.](\d{2}|\d{4})" + _TIME)
_SERIAL_TEXT: Final = re.compile(r"\d{5}(\.\d+)?")


def excel_serial(day: dt.date) -> int:
    """The Excel (1900 system) serial number of ``day`` (from 1900-03-01 on)."""
    return (day - EXCEL_EPOCH).days


def from_excel_serial(serial: float) -> str | None:
    if not FIRST_SERIAL <= serial <= LAST_SERIAL + 0.99999:
        return None
    return (EXCEL_EPOCH + dt.timedelta(days=int(serial))).isoformat()


def parse_date(value: Any) -> str | CellRefusal | None:
    """``YYYY-MM-DD`` of a date cell (a day that does not exist stays ``2026-02-30`` for the
    parser to refuse); a refusal for a day-or-month-first date; None when not a date form."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):  # an Excel date cell read without its format
        return from_excel_serial(value) if math.isfinite(value) else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _YMD.fullmatch(text) or _YMD_ZH.fullmatch(text) or _COMPACT.fullmatch(text)
    if match:
        year, month, day = match.groups()[:3]
        return f"{year}-{int(month):02d}-{int(day):02d}"
    if _SERIAL_TEXT.fullmatch(text):  # 46086 = 2026-03-05, as a CSV holds an unformatted cell
        return from_excel_serial(float(text))
    if _DAY_FIRST.fullmatch(text):
        return CellRefusal(
            AMBIGUOUS_VALUE,
            f"{text!r}: day-first and month-first dates cannot be told apart; write the year "
            "first (2026-03-05 or 2026年3月5日)",
            f"“{text}”无法区分日/月的先后，请年份在前填写（如2026-03-05或2026年3月5日）",
        )
    return None
