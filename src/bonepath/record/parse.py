"""Decoded JSON (or JSON text) in, a validated :class:`~bonepath.record.model.Record` out.

The parser is the gate of record-format.md: a record that breaks any rule is refused whole
with one :class:`~bonepath.errors.RecordRefused` listing *every* problem, each with its JSON
Pointer path, a stable code (:mod:`bonepath.record.problems`), a message that names the remedy
and, where it applies, the accepted codes or units. After a screen (step 0), two passes run
on every input and their problems are merged:

0. bounds and text, by :mod:`bonepath.record.limits` (depth and size refuse at once; NUL
   characters and ids with control characters join the other problems);
1. structure and vocabularies, by the pydantic models (errors converted here);
2. units, plausibility, dates and contradictions, by :mod:`bonepath.record.checks`, run on
   the raw data so that they still report when pass 1 failed.

Where both passes flag the same path, the semantic problem is kept: it is the more specific.
"""

from __future__ import annotations

import datetime as dt
import json
import types
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bonepath.errors import Problem, RecordRefused
from bonepath.record import problems as codes
from bonepath.record.checks import run_checks
from bonepath.record.limits import MAX_RECORD_BYTES, screen, too_deep, too_large
from bonepath.record.model import INVALID_DATE_ERROR, Record
from bonepath.vocab import RECORD_FORMAT

__all__ = ["parse_json", "parse_record", "pointer", "sort_problems"]

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_ORJSON_DEPTH: Final = "depth limit exceeded"
_BOUND_CODES: Final = frozenset({codes.TOO_DEEP, codes.TOO_LARGE})


def parse_record(data: object, *, today: dt.date | None = None) -> Record:
    """Validate one decoded JSON record (record-format.md v1) and return it as a :class:`Record`.

    Parameters
    ----------
    data
        The decoded JSON object (``dict``) of one record.
    today
        The real current date, the only date after which a record date is refused (VAL-01).
        Defaults to :meth:`datetime.date.today`; tests and batch jobs pass it explicitly.

    Raises
    ------
    RecordRefused
        On any problem, listing every problem found, sorted by path, without duplicates.
    """
    day = dt.date.today() if today is None else today
    if isinstance(data, Record):
        data = data.to_json_dict()
    screened = screen(data)  # bounded depth and size first: the two passes recurse
    if any(p.code in _BOUND_CODES for p in screened):
        raise RecordRefused(screened)
    record: Record | None = None
    structural: list[Problem] = []
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        structural = [structural_problem(error) for error in exc.errors()]
    problems = merge_problems(structural, [*run_checks(data, day), *screened])
    if problems or record is None:
        raise RecordRefused(problems)
    return record


