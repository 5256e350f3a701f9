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

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import orjson
from fhir_core.types import FhirBase

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


@contextmanager
def memoized() -> Iterator[None]:
    """Within the block, a repeated nested element is validated once (this context only)."""
    token = _ON.set(True)
    try:
        yield
    finally:
        _ON.reset(token)


__all__ = ["memoized"]
