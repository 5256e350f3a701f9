"""The code tables of the FHIR mapping, read from ``codes.csv`` beside this module.

Each row maps one code of one system (SNOMED CT, ICD-10, LOINC, UCUM, RxNorm, ATC or a
bonepath local code system) to a bonepath code; the ``evidence`` column says how the row was
checked (docs/fhir.md). ICD-10 rows ending in ``*`` are prefixes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

SNOMED: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC: Final = "http://www.whocc.no/atc"
ICD10: Final = "http://hl7.org/fhir/sid/icd-10"
AJCC: Final = "http://cancerstaging.org"
LOCAL: Final = "http://bonepath.org/fhir"
"""Base of bonepath's own code systems, extensions and identifiers."""


def local_system(name: str) -> str:
    """A bonepath local code system: ``http://bonepath.org/fhir/CodeSystem/<name>``."""
    return f"{LOCAL}/CodeSystem/{name}"


def extension_url(name: str) -> str:
    """A bonepath extension: ``http://bonepath.org/fhir/StructureDefinition/<name>``."""
    return f"{LOCAL}/StructureDefinition/{name}"


@dataclass(frozen=True, slots=True)
class CodeRow:
    table: str
    system: str
    code: str
    display: str
    target: str
    evidence: str


@cache
def rows() -> tuple[CodeRow, ...]:
    """Every row of ``codes.csv`` (comment rows, whose table starts with ``#``, left out)."""
    text = resources.files(__package__).joinpath("codes.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        if row["table"].startswith("#"):
            continue
        out.append(CodeRow(**{k: (v or "").strip() for k, v in row.items()}))
    return tuple(out)


@cache
def _index() -> tuple[dict[tuple[str, str, str], CodeRow], dict[tuple[str, str], list[CodeRow]]]:
    exact: dict[tuple[str, str, str], CodeRow] = {}
    prefixes: dict[tuple[str, str], list[CodeRow]] = {}
    for row in rows():
        if row.code.endswith("*"):
            prefixes.setdefault((row.table, row.system), []).append(row)
        else:
            exact[(row.table, row.system, row.code)] = row
    return exact, prefixes


def lookup(table: str, system: str | None, code: str | None) -> CodeRow | None:
    """The row of ``table`` for one coding, or None."""
    if not system or not code:
        return None
    exact, prefixes = _index()
    found = exact.get((table, system, code))
    if found is not None:
        return found
    for row in prefixes.get((table, system), ()):
        if code.startswith(row.code[:-1]):
            return row
    return None


def find(table: str, concept: Any) -> CodeRow | None:
    """The first coding of a CodeableConcept (a fhir.resources model) found in ``table``."""
    if concept is None:
        return None
    for coding in concept.coding or ():
        row = lookup(table, coding.system, coding.code)
        if row is not None:
            return row
    return None


def first(table: str, target: str) -> CodeRow:
    """The preferred row of ``table`` for a bonepath code (export): a standard code before a
    local one, in file order."""
    candidates = [r for r in rows() if r.table == table and r.target == target]
    if not candidates:
        raise KeyError(f"no {table} code for {target!r}")
    standard = [r for r in candidates if not r.system.startswith(LOCAL) and "*" not in r.code]
    return (standard or candidates)[0]


def local(table: str, target: str) -> CodeRow:
    """The bonepath local row of ``table`` whose target or code is ``target`` (export: the
    local code makes the round trip exact)."""
    for row in rows():
        if row.table == table and row.system.startswith(LOCAL) and target in (row.target, row.code):
            return row
    raise KeyError(f"no local {table} code for {target!r}")


def ucum_to_record(code: str | None) -> str | None:
    """The record unit of a UCUM code (``nmol{BCE}/mmol{creat}`` -> ``nmol BCE/mmol Cr``)."""
    row = lookup("unit", UCUM, code)
    return row.target if row else None


def record_to_ucum(unit: str) -> str:
    """The UCUM code of a record unit."""
    for row in rows():
        if row.table == "unit" and row.target == unit:
            return row.code
    raise KeyError(f"no UCUM code for {unit!r}")