def parse_json(text: str | bytes, *, today: dt.date | None = None) -> Record:
    """Parse the JSON text of one record (a UTF-8 byte-order mark is tolerated).

    Text that is not JSON is refused with path ``""`` and code ``MALFORMED_JSON``; NaN and
    infinity are not JSON and are refused the same way. Text over
    :data:`~bonepath.record.limits.MAX_RECORD_BYTES` is refused unread (``TOO_LARGE``), text
    nested too deeply to decode with ``TOO_DEEP`` (see :mod:`bonepath.record.limits`).
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordRefused(
            [too_large(f"{len(raw):,} bytes", f"at most {MAX_RECORD_BYTES:,} bytes of JSON")]
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith(_ORJSON_DEPTH):  # orjson stops at 1024 levels, before we do
            raise RecordRefused([too_deep("", f"line {exc.lineno} column {exc.colno}")]) from None
        raise RecordRefused(
            [
                Problem(
                    "",
                    codes.MALFORMED_JSON,
                    f"the text is not valid JSON ({exc}); a record is one JSON object "
                    "(record-format.md)",
                )
            ]
        ) from None
    return parse_record(data, today=today)


# ---- problems: merging and ordering ---------------------------------------------------------


def pointer(loc: Iterable[str | int]) -> str:
    """The JSON Pointer (RFC 6901) of a location such as ``("events", "labs", 0, "unit")``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders list indices numerically (``/labs/2`` before ``/labs/10``)."""
    parts = path.split("/")[1:]
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems without exact duplicates, in path order (then code, then message)."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (_path_key(p.path), p.code, p.problem))


def merge_problems(structural: Sequence[Problem], semantic: Sequence[Problem]) -> list[Problem]:
    """All problems; at a path flagged by both passes only the semantic problems are kept."""
    semantic_paths = {p.path for p in semantic}
    kept = [p for p in structural if p.path not in semantic_paths]
    return sort_problems([*kept, *semantic])


# ---- pydantic errors -> problems -----------------------------------------------------------

_NOT_A_NUMBER_TYPES: Final = frozenset({"float_type", "float_parsing", "finite_number"})
_NOT_AN_INTEGER_TYPES: Final = frozenset({"int_type", "int_parsing", "int_from_float"})
_RANGE_TYPES: Final = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_SHAPE_TYPES: Final = frozenset({"string_too_short", "string_too_long", "string_pattern_mismatch"})
_EXPECTED_TYPE: Final[dict[str, str]] = {
    "string_type": "a string",
    "bool_type": "true or false",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "tuple_type": "a list",
    "list_type": "a list",
}


def structural_problem(error: ErrorDetails) -> Problem:
    """One pydantic validation error as a :class:`Problem` with a JSON Pointer path."""
    loc = error["loc"]
    is_key = bool(loc) and loc[-1] == "[key]"
    path_loc = tuple(part for part in loc if part != "[key]")
    path = pointer(path_loc)
    name = _field_name(path_loc)
    kind, shown = error["type"], _show(error.get("input"))

    if kind == "missing":
        return Problem(
            path,
            codes.MISSING_FIELD,
            f"required field {name!r} is missing; add it (record-format.md)",
            _accepted_codes(loc),
        )
    if kind == "extra_forbidden":
        return Problem(
            path,
            codes.UNKNOWN_FIELD,
            f"unknown field {str(loc[-1])!r} in {_field_name(loc[:-1])}: format v1 has no such "
            "field, and unknown fields are refused, not ignored; remove it or use one of the "
            "accepted fields",
            _model_fields(loc[:-1]),
        )
    if kind in ("enum", "literal_error"):
        return _unknown_code(path, loc, name, shown, is_key)
    if kind == INVALID_DATE_ERROR:
        return Problem(path, codes.INVALID_DATE, f"{name}: {error['msg']}", ("YYYY-MM-DD",))
    if kind in _NOT_A_NUMBER_TYPES:
        remedy = "write it without quotes" if isinstance(error.get("input"), str) else "fix it"
        return Problem(
            path,
            codes.NOT_A_NUMBER,
            f"{name} must be a JSON number, not {shown}; {remedy} (values are never coerced)",
        )
    if kind in _NOT_AN_INTEGER_TYPES:
        return Problem(
            path,
            codes.NOT_AN_INTEGER,
            f"{name} must be a whole JSON number, not {shown}",
        )
    if kind in _RANGE_TYPES:
        return _out_of_range(path, name, shown, error)
    if kind in _SHAPE_TYPES:
        return _wrong_length(path, name, shown, error)
    if kind in _EXPECTED_TYPE:
        return Problem(
            path,
            codes.WRONG_TYPE,
            f"{name} must be {_EXPECTED_TYPE[kind]}, not {shown}",
        )
    return Problem(path, codes.WRONG_FORMAT, f"{name} {shown}: {error['msg']}")


def _unknown_code(
    path: str, loc: tuple[str | int, ...], name: str, shown: str, is_key: bool
) -> Problem:
    accepted = _accepted_codes(loc)
    if path == "/format":
        return Problem(
            path,
            codes.UNSUPPORTED_FORMAT,
            f"format {shown} is not supported; this version reads {RECORD_FORMAT!r}",
            accepted,
        )
    listed = ", ".join(str(code) for code in accepted or ())
    what = f"a key of {_field_name(loc[:-2])}" if is_key else name
    return Problem(
        path,
        codes.UNKNOWN_CODE,
        f"{shown} is not an accepted code for {what}; accepted: {listed}",
        accepted,
    )


_BOUNDS: Final = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _out_of_range(path: str, name: str, shown: str, error: ErrorDetails) -> Problem:
    ctx = error.get("ctx") or {}
    if ctx.get("gt") == 0:
        return Problem(
            path,
            codes.NOT_POSITIVE,
            f"{name} {shown} is not positive; a measured value must be greater than 0 (VAL-02)",
            ("> 0",),
        )
    limits = _field_bounds(error["loc"]) or ctx
    accepted = tuple(f"{op} {limits[key]:g}" for key, op in _BOUNDS.items() if key in limits)
    return Problem(
        path,
        codes.OUT_OF_RANGE,
        f"{name} {shown} is out of range; accepted: {' and '.join(accepted)} (record-format.md)",
        accepted,
    )


def _wrong_length(path: str, name: str, shown: str, error: ErrorDetails) -> Problem:
    ctx = error.get("ctx") or {}
    if "min_length" in ctx:
        accepted = f"at least {ctx['min_length']} characters"
    elif "max_length" in ctx:
        accepted = f"at most {ctx['max_length']} characters"
    else:
        return Problem(path, codes.WRONG_FORMAT, f"{name} {shown}: {error['msg']}")
    return Problem(
        path,
        codes.WRONG_FORMAT,
        f"{name} {shown} has the wrong length; accepted: {accepted}",
        (accepted,),
    )


def _show(value: object) -> str:
    """A short JSON rendering of an offending value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_name(loc: Sequence[str | int]) -> str:
    """A readable name of a location: ``events.labs[0].value``; ``record`` for the root."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else part
    return text or "record"


# ---- the model's types at a location (for `accepted`) ---------------------------------------


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and the ``None`` of an optional field."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_field(model: type[BaseModel], name: str | int) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info.annotation
    return None


def annotation_at(loc: Sequence[str | int]) -> Any:
    """The type the record model expects at ``loc`` (pydantic's error location), or None."""
    annotation: Any = Record
    index = 0
    while index < len(loc):
        annotation = _strip(annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        part = loc[index]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _model_field(annotation, part)
        elif origin is tuple and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            is_key = index + 1 < len(loc) and loc[index + 1] == "[key]"
            annotation = args[0] if is_key else args[1]
            index += is_key
        else:
            return None
        if annotation is None:
            return None
        index += 1
    return _strip(annotation)


def _accepted_codes(loc: Sequence[str | int]) -> tuple[Any, ...] | None:
    """The codes a field accepts: an enum's values or a ``Literal``'s arguments; else None."""
    annotation = annotation_at(loc)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(member.value for member in annotation)
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return None


def _field_bounds(loc: Sequence[str | int]) -> dict[str, Any]:
    """Every bound (``gt``, ``ge``, ``lt``, ``le``) the model sets on the field at ``loc``."""
    model = annotation_at(loc[:-1]) if loc else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {}
    info = next(
        (i for n, i in model.model_fields.items() if loc[-1] in (n, i.alias)),
        None,
    )
    metadata = info.metadata if info is not None else []
    return {
        key: getattr(item, key)
        for item in metadata
        for key in _BOUNDS
        if getattr(item, key, None) is not None
    }


def _model_fields(loc: Sequence[str | int]) -> tuple[str, ...] | None:
    """The field names (wire names) of the object at ``loc``."""
    annotation = annotation_at(loc)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return tuple(info.alias or name for name, info in annotation.model_fields.items())
    return None
