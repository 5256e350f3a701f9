"""A record as read from any input, before validation: :class:`RawRecord` and its :class:`Origin`.

The readers (:mod:`.files` for JSON/NDJSON, :mod:`.tabular` for the templates, :mod:`.mapping`
for a hospital's own export, :mod:`.fhir` for FHIR) all yield these; :mod:`.importer` validates
them. Kept apart from the readers so that none of them imports another to get the type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bonepath.errors import Problem


@dataclass(frozen=True, slots=True)
class Origin:
    """A place in a template: the row (``labs.csv:7``) and, for a cell, its column header."""

    location: str
    column: str | None = None
    fhir_path: str | None = None
    """For FHIR input: the FHIRPath-like path of the element (``Bundle.entry[3].resource``)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read from a file, before validation.

    ``origins`` maps JSON Pointers into ``data`` to the template cell or row they came from
    (empty for JSON files). ``problems`` is non-empty when the input could not be decoded
    into a record at all; such a record is refused without parsing. ``position`` is how far
    into its input the reader is (bytes, or the whole size once a file is fully read).
    ``cell_problems`` are cells of a table refused before parsing (an ambiguous number, a
    product that is not the regimen): the record is refused with them, and each replaces the
    parser's problem at the same path; ``problems_zh`` holds their Chinese sentences by path.
    """

    location: str
    data: Any
    origins: Mapping[str, Origin] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    position: int = 0
    cell_problems: tuple[Problem, ...] = ()
    problems_zh: Mapping[str, str] = field(default_factory=dict)
    prepared: Any = None
    """The validator's result when the reader validated the record already (FHIR's mapping
    workers do, so that the record is not sent back to be validated in the importing
    process): a prepared record, or the parser's problems. ``data`` is then ``None`` for a
    prepared record (nothing reads it again)."""

    def refusal_problems(self, parsed: Sequence[Problem] = ()) -> tuple[Problem, ...]:
        """Every problem of this record given the parser's (``parsed``): the decoding problems
        alone when there are any, else the refused cells, then the parser's problems at
        other paths. Empty: the record is accepted."""
        if self.problems:
            return self.problems
        paths = {problem.path for problem in self.cell_problems}
        return self.cell_problems + tuple(p for p in parsed if p.path not in paths)

    def origin_of(self, path: str) -> Origin | None:
        """The template cell or row of a JSON Pointer, or of its nearest parent that has one."""
        while True:
            found = self.origins.get(path)
            if found is not None or "/" not in path:  # the root, or not a JSON Pointer (FHIR)
                return found
            path = path.rsplit("/", 1)[0]

    @property
    def key(self) -> tuple[str | None, str | None]:
        """``(source, id)`` as far as the raw data says (for reporting a refusal)."""
        if not isinstance(self.data, Mapping):
            return (None, None)
        id_ = self.data.get("id")
        source = self.data.get("source", "manual")
        return (
            source if isinstance(source, str) else None,
            id_ if isinstance(id_, str) else None,
        )
