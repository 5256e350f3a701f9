"""A registry's record tables cut into parts of at most N patients each.

A patient's findings never depend on another patient's rows, so a registry can be evaluated a
part at a time and the parts' findings put together: memory then grows with the part, not the
registry, and the plan's sorts and hash joins stay in cache-sized pieces. The tables are sorted
by ``pk`` once (unless already in key order); every part is a zero-copy slice of each table (the rows of a contiguous range
of patient keys).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

import numpy as np
import pyarrow as pa

CHUNK_PATIENTS: Final = 200_000
"""Patients per part of a registry evaluation (about 2 GB of working memory in DuckDB)."""


def patient_chunks(
    tables: Mapping[str, pa.Table], size: int = CHUNK_PATIENTS
) -> Iterator[dict[str, pa.Table]]:
    """``tables`` as parts of at most ``size`` patients (all of it at once when it is smaller)."""
    if size < 1:
        raise ValueError("a part holds at least one patient")
    people = tables["patients"]
    if people.num_rows <= size:
        yield dict(tables)
        return
    ordered: dict[str, pa.Table] = {}
    keys: dict[str, np.ndarray] = {}
    for name, table in tables.items():
        column = table["pk"].to_numpy()
        if len(column) > 1 and bool(np.any(column[1:] < column[:-1])):
            # a store or snapshot read in key order needs no sorted copy (half the memory)
            table = table.sort_by("pk")
            column = table["pk"].to_numpy()
        ordered[name], keys[name] = table, column
    firsts = keys["patients"][::size]
    for i, low in enumerate(firsts):
        high = firsts[i + 1] if i + 1 < len(firsts) else None
        part: dict[str, pa.Table] = {}
        for name, table in ordered.items():
            column = keys[name]
            start = int(np.searchsorted(column, low, side="left"))
            stop = len(column) if high is None else int(np.searchsorted(column, high, side="left"))
            part[name] = table.slice(start, stop - start)
        yield part
