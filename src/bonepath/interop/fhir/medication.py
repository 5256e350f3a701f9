"""Which bone-targeted agent a FHIR medication names, at any level it is written.

A MedicationRequest or MedicationAdministration names its drug by a code at ingredient level
(RxNorm IN ``77655``, ATC, bonepath's local code: ``codes.csv`` table ``bta``), by a code at
product or brand level that carries its display (``zoledronic acid 4 MG in 5 ML Injection``,
``Xgeva 120 MG``), by text only (``唑来膦酸注射液 4mg``), or through a Medication resource
(``contained`` ``#med``, or a Medication of the same Bundle). Codes come first; a text is read
with the drug synonym table of the import (``interop/synonyms/drug.toml``, the names Chinese
HIS orders use): a text naming exactly one agent is that agent, the osteoporosis products
(Prolia/普罗力 denosumab 60 mg, Aclasta/密固达/Reclast zoledronic acid 5 mg) are named as such
and never taken as a bone-metastasis dose, and a text naming none or two is not recognised.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bonepath.interop import values
from bonepath.interop.fhir import codes


@dataclass(frozen=True, slots=True)
class DrugMatch:
    """What a medication names: a bone-targeted agent (``drug``), an osteoporosis product it
    must not be taken for (``refused``, the sentence in en and zh), or neither (both None)."""

    drug: str | None = None
    refused: tuple[str, str] | None = None
    how: str = ""
    """How it was recognised: ``code``, ``text`` (for logs and tests)."""


def texts_of(concept: Any) -> Iterator[str]:
    """The texts of a CodeableConcept: its ``text`` and the display of each coding."""
    if concept is None:
        return
    if getattr(concept, "text", None):
        yield str(concept.text)
    for coding in getattr(concept, "coding", None) or ():
        if getattr(coding, "display", None):
            yield str(coding.display)


def drug_from_text(text: str) -> DrugMatch:
    """The agent a free text names (drug synonym table), or why it is refused, or nothing."""
    table = values.vocabulary("Drug")
    assert table is not None
    resolved = table.resolve(text, "drug")
    if isinstance(resolved, str):
        return DrugMatch(resolved, how="text")
    if resolved.code == values.WRONG_PRODUCT:
        return DrugMatch(refused=(resolved.en, resolved.zh), how="text")
    key = values.normalized(text)
    for refused_key, refusal in table.refused.items():
        if len(refused_key) >= 3 and refused_key in key:
            return DrugMatch(refused=(refusal.en, refusal.zh), how="text")
    found = {code for name, (code, _) in table.lookup.items() if len(name) >= 2 and name in key}
    if len(found) != 1:
        return DrugMatch()
    drug = found.pop()
    for strength in table.strengths:
        doses = re.findall(r"(\d+(?:\.\d+)?)mg(?![/]ml)", key)
        if strength.code == drug and any(math.isclose(float(d), strength.mg) for d in doses):
            return DrugMatch(refused=(strength.en, strength.zh), how="text")
    return DrugMatch(drug, how="text")


def bta_of(concept: Any) -> DrugMatch:
    """The bone-targeted agent of a CodeableConcept: a code of table ``bta`` first, else the
    concept's text and the displays of its codings."""
    if concept is None:
        return DrugMatch()
    row = codes.find("bta", concept)
    if row is not None:
        return DrugMatch(row.target, how="code")
    for text in texts_of(concept):
        match = drug_from_text(text)
        if match.drug is not None or match.refused is not None:
            return match
    return DrugMatch()


def medication_concept(model: Any, resolve: Callable[[str], Any] | None = None) -> Any:
    """The CodeableConcept naming the drug of a MedicationRequest/-Administration: its
    ``medicationCodeableConcept``, or the ``code`` of the Medication it references (a contained
    ``#id``, else whatever ``resolve`` finds for the reference, e.g. a Medication of the same
    Bundle); None when there is none."""
    concept = getattr(model, "medicationCodeableConcept", None)
    if concept is not None:
        return concept
    reference = getattr(getattr(model, "medicationReference", None), "reference", None)
    if not isinstance(reference, str):
        return None
    if reference.startswith("#"):
        for contained in getattr(model, "contained", None) or ():
            if contained.id == reference[1:] and contained.__resource_type__ == "Medication":
                return contained.code
        return None
    if resolve is not None:
        medication = resolve(reference)
        return getattr(medication, "code", None) if medication is not None else None
    return None


def describe(concept: Any) -> str:
    """A medication as a person would read it in a message (text, display or system|code)."""
    for text in texts_of(concept):
        return text
    for coding in getattr(concept, "coding", None) or ():
        return f"{coding.system}|{coding.code}"
    return "?"
