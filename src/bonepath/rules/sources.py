"""Citations: where each rule comes from.

A rule's source is either a seed document of this project (the whitepaper ``WP`` or the 2024
guideline interpretation ``GL24``, by file name and section/table) or an outside label or
guideline by name and year. The verification mark is rules.md's: ``V`` seen in a stored source,
``K`` standard published fact to verify before release, ``S`` system convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

WP_FILE: Final = "000_e41800b93e446bea.txt"
"""中国肺癌骨转移诊疗现状白皮书 (physician survey, n = 472)."""

GL24_FILE: Final = "003_adb8f62cb860f7f3.txt"
"""解读《中国肺癌骨转移临床诊疗指南(2024版)》; 表1 = BTA dosing, 表2 = adverse-event monitoring."""


class Mark(StrEnum):
    VERIFIED = "V"
    KNOWN = "K"
    SYSTEM = "S"


@dataclass(frozen=True, slots=True)
class Citation:
    """One source of a rule: a seed file + section, or an outside label."""

    label: str
    section: str | None = None
    mark: Mark | None = None
    quote: str | None = None

    def render(self) -> str:
        """The string printed in a finding's ``sources`` (interfaces.md: "003_….txt, 表2")."""
        text = f"{self.label}, {self.section}" if self.section else self.label
        return f"{text} [{self.mark.value}]" if self.mark else text


def wp(section: str, quote: str | None = None, mark: Mark | None = None) -> Citation:
    """The whitepaper (seed 000)."""
    return Citation(WP_FILE, section, mark, quote)


def gl24(section: str, quote: str | None = None, mark: Mark | None = None) -> Citation:
    """The 2024 guideline interpretation (seed 003)."""
    return Citation(GL24_FILE, section, mark, quote)


def ext(label: str, mark: Mark = Mark.KNOWN, quote: str | None = None) -> Citation:
    """An outside source (label, guideline, paper) by name and year."""
    return Citation(label, None, mark, quote)


def system(note: str) -> Citation:
    """A convention chosen so the rule is computable (rules.md mark S)."""
    return Citation("bonepath convention (rules.md)", note, Mark.SYSTEM)
