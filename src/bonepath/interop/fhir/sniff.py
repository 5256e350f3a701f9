"""Is a file FHIR? Answered without loading a FHIR library (``bonepath import`` asks it of
every JSON and NDJSON file)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

_UTF8_BOM: Final = b"\xef\xbb\xbf"


def is_fhir_json(data: Any) -> bool:
    """Whether decoded JSON is a FHIR resource (has a ``resourceType``)."""
    return isinstance(data, Mapping) and isinstance(data.get("resourceType"), str)


def _first_value_is_fhir(line: bytes) -> bool:
    try:
        return is_fhir_json(orjson.loads(line.removeprefix(_UTF8_BOM)))
    except orjson.JSONDecodeError:
        return False


def sniff(path: Path) -> bool:
    """Whether a ``.json``/``.ndjson`` file holds FHIR (its first JSON value has a resourceType)."""
    try:
        with path.open("rb") as stream:
            if path.suffix.lower() in (".ndjson", ".jsonl"):
                for line in stream:
                    if line.strip():
                        return _first_value_is_fhir(line)
                return False
            head = stream.read(4096).removeprefix(_UTF8_BOM).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b'"resourceType"' in head
