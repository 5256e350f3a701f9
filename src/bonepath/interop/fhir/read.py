"""FHIR files in, validated resources out, each with where it came from.

Inputs: a Bundle (``.json``), a single resource (``.json``), or bulk-export NDJSON (one resource
per line, ``Patient.000.ndjson``…). Every resource is validated by its fhir.resources R4B model
(no hand parsing); a resource that fails is kept with its problems, each located by a
FHIRPath-like path (``Bundle.entry[3].resource.valueQuantity.unit``), so the mapping can refuse
the patient it belongs to and name what to fix.

Resources are grouped into *units*: every resource of non-transaction inputs of one import
forms one unit (a patient's resources may be spread over several bulk files); each
``transaction`` Bundle is its own unit, mapped all or nothing (FHIR R4 §3.1.0.11.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from bonepath.errors import Problem
from bonepath.record import problems as codes

_UTF8_BOM: Final = b"\xef\xbb\xbf"
MALFORMED: Final = "FHIR_MALFORMED"
"""Problem code of a resource that its FHIR model refuses."""
USED_TYPES: Final = frozenset(
    {
        "Bundle",
        "Patient",
        "Condition",
        "Observation",
        "MedicationAdministration",
        "MedicationRequest",
        "MedicationStatement",
        "Procedure",
        "DiagnosticReport",
        "ImagingStudy",
        "CareTeam",
        "AdverseEvent",
        "Organization",
        "Practitioner",
        "Medication",
    }
)
"""The resource types the mapping reads (to_record checks that it knows no other). A resource
of any other R4B type is not validated: bonepath skips it whatever it holds, so valid R4 that
the models refuse (a CodeSystem with ``_valueString`` in an extension) is skipped, not refused."""


@dataclass(frozen=True, slots=True)
class Item:
    """One resource: its validated model (None when malformed), raw JSON and whereabouts.

    ``path`` is the FHIRPath-like path of the resource itself (``Bundle.entry[3].resource``,
    or the resource type for a bulk line); ``location`` the file and line or entry.
    """

    resource_type: str
    model: Any
    raw: Mapping[str, Any]
    path: str
    location: str
    full_url: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def id(self) -> str | None:
        value = self.raw.get("id")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Unit:
    """Resources mapped together: all non-transaction input, or one transaction Bundle."""

    location: str
    transaction: bool = False
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Problems of the container itself (a Bundle that is not one)."""


def fhir_path(prefix: str, loc: Sequence[str | int]) -> str:
    """``prefix`` plus a pydantic location as a FHIRPath-like path (``a.b[2].c``)."""
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validate(raw: Any, path: str, location: str, full_url: str | None = None) -> Item:
    """Validate one resource's JSON with its R4B model."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("resourceType"), str):
        problem = Problem(
            path,
            MALFORMED,
            "not a FHIR resource: a JSON object with a resourceType is expected",
        )
        return Item(
            "?", None, raw if isinstance(raw, Mapping) else {}, path, location, full_url, (problem,)
        )
    resource_type = raw["resourceType"]
    try:
        model_class = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        problem = Problem(
            f"{path}.resourceType",
            MALFORMED,
            f"{resource_type!r} is not a FHIR R4B resource type",
        )
        return Item(resource_type, None, raw, path, location, full_url, (problem,))
    if resource_type not in USED_TYPES:
        return Item(resource_type, None, raw, path, location, full_url)  # skipped unread
    try:
        model = model_class.model_validate(raw)
    except ValidationError as exc:
        problems = tuple(
            Problem(
                fhir_path(
                    path, [p for p in error["loc"] if p != "resourceType" or len(error["loc"]) > 1]
                ),
                MALFORMED,
                f"{resource_type}: {error['msg']} (FHIR R4B)",
            )
            for error in exc.errors()
        )
        return Item(resource_type, None, raw, path, location, full_url, problems)
    return Item(resource_type, model, raw, path, location, full_url)


def _load(data: bytes, location: str) -> tuple[Any, Problem | None]:
    try:
        return orjson.loads(data.removeprefix(_UTF8_BOM)), None
    except orjson.JSONDecodeError as exc:
        return None, Problem("", codes.MALFORMED_JSON, f"{location}: not valid JSON ({exc})")


def read_bundle(data: Mapping[str, Any], location: str) -> Unit:
    """The entries of a Bundle (validated one by one, so one bad entry spoils only itself)."""
    kind = data.get("type")
    unit = Unit(location, transaction=kind == "transaction")
    shell = {key: value for key, value in data.items() if key != "entry"}
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        unit.problems.append(Problem("Bundle.entry", MALFORMED, "Bundle.entry must be a list"))
        entries = []
    shell["entry"] = [
        {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, Mapping) else entry
        for entry in entries
    ]
    checked = validate(shell, "Bundle", location)
    unit.problems.extend(checked.problems)
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}].resource"
        where = f"{location} entry[{index}]"
        if not isinstance(entry, Mapping) or "resource" not in entry:
            continue  # reported by the Bundle's own validation (or an entry without resource)
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        unit.items.append(validate(entry["resource"], path, where, full_url))
    return unit


def read_json_file(path: Path) -> Iterator[Unit | Item]:
    """A ``.json`` file: a Bundle (a unit) or one resource (an item)."""
    data, problem = _load(path.read_bytes(), str(path))
    if problem is not None:
        yield Unit(str(path), problems=[problem])
    elif isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
        yield read_bundle(data, str(path))
    else:
        rt = data.get("resourceType", "?") if isinstance(data, Mapping) else "?"
        yield validate(data, str(rt), str(path))


def read_ndjson_file(path: Path) -> Iterator[Unit | Item]:
    """Bulk-export NDJSON: one resource per line (a Bundle on a line is its own unit)."""
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            location = f"{path}:{number}"
            data, problem = _load(line, location)
            if problem is not None:
                yield Unit(location, problems=[problem])
            elif isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
                yield read_bundle(data, location)
            else:
                rt = data.get("resourceType", "?") if isinstance(data, Mapping) else "?"
                yield validate(data, str(rt), location)


def read_units(paths: Iterable[Path]) -> list[Unit]:
    """Every unit of the FHIR files ``paths``: one pooled unit, then each transaction."""
    pooled = Unit(", ".join(str(p) for p in paths))
    units: list[Unit] = []
    for path in paths:
        reader = (
            read_ndjson_file if path.suffix.lower() in (".ndjson", ".jsonl") else read_json_file
        )
        for piece in reader(path):
            if isinstance(piece, Item):
                pooled.items.append(piece)
            elif piece.transaction:
                units.append(piece)
            else:
                pooled.items.extend(piece.items)
                pooled.problems.extend(piece.problems)
    return [pooled, *units]
