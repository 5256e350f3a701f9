"""Validation of repeated FHIR elements, done once (the import's and the CDS service's speed).

fhir.resources validates a resource by validating each nested element (a CodeableConcept, a
Coding, a Quantity, a Reference…) with its own model, in Python validators: ≈ 0.2 ms of CPU
per resource. Real data repeats its elements: the LOINC code of creatinine, the laboratory
category, the UCUM unit, a patient's subject reference occur thousands of times. Within
:func:`memoized`, a nested element whose JSON is byte for byte one already validated gets the
model validated then (same class, same JSON: the same result), so each distinct element is
validated once; the whole resource is still validated by its model each time, and an element
that fails is never remembered (each occurrence fails with its own path).

The models handed out may be shared between resources: the mapping reads them and never
assigns to them (interop/fhir/to_record.py). Outside :func:`memoized` (the FHIR API's own
output, anything that may modify a model) validation is unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import orjson
from fhir_core import fhirabstractmodel
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase
from fhir_core.utils import is_list_type, is_primitive_type
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

MAX_ENTRIES: Final = 20_000
"""Distinct elements remembered; the memory is forgotten whole when it is full."""

_ON: ContextVar[bool] = ContextVar("bonepath_fhir_memo", default=False)
_CACHE: dict[tuple[type, bytes], Any] = {}
_ORIGINAL: Any = FhirBase.__dict__["fhir_model_validator"].__func__


def _validator(cls: Any, value: Any, model_klass: Any) -> Any:
    if not isinstance(value, dict) or not _ON.get():
        return _ORIGINAL(cls, value, model_klass)
    try:
        key = (model_klass, orjson.dumps(value))
    except TypeError:  # not plain JSON (a model inside): validated as usual
        return _ORIGINAL(cls, value, model_klass)
    found = _CACHE.get(key)
    if found is None:
        found = _ORIGINAL(cls, value, model_klass)  # raises when invalid: nothing remembered
        if len(_CACHE) >= MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = found
    return found


FhirBase.fhir_model_validator = classmethod(_validator)  # type: ignore[method-assign,assignment]


# ---- fhir_core's check of nulls in lists, per class once -------------------------------------
#
# Every model's ``reject_null_complex_elements`` (a "before" validator of fhir_core 1.1) walks
# all the model's fields on every validation to find the lists of complex types (≈ 70 fields
# for an Observation): a fifth of the validation of a resource. The lists of a class never
# change, so they are found once per class here; the check of each list and its errors
# (order, type, message, location) are fhir_core's. The validator is referenced by every
# model's compiled schema, so its code is replaced in place, and only when it is the code of
# the fhir_core release this was written against (:data:`_KNOWN_CHECK`); another release keeps
# its own (tests/interop/fhir/test_memo_nulls.py compares both on every model).

_NULL_LISTS: dict[type, tuple[tuple[str, str | None], ...]] = {}


def _null_list_fields(cls: Any) -> tuple[tuple[str, str | None], ...]:
    found = _NULL_LISTS.get(cls)
    if found is None:
        found = tuple(
            (name, info.alias)
            for name, info in cls.model_fields.items()
            if is_list_type(info) and not is_primitive_type(info) and not name.endswith("__ext")
        )
        _NULL_LISTS[cls] = found
    return found


def _reject_null_complex_elements(cls: Any, data: Any) -> Any:
    errors: list[Any] = []
    for name, alias in _null_list_fields(cls):
        key = alias if alias and alias in data else name
        value = data.get(key)
        if isinstance(value, list) and any(item is None for item in value):
            errors.append(
                {
                    "type": PydanticCustomError(
                        "list_type",
                        "None is not allowed as an element of {field}",
                        {"field": key},
                    ),
                    "loc": (key,),
                    "input": value,
                }
            )
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)
    return data


def _checked_once(cls: Any, data: Any) -> Any:  # pragma: no cover - its code runs as fhir_core's
    if not isinstance(data, dict):
        return data
    return _bonepath_reject_null_complex_elements(cls, data)  # type: ignore[name-defined]  # noqa: F821


_KNOWN_CHECK: Final = "feb6eead"
"""The first hex digits of the SHA-256 of fhir_core 1.1.12's validator (bytecode and names)."""
_CHECK_FUNCTION: Any = FHIRAbstractModel.__dict__["reject_null_complex_elements"].__func__
ORIGINAL_NULL_CHECK: Final = _CHECK_FUNCTION.__code__
"""fhir_core's own code (tests compare against it)."""


def code_digest(code: Any) -> str:
    return hashlib.sha256(code.co_code + repr(code.co_names).encode()).hexdigest()[:8]


NULL_CHECK_ONCE_PER_CLASS: Final = code_digest(ORIGINAL_NULL_CHECK) == _KNOWN_CHECK
"""Whether fhir_core's null-list check runs with the lists found once per class."""
if NULL_CHECK_ONCE_PER_CLASS:
    vars(fhirabstractmodel)["_bonepath_reject_null_complex_elements"] = (
        _reject_null_complex_elements
    )
    _CHECK_FUNCTION.__code__ = _checked_once.__code__


@contextmanager
def memoized() -> Iterator[None]:
    """Within the block, a repeated nested element is validated once (this context only)."""
    token = _ON.set(True)
    try:
        yield
    finally:
        _ON.reset(token)


__all__ = ["memoized"]
