"""The web worklist's helpers: the filter parser and contacts of
:mod:`bonepath.api.worklist_query` (shared with ``GET /api/worklist``) and the readable texts of
:mod:`bonepath.population.readable` (shared with the exports)."""

from __future__ import annotations

from bonepath.api.worklist_query import (
    FIELD_LABELS,
    FOLLOW_UP_KINDS,
    LABELS,
    MAX_DUE_WITHIN,
    FilterProblem,
    Pair,
    ParsedFilters,
    PatientContact,
    contacts,
    hospital_directory,
    item_label,
    known_hospitals,
    parse_filters,
    reason,
    text,
)

__all__ = [
    "FIELD_LABELS",
    "FOLLOW_UP_KINDS",
    "LABELS",
    "MAX_DUE_WITHIN",
    "FilterProblem",
    "Pair",
    "ParsedFilters",
    "PatientContact",
    "contacts",
    "hospital_directory",
    "item_label",
    "known_hospitals",
    "parse_filters",
    "reason",
    "text",
]
