"""The stable public problem codes a refused record carries, in one place.

Each :class:`bonepath.errors.Problem` has a ``code`` from this module. The codes are public
strings that outside tools match on (interfaces.md: add, never rename), so they are defined
once here, listed in :data:`ALL_CODES` and pinned one by one in ``tests/record/test_parse.py``
and ``tests/record/test_checks.py``; ``docs/record-validation.md`` explains each with an example.

=====================  =========================================================================
code                   meaning
=====================  =========================================================================
MALFORMED_JSON         the text is not JSON at all (path ``""``)
WRONG_TYPE             a value of the wrong JSON type (a string where an object or list belongs)
MISSING_FIELD          a required field is absent
UNKNOWN_FIELD          a field that format v1 does not define (``accepted`` = the fields it does)
UNSUPPORTED_FORMAT     ``format`` is not ``"bonepath-record/1"``
UNKNOWN_CODE           a code outside its vocabulary (``accepted`` = the codes)
UNKNOWN_UNIT           a lab unit not accepted for the test, VAL-03 (``accepted`` = the units)
NOT_A_NUMBER           a number given as a string, boolean, null, NaN or infinity
NOT_AN_INTEGER         a count or grade that is not a whole JSON number
WRONG_FORMAT           a string in the wrong shape (an empty id, a ``tnm`` that is not TNM)
INVALID_DATE           not a calendar date in ISO ``YYYY-MM-DD`` form (``2026-02-30``)
FUTURE_DATE            a date after today (VAL-01: only the real current date refuses)
BEFORE_BIRTH           a date before ``birth_date``
IMPLAUSIBLE_VALUE      outside the plausibility ranges of rules.md VAL-02
NOT_POSITIVE           a measured value that is zero or negative (VAL-02)
OUT_OF_RANGE           outside a range that record-format.md defines (``pd_l1_tps`` 0-100, …)
CONTRADICTION          two fields that cannot both be true (``confirmed_date`` without
                       ``status: confirmed``, VAL-05; ``lln`` not below ``uln``)
CONTROL_CHARACTER      a text holding U+0000, or an id holding a control character or line break
TOO_DEEP               objects and lists nested deeper than the bound (``record.limits``)
TOO_LARGE              a record over the size bound (bytes of text or number of values)
=====================  =========================================================================
"""

from __future__ import annotations

from typing import Final

MALFORMED_JSON: Final = "MALFORMED_JSON"
WRONG_TYPE: Final = "WRONG_TYPE"
MISSING_FIELD: Final = "MISSING_FIELD"
UNKNOWN_FIELD: Final = "UNKNOWN_FIELD"
UNSUPPORTED_FORMAT: Final = "UNSUPPORTED_FORMAT"
UNKNOWN_CODE: Final = "UNKNOWN_CODE"
UNKNOWN_UNIT: Final = "UNKNOWN_UNIT"
NOT_A_NUMBER: Final = "NOT_A_NUMBER"
NOT_AN_INTEGER: Final = "NOT_AN_INTEGER"
WRONG_FORMAT: Final = "WRONG_FORMAT"
INVALID_DATE: Final = "INVALID_DATE"
FUTURE_DATE: Final = "FUTURE_DATE"
BEFORE_BIRTH: Final = "BEFORE_BIRTH"
IMPLAUSIBLE_VALUE: Final = "IMPLAUSIBLE_VALUE"
NOT_POSITIVE: Final = "NOT_POSITIVE"
OUT_OF_RANGE: Final = "OUT_OF_RANGE"
CONTRADICTION: Final = "CONTRADICTION"
CONTROL_CHARACTER: Final = "CONTROL_CHARACTER"
TOO_DEEP: Final = "TOO_DEEP"
TOO_LARGE: Final = "TOO_LARGE"

ALL_CODES: Final[frozenset[str]] = frozenset(
    {
        MALFORMED_JSON,
        WRONG_TYPE,
        MISSING_FIELD,
        UNKNOWN_FIELD,
        UNSUPPORTED_FORMAT,
        UNKNOWN_CODE,
        UNKNOWN_UNIT,
        NOT_A_NUMBER,
        NOT_AN_INTEGER,
        WRONG_FORMAT,
        INVALID_DATE,
        FUTURE_DATE,
        BEFORE_BIRTH,
        IMPLAUSIBLE_VALUE,
        NOT_POSITIVE,
        OUT_OF_RANGE,
        CONTRADICTION,
        CONTROL_CHARACTER,
        TOO_DEEP,
        TOO_LARGE,
    }
)
"""Every code a :class:`~bonepath.errors.Problem` from the record parser can carry."""
