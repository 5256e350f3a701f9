"""The screen before validation (bonepath.record.limits): nesting and size bounded, U+0000
refused in any text, ids blank or with control characters refused (issue 13 items 4, 5, 12).
Each refusal at its JSON path, with its code; a record breaking a bound gets that one problem."""

from __future__ import annotations

from typing import Any

import pytest

from bonepath.errors import RecordRefused
from bonepath.record import problems as codes
from bonepath.record.limits import MAX_DEPTH, MAX_RECORD_BYTES, MAX_VALUES, bound_problem
from bonepath.record.parse import parse_json, parse_record
from bonepath.record.problem_text import describe
from record.support import TODAY, minimal, only_problem, refusal


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_thousand_levels_are_refused_as_too_deep_not_a_recursion_error() -> None:
    data = minimal()
    data["hospital"] = {"name": _nested(1000)}  # RecursionError before the bound
    problem = only_problem(data)
    assert problem.code == codes.TOO_DEEP
    assert problem.path == "/hospital/name" + "/0" * (MAX_DEPTH - 2)
    assert problem.accepted == (f"at most {MAX_DEPTH} levels",)


def test_the_deepest_record_format_v1_allows_is_far_inside_the_bound() -> None:
    assert bound_problem(_nested(MAX_DEPTH)) is None
    assert bound_problem(_nested(MAX_DEPTH + 1)) is not None


def test_text_too_deep_to_decode_is_too_deep_with_line_and_column() -> None:
    text = '{"format": "bonepath-record/1",\n "x": ' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(RecordRefused) as caught:
        parse_json(text, today=TODAY)
    (problem,) = caught.value.problems
    assert (problem.path, problem.code) == ("", codes.TOO_DEEP)
    assert "line 2 column" in problem.problem


def test_too_many_values_and_too_many_bytes_are_too_large() -> None:
    data = minimal()
    data["hospital"] = {"name": [0] * (MAX_VALUES + 1)}
    assert only_problem(data).code == codes.TOO_LARGE
    with pytest.raises(RecordRefused) as caught:
        parse_json(b" " * (MAX_RECORD_BYTES + 1), today=TODAY)
    assert [p.code for p in caught.value.problems] == [codes.TOO_LARGE]


@pytest.mark.parametrize(
    ("field", "path"),
    [
        (("hospital", "name"), "/hospital/name"),
        (("cancer", "tnm"), "/cancer/tnm"),
    ],
)
def test_nul_in_any_text_is_refused_at_its_path(field: tuple[str, str], path: str) -> None:
    data = minimal()
    data.setdefault(field[0], {})[field[1]] = "T1\x00"
    problems = refusal(data)
    assert (path, codes.CONTROL_CHARACTER) in {(p.path, p.code) for p in problems}
    nul = next(p for p in problems if p.code == codes.CONTROL_CHARACTER)
    assert "U+0000" in nul.problem and nul.accepted == ("text without U+0000",)


def test_nul_deep_in_an_event_list_is_refused_at_its_path() -> None:
    data = minimal()
    data["events"] = {
        "mdt": [
            {"date": "2026-02-01", "decision": "ok"},
            {"date": "2026-03-01", "decision": "a\x00"},
        ]
    }
    problem = only_problem(data)
    assert (problem.path, problem.code) == ("/events/mdt/1/decision", codes.CONTROL_CHARACTER)


ID_PATHS = [
    (("id",), "/id"),
    (("source",), "/source"),
    (("hospital", "id"), "/hospital/id"),
    (("physician", "id"), "/physician/id"),
]


def _with(field: tuple[str, ...], value: str) -> dict[str, Any]:
    data = minimal()
    if len(field) == 1:
        data[field[0]] = value
    else:
        data[field[0]] = {field[1]: value}
    return data


@pytest.mark.parametrize(("field", "path"), ID_PATHS)
@pytest.mark.parametrize("bad", ["P1\n", "P\x001", "P\t1", "\rP1", "P\x7f1", "P\u20281", "P\x851"])
def test_ids_with_control_characters_are_refused(
    field: tuple[str, ...], path: str, bad: str
) -> None:
    problem = only_problem(_with(field, bad))
    assert (problem.path, problem.code) == (path, codes.CONTROL_CHARACTER)
    assert f"U+{ord(next(c for c in bad if not c.isalnum())):04X}" in problem.problem


@pytest.mark.parametrize(("field", "path"), ID_PATHS)
def test_blank_ids_are_refused(field: tuple[str, ...], path: str) -> None:
    problem = only_problem(_with(field, "   "))
    assert (problem.path, problem.code) == (path, codes.WRONG_FORMAT)
    assert "blank" in problem.problem


def test_empty_hospital_and_physician_ids_are_refused_too() -> None:
    assert only_problem(_with(("hospital", "id"), "")).path == "/hospital/id"
    assert only_problem(_with(("physician", "id"), "")).path == "/physician/id"


@pytest.mark.parametrize(("field", "_path"), [p for p in ID_PATHS if p[0] != ("source",)])
def test_ids_with_a_slash_spaces_or_chinese_stay_valid(field: tuple[str, ...], _path: str) -> None:
    record = parse_record(_with(field, "2024/00123 住院"), today=TODAY)
    assert record is not None


def test_a_source_with_a_slash_is_refused_it_is_one_url_segment() -> None:
    # /patients/{source}/{id}: an id may hold '/' (routed as the rest of the path), a source not
    problem = only_problem(_with(("source",), "his/a"))
    assert (problem.path, problem.code) == ("/source", codes.WRONG_FORMAT)
    assert "'/'" in problem.problem
    assert parse_record(_with(("source",), "县医院 HIS"), today=TODAY) is not None


def test_the_new_codes_are_described_in_chinese() -> None:
    problem = only_problem(_with(("id",), "P\n1"))
    assert describe(problem, "zh").startswith("含控制字符")
