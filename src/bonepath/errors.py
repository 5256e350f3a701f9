"""The whole exception tree of bonepath, in one place.

::

    BonepathError
    ├── InputError                 bad input from outside; CLI exit 2, HTTP 422
    │   ├── RecordRefused          a record breaks record-format.md; carries every Problem
    │   └── UnknownCode            a code outside a vocabulary (drug, unit, rule id, …)
    ├── NotFound                   a patient, rule or object that does not exist
    ├── CatalogueError             the rule catalogue is broken (checked at load)
    ├── StoreError                 the database refused or failed
    ├── ConfigError                a setting is missing or unsafe
    └── DeliveryError              a reminder channel could not deliver a message
        ├── DeliveryFailed         refused before anything left: safe to send again
        └── DeliveryUncertain      it may or may not have left: reconciliation decides

Domain code raises these and nothing transport-specific; each transport (CLI, HTTP, FHIR,
CDS Hooks) has one translator that maps them to its own error shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, where it is, and what would have been accepted.

    ``path`` is a JSON Pointer into the record (``/events/labs/0/unit``); ``code`` is a stable
    public string (``UNKNOWN_UNIT``, ``FUTURE_DATE``, …, see :mod:`bonepath.record.problems`).
    """

    path: str
    code: str
    problem: str
    accepted: tuple[Any, ...] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "code": self.code, "problem": self.problem}
        if self.accepted is not None:
            out["accepted"] = list(self.accepted)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """The problem of a :meth:`to_dict` form (other keys, e.g. an import's ``column``, are
        ignored)."""
        accepted = data.get("accepted")
        return cls(
            str(data.get("path", "")),
            str(data.get("code", "")),
            str(data.get("problem", "")),
            None if accepted is None else tuple(accepted),
        )


class BonepathError(Exception):
    """Base of every error bonepath raises on purpose."""


INPUT_ERROR_CODES: Final = (
    "INVALID_INPUT",
    "UNSUPPORTED_FILE",
    "NO_FILE",
    "BAD_MAPPING",
    "BAD_ARCHIVE",
)
"""The codes an :class:`InputError` may name (each described in zh/en in record/problem_text)."""


class InputError(BonepathError):
    """Input from outside was refused; ``code`` says which kind (:data:`INPUT_ERROR_CODES`), so a
    page can describe it in the user's language."""

    code: str = "INVALID_INPUT"

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class RecordRefused(InputError):
    """A record was refused whole; ``problems`` lists every problem found, in path order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0] if self.problems else None
        summary = f"{first.path}: {first.problem}" if first else "record refused"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"record refused: {summary}{more}")

    def to_dict(self) -> dict[str, Any]:
        return {"errors": [p.to_dict() for p in self.problems]}


class UnknownCode(InputError):
    """A code that is not in its vocabulary."""


class NotFound(BonepathError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class CatalogueError(BonepathError):
    """The rule catalogue failed its load-time checks."""


class StoreError(BonepathError):
    """The store could not complete an operation."""


class ConfigError(BonepathError):
    """A setting is missing, malformed or unsafe."""


class DeliveryError(BonepathError):
    """A reminder channel (e-mail, SMS, WeChat) could not deliver a message."""


class DeliveryFailed(DeliveryError):
    """The channel refused the message before anything left: sending again is safe."""


class DeliveryUncertain(DeliveryError):
    """The message may have left (e.g. the connection broke after the data was sent).

    The outbox keeps the claim; after its lease, reconciliation asks the channel whether the
    message's idempotency key arrived before sending it again (docs/reminders.md).
    """
