"""Quorum per question type, kept as data (``quorum.toml``; issue 16 item 2).

A case of question ``q`` may be discussed when every specialty of ``quorum(q)`` attends. The
agenda shows the check before the meeting (against the planned attendance) and records it after
(against who attended).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from bonepath.errors import ConfigError
from bonepath.mdt.model import QuestionType, Specialty


@dataclass(frozen=True, slots=True)
class QuorumCheck:
    """Whether the specialties present meet a question's quorum, and who is missing."""

    question: QuestionType
    required: tuple[Specialty, ...]
    present: tuple[Specialty, ...]
    missing: tuple[Specialty, ...]

    @property
    def met(self) -> bool:
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question.value,
            "required": [s.value for s in self.required],
            "present": [s.value for s in self.present],
            "missing": [s.value for s in self.missing],
            "met": self.met,
        }


def parse_quorum(data: Mapping[str, Any]) -> dict[QuestionType, tuple[Specialty, ...]]:
    """The table of a parsed ``quorum.toml``; every question type must be present."""
    table: dict[QuestionType, tuple[Specialty, ...]] = {}
    for key, value in data.items():
        try:
            question = QuestionType(key)
            required = tuple(Specialty(s) for s in value["required"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"quorum table: bad entry {key!r}: {exc}") from exc
        table[question] = required
    missing = [q.value for q in QuestionType if q not in table]
    if missing:
        raise ConfigError(f"quorum table: no entry for {', '.join(missing)}")
    return table


@cache
def quorum_table() -> Mapping[QuestionType, tuple[Specialty, ...]]:
    """The packaged quorum table (``bonepath/mdt/quorum.toml``)."""
    text = files("bonepath.mdt").joinpath("quorum.toml").read_text(encoding="utf-8")
    return parse_quorum(tomllib.loads(text))


def quorum(question: QuestionType) -> tuple[Specialty, ...]:
    return quorum_table()[question]


def check_quorum(question: QuestionType, present: Iterable[Specialty]) -> QuorumCheck:
    here = frozenset(present)
    required = quorum(question)
    return QuorumCheck(
        question=question,
        required=required,
        present=tuple(s for s in Specialty if s in here),
        missing=tuple(s for s in required if s not in here),
    )
