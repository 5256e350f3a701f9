"""Problem's JSON form and back (the pages read an import refusal's errors as Problems)."""

from __future__ import annotations

from bonepath.errors import Problem


def test_from_dict_reads_what_to_dict_writes() -> None:
    problem = Problem("/events/labs/0/unit", "UNKNOWN_UNIT", "unit 'mg%'", ("mmol/L", "mg/dL"))
    assert problem.to_dict()["accepted"] == ["mmol/L", "mg/dL"]
    assert Problem.from_dict(problem.to_dict()) == problem
    bare = Problem("", "INVALID_INPUT", "refused")
    assert "accepted" not in bare.to_dict()
    assert Problem.from_dict(bare.to_dict()) == bare


def test_from_dict_ignores_an_imports_cell_location() -> None:
    error = {
        "path": "/sex",
        "code": "UNKNOWN_CODE",
        "problem": "sex 'x'",
        "accepted": ["female", "male"],
        "location": "patients.csv:3",
        "column": "性别",
    }
    assert Problem.from_dict(error) == Problem(
        "/sex", "UNKNOWN_CODE", "sex 'x'", ("female", "male")
    )
