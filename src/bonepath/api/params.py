"""Edge validation: the bounds every path and query parameter is held to before a route runs.

A value the store cannot hold must be refused here (422, the usual ``{"errors": [...]}`` body),
never reach SQL and come back as a 500 or a "store unavailable" 503:

- **keys** (``source``, patient ``id``, hospital, user names) are at most
  :data:`KEY_MAX` characters, the size of their columns (``String(64)``, store/schema.py);
- **row ids** (task, audit entry) are ``1 .. ROW_ID_MAX`` (a 32-bit ``INTEGER`` column on
  PostgreSQL: a larger number is no row, but PostgreSQL refuses to compare it);
- **offsets** are ``0 .. OFFSET_MAX``;
- **no control characters** (U+0000-U+001F, U+007F) in the path or in any query value
  (:func:`refuse_control_characters`, installed on every route of the app): PostgreSQL text
  cannot hold NUL, and no key or filter legitimately carries a newline.

A patient id may contain ``/`` (HIS numbering such as ``2024/00123``): its routes take the id
with Starlette's ``path`` converter (``{patient_id:path}``), and links encode it with
:func:`patient_path`.
"""

from __future__ import annotations

import re
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints

KEY_MAX: Final = 64
"""``source``, ``id``, ``hospital_id``, user names: ``String(64)`` columns."""
ROW_ID_MAX: Final = 2**31 - 1
"""Task and audit-entry ids: ``INTEGER`` columns (32-bit on PostgreSQL)."""
OFFSET_MAX: Final = 2**31 - 1
"""A page offset beyond every row there can be."""
RULE_MAX: Final = 16
"""A rule id or family (``ADH-01``, ``ADH``): ``tasks.rule`` is ``String(16)``."""
LIST_MAX: Final = 64
"""Values of one repeated query parameter (``?rule=A&rule=B``)."""

CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f]")

Source = Annotated[str, Path(min_length=1, max_length=KEY_MAX, description="the record source")]
PatientId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=KEY_MAX,
        description="the patient id; may contain '/' (e.g. 2024/00123)",
    ),
]
Key = Annotated[str, StringConstraints(max_length=KEY_MAX)]
"""One value of a repeated key parameter (``?hospital=HA&hospital=HB``)."""
RuleId = Annotated[str, StringConstraints(max_length=RULE_MAX)]
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX)]
BeforeId = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)]


def has_control_character(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


async def refuse_control_characters(request: Request) -> None:
    """A dependency of every route: 422 for a control character in the path or a query value
    (or name), located like any other invalid parameter (``/query/rule``, ``/path``)."""
    errors: list[dict[str, object]] = []
    if has_control_character(request.url.path):
        errors.append(_control_error(("path",)))
    for name, value in request.query_params.multi_items():
        if has_control_character(name) or has_control_character(value):
            errors.append(_control_error(("query", name)))
    if errors:
        raise RequestValidationError(errors)


def _control_error(loc: tuple[str, ...]) -> dict[str, object]:
    return {
        "loc": loc,
        "msg": "control characters (U+0000-U+001F, U+007F) are not accepted",
        "type": "value_error",
    }


def patient_path(source: str, patient_id: str) -> str:
    """The URL path segments of a patient key, ``source/id``, each percent-encoded with ``/``
    encoded too (``2024/00123`` -> ``2024%2F00123``): browsers then never treat a part of the
    id as a path segment (``..``), and the server decodes it back before routing, where the
    ``path`` converter takes the whole id."""
    return f"{quote(source, safe='')}/{quote(patient_id, safe='')}"
