"""fhir_core's check of nulls in lists of complex types, with the lists found once per class
(interop/fhir/memo.py: a fifth of a resource's validation, issue 18), refuses and accepts
exactly what fhir_core's own code does, with the same errors, for every R4B model bonepath
reads and its nested elements."""

from __future__ import annotations

import types
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir_core import fhirabstractmodel
from pydantic import ValidationError

from bonepath.interop.fhir import memo
from bonepath.interop.fhir.read import USED_TYPES, validate

_ORIGINAL = types.FunctionType(memo.ORIGINAL_NULL_CHECK, vars(fhirabstractmodel))


def _outcome(check: Any, cls: Any, data: Any) -> Any:
    try:
        return ("ok", check(cls, data))
    except ValidationError as exc:
        return ("refused", exc.errors(include_url=False))


def _models() -> list[Any]:
    seen: dict[str, Any] = {}
    todo = [get_fhir_model_class(kind) for kind in sorted(USED_TYPES)]
    while todo:
        cls = todo.pop()
        if cls.__name__ in seen:
            continue
        seen[cls.__name__] = cls
        for info in cls.model_fields.values():
            for arg in getattr(info.annotation, "__args__", ()) or (info.annotation,):
                for inner in getattr(arg, "__args__", ()) or (arg,):
                    if isinstance(inner, type) and hasattr(inner, "get_model_klass"):
                        todo.append(inner.get_model_klass())
    return [seen[name] for name in sorted(seen)]


def test_the_check_is_the_per_class_one_for_the_pinned_fhir_core() -> None:
    assert memo.NULL_CHECK_ONCE_PER_CLASS  # fhir_core changed: compare, then update the digest


@pytest.mark.parametrize("null_at", [0, 1])
def test_every_model_refuses_and_accepts_as_fhir_core_does(null_at: int) -> None:
    models = _models()
    assert len(models) > 60
    for cls in models:
        lists = memo._null_list_fields(cls)
        for name, alias in lists:
            key = alias or name
            for data in (
                {key: [{"id": "a"}, {"id": "b"}]},  # no null: accepted
                {key: [None, {"id": "b"}] if null_at == 0 else [{"id": "a"}, None]},
                {key: [None], "other": 1},
                {name: [None]},
            ):
                assert _outcome(memo._reject_null_complex_elements, cls, data) == _outcome(
                    _ORIGINAL, cls, data
                ), (cls.__name__, data)
        everything = {alias or name: [None] for name, alias in lists}
        assert _outcome(memo._reject_null_complex_elements, cls, everything) == _outcome(
            _ORIGINAL, cls, everything
        )


def test_a_null_in_a_list_is_refused_with_its_fhir_path() -> None:
    """Through the import's validation: the same problem as before (path and message)."""
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "category": [None],
    }
    item = validate(observation, "Observation", "here")
    assert [(p.path, p.problem) for p in item.problems] == [
        (
            "Observation.category",
            "Observation: None is not allowed as an element of category (FHIR R4B)",
        )
    ]
