"""A registry's record tables cut into parts of at most N patients each.

A patient's findings never depend on another patient's rows, so a registry can be evaluated a
part at a time and the parts' findings put together: memory then grows with the part, not the
registry, and the plan's sorts and hash joins stay in cache-sized pieces. The tables are sorted
by ``pk`` once (unless already in key order); every part is a zero-copy slice of each table (the rows of a contiguous range
of patient keys).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, TypeVar

import numpy as np
import pyarrow as pa

CHUNK_PATIENTS: Final = 50_000
"""Patients per part of a registry evaluation (two in flight: ≈ 1.5 GB at 100,000 patients,
2.7 GB at 1,000,000 read from a snapshot, findings included; parts of 100,000 took as much CPU
and 3.9 GB; bench/README.md, issue 19, session 9)."""

PART_WORKERS: Final = 2
"""Parts of the embedded backend evaluated side by side, each in a DuckDB connection of one
thread. DuckDB spreads one plan run over the cores poorly (the rule engine's wide facts join
runs mostly on one): at 100,000 patients under load two parts side by side took 17 % less
CPU and a third less wall time than one part on two threads; at 1,000,000 on a quieter
machine the same CPU and 3 s less wall (bench/README.md, issue 19)."""

P = TypeVar("P")
R = TypeVar("R")


def map_parts(parts: Iterable[P], work: Callable[[P, bool], R], workers: int = 1) -> Iterator[R]:
    """``work(part, alone)`` of every part, the results in the parts' order.

    With ``workers`` > 1 and more than one part, up to ``workers`` parts are worked on at once,
    each on a thread of its own (``alone`` false: the work should then use one core), and the
    next part is read only when a result is handed on — so at most ``workers`` + 1 parts are in
    memory. A single part (or ``workers`` 1) is worked on in the caller's thread with
    ``alone`` true (it may use every core).
    """
    it = iter(parts)
    head = list(itertools.islice(it, 2))
    if workers <= 1 or len(head) < 2:
        for part in itertools.chain(head, it):
            yield work(part, True)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="part") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for part in itertools.chain(head, it):
                pending.append(pool.submit(work, part, False))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


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
