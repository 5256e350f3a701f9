"""FHIR files -> raw records for the batch importer (:mod:`bonepath.interop.importer`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from bonepath.interop.fhir.stream import read_fhir_streaming
from bonepath.interop.fhir.to_record import Mapped


def read_fhir(paths: Sequence[Path], *, today: dt.date) -> Mapped:
    """Read and map FHIR files (Bundles, single resources, bulk NDJSON) read together.

    The files go through the streaming import (:mod:`.stream`); the records are collected.
    """
    return read_fhir_streaming(paths, today=today)
