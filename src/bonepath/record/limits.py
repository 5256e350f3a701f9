"""What a decoded record may hold before it is validated: bounded nesting and size, no NUL
character in any text, and ids without control characters.

:func:`screen` walks the decoded JSON once, without recursion, before the pydantic models and
the checks of :mod:`bonepath.record.checks` (both of which recurse) see it:

* a record nested deeper than :data:`MAX_DEPTH` or holding more than :data:`MAX_VALUES` values
  is refused with that one problem (``TOO_DEEP``, ``TOO_LARGE``) and nothing else runs: a
  thousand nested lists would otherwise exhaust Python's recursion limit, and format v1
  needs five levels;
* a text holding U+0000 is refused at its path (``CONTROL_CHARACTER``): PostgreSQL cannot
  store it, and one such record would fail the whole chunk of good records written with it;
* the ids — the record's ``id`` and ``source``, ``hospital.id`` and ``physician.id`` — are
  refused when blank (``WRONG_FORMAT``) or when they hold a control character (C0, DEL, C1,
  U+2028/U+2029; ``CONTROL_CHARACTER``): an id is shown, linked and matched, and a newline
  or NUL in one cannot be. A ``/`` is an ordinary id character.

The same bounds apply to record text before it is decoded (:data:`MAX_RECORD_BYTES`,
:func:`bonepath.record.parse.parse_json` and the NDJSON reader).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any, Final

from bonepath.errors import Problem
from bonepath.record import problems as codes

__all__ = [
    "ID_FIELDS",
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "MAX_VALUES",
    "bound_problem",
    "screen",
    "too_deep",
    "too_large",
]

MAX_DEPTH: Final = 32
"""Most nested objects and lists in one record (format v1 needs 5: ``/events/imaging/0/sites``)."""
MAX_VALUES: Final = 200_000
"""Most JSON values in one record (a patient with ten years of weekly labs holds ~20,000)."""
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
"""Most bytes of one record's JSON text (a line of NDJSON, a record file)."""

ID_FIELDS: Final[tuple[tuple[str, ...], ...]] = (
    ("id",),
    ("source",),
    ("hospital", "id"),
    ("physician", "id"),
)
"""The ids of a record, as paths: blank or control characters refused."""

_SEPARATORS: Final = frozenset({"\u2028", "\u2029"})
_CHARACTER_NAMES: Final = {
    "\x00": "NUL",
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\x7f": "DEL",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def _pointer(parts: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def too_deep(path: str, where: str = "") -> Problem:
    """The refusal of a value nested deeper than :data:`MAX_DEPTH` (``where``: line/column)."""
    at = f" ({where})" if where else ""
    return Problem(
        path,
        codes.TOO_DEEP,
        f"the record nests objects and lists more than {MAX_DEPTH} levels deep{at}; format v1 "
        "needs at most 5 (record-format.md): fix the export that wrote it",
        (f"at most {MAX_DEPTH} levels",),
    )


def too_large(what: str, limit: str) -> Problem:
    """The refusal of a record over a size bound (``what`` it holds, ``limit`` accepted)."""
    return Problem(
        "",
        codes.TOO_LARGE,
        f"the record is too large ({what}); one patient's record holds {limit}: split the "
        "input into one record per patient (record-format.md)",
        (limit,),
    )


def bound_problem(data: Any) -> Problem | None:
    """The first depth or size bound ``data`` breaks, or None; iterative, so it is safe on
    any decoded JSON."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    count = 0
    while stack:
        value, parts = stack.pop()
        if isinstance(value, Mapping):
            children: Iterator[tuple[str | int, Any]] = iter(value.items())
        elif isinstance(value, list | tuple):
            children = enumerate(value)
        else:
            continue
        if len(parts) >= MAX_DEPTH:
            return too_deep(_pointer(parts))
        count += len(value)
        if count > MAX_VALUES:
            return too_large(f"more than {MAX_VALUES:,} values", f"at most {MAX_VALUES:,} values")
        stack.extend((child, (*parts, key)) for key, child in children)
    return None


def screen(data: Any) -> list[Problem]:
    """Every problem of the text and ids of a decoded record (see the module docstring).

    When a bound is broken the list holds that one problem and the record must not be
    validated further (:func:`bonepath.record.parse.parse_record` stops there).
    """
    if type(data) is dict and _within_bounds_without_nul(data):
        return list(_id_problems(data))
    bound = bound_problem(data)
    if bound is not None:
        return [bound]
    problems = list(_id_problems(data))
    id_paths = {p.path for p in problems}
    problems += (p for p in _nul_problems(data) if p.path not in id_paths)
    return problems


def _within_bounds_without_nul(data: Any) -> bool:
    """True when ``data`` breaks no bound and holds no NUL in any key or text: the common case,
    decided without building a path per value (an import screens every record). False says
    only "look closer": :func:`screen` then walks the data as before for the exact problems.
    Exact ``dict``/``list``/``str`` types (what a JSON decoder gives); anything else is a
    closer look too."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False
        count += len(value)
        if count > MAX_VALUES:
            return False
        children = value.values() if type(value) is dict else value
        if type(value) is dict and any(type(key) is not str or "\x00" in key for key in value):
            return False
        for child in children:
            kind = type(child)
            if kind is str:
                if "\x00" in child:
                    return False
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind not in _SCALARS:
                return False
    return True


_SCALARS: Final = frozenset({int, float, bool, type(None)})


def _nul_problems(data: Any) -> Iterator[Problem]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                yield Problem(
                    _pointer(parts),
                    codes.CONTROL_CHARACTER,
                    f"{_name(parts)} holds the character U+0000 (NUL) at position "
                    f"{value.index(chr(0)) + 1}, which cannot be stored; remove it",
                    ("text without U+0000",),
                )
        elif isinstance(value, Mapping):
            stack.extend((child, (*parts, key)) for key, child in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((child, (*parts, index)) for index, child in enumerate(value))


def _id_problems(data: Any) -> Iterator[Problem]:
    for field in ID_FIELDS:
        value: Any = data
        for part in field:
            value = value.get(part) if isinstance(value, Mapping) else None
        if not isinstance(value, str) or (value == "" and len(field) == 1):
            continue  # absent, of the wrong type or empty (id, source): the model reports it
        name, path = ".".join(field), _pointer(field)
        if not value.strip():
            yield Problem(
                path,
                codes.WRONG_FORMAT,
                f"{name} is blank; an id needs at least one visible character",
                ("1-64 characters, not only spaces",),
            )
            continue
        if field == ("source",) and "/" in value:
            # a source is one segment of every patient URL (/patients/{source}/{id}); an id may
            # hold '/' (HIS numbering such as 2024/00123), a source may not
            yield Problem(
                path,
                codes.WRONG_FORMAT,
                f"source {value[:40]!r} holds '/'; a source names the exporting system in one "
                "word (e.g. his-a): replace the '/' (an id may contain it, a source not)",
                ("letters, digits, '-', '_' or '.', without '/'",),
            )
            continue
        bad = next((c for c in value if _is_control(c)), None)
        if bad is not None:
            yield Problem(
                path,
                codes.CONTROL_CHARACTER,
                f"{name} holds the control character U+{ord(bad):04X} "
                f"({_CHARACTER_NAMES.get(bad, 'a control character')}) at position {value.index(bad) + 1}; "
                "an id is one line of visible characters (a '/' is fine): fix the export",
                ("visible characters, no line breaks, tabs or other control characters",),
            )


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in _SEPARATORS


def _name(parts: tuple[str | int, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "record"
