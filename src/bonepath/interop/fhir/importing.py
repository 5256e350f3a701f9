"""FHIR files -> raw records for the batch importer (:mod:`bonepath.interop.importer`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from bonepath.interop.fhir.read import read_units
from bonepath.interop.fhir.to_record import Mapped, map_units


def read_fhir(paths: Sequence[Path], *, today: dt.date) -> Mapped:
    """Read and map FHIR files (Bundles, single resources, bulk NDJSON) read together."""
    return map_units(read_units(paths), today=today)
