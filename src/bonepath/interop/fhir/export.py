"""Stored patients out as FHIR: NDJSON per resource type (Bulk Data) or one Bundle.

Used by ``bonepath export`` and the Bulk Data ``$export`` of the FHIR API (api/fhir_bulk.py).
Records are read from the store in batches and written as they come (each patient's
resources by :func:`.from_record.patient_resources`), so memory does not grow with the
number of patients; a Bundle is written entry by entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import orjson
from sqlalchemy import and_, or_, select

from bonepath.interop.fhir.from_record import patient_resources
from bonepath.record.model import Record
from bonepath.store.repository import Store
from bonepath.store.schema import patients

BATCH: Final = 500
"""Stored records read per query."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stored patients: every one, those of some hospitals, or some keys.

    ``hospitals`` None is every hospital (and patients of none); a set limits to those
    hospitals (tenancy: a user's hospitals, or one hospital asked for). ``keys`` limits to
    these ``(source, id)``; ``since`` to those stored after an instant.
    """

    hospitals: Collection[str] | None = None
    keys: Collection[tuple[str, str]] | None = None
    since: dt.datetime | None = None
    """Only the patients whose stored content changed after this instant (Bulk ``_since``)."""

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.hospitals is not None:
            clauses.append(patients.c.hospital_id.in_(sorted(self.hospitals)))
        if self.since is not None:
            clauses.append(patients.c.imported_at > self.since)
        if self.keys is not None:
            clauses.append(
                or_(*(and_(patients.c.source == s, patients.c.id == i) for s, i in self.keys))
                if self.keys
                else patients.c.pk.is_(None)
            )
        return clauses


def records(store: Store, selection: Selection) -> Iterator[Record]:
    """The selected stored records in ``pk`` order, read :data:`BATCH` at a time."""
    last = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(patients.c.pk, patients.c.record)
                .where(patients.c.pk > last, *selection.where())
                .order_by(patients.c.pk)
                .limit(BATCH)
            ).all()
        if not rows:
            return
        for pk, document in rows:
            last = int(pk)
            yield Record.model_validate(document)


@dataclass(slots=True)
class Written:
    """What an export wrote: the files (type -> path and resource count), the patients."""

    files: dict[str, tuple[Path, int]] = field(default_factory=dict)
    patients: list[tuple[str, str, str | None]] = field(default_factory=list)
    """``(source, id, hospital)`` of each patient written (for the audit row)."""

    @property
    def resources(self) -> int:
        return sum(count for _, count in self.files.values())


def _hospital(record: Record) -> str | None:
    return record.hospital.id if record.hospital is not None else None


def write_ndjson(
    source: Iterable[Record],
    folder: Path,
    *,
    types: Collection[str] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Written:
    """One ``<Type>.ndjson`` per resource type in ``folder`` (a FHIR Bulk Data export):
    each line one resource; only ``types`` when given."""
    folder.mkdir(parents=True, exist_ok=True)
    out = Written()
    streams: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    try:
        for record in source:
            if cancelled():
                break
            out.patients.append((record.source, record.id, _hospital(record)))
            for resource in patient_resources(record):
                kind = resource["resourceType"]
                if types is not None and kind not in types:
                    continue
                if kind not in streams:
                    streams[kind] = (folder / f"{kind}.ndjson").open("wb")
                    counts[kind] = 0
                streams[kind].write(orjson.dumps(resource) + b"\n")
                counts[kind] += 1
    finally:
        for stream in streams.values():
            stream.close()
    out.files = {kind: (folder / f"{kind}.ndjson", counts[kind]) for kind in sorted(streams)}
    return out


def write_bundle(source: Iterable[Record], path: Path) -> Written:
    """One FHIR ``collection`` Bundle of every resource of the patients, written entry by
    entry (``fullUrl`` ``<Type>/<id>``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = Written()
    count = 0
    with path.open("wb") as stream:
        stream.write(b'{"resourceType":"Bundle","type":"collection","entry":[')
        for record in source:
            out.patients.append((record.source, record.id, _hospital(record)))
            for resource in patient_resources(record):
                entry = {
                    "fullUrl": f"{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                }
                stream.write((b"," if count else b"") + orjson.dumps(entry))
                count += 1
        stream.write(b"]}\n")
    out.files = {"Bundle": (path, count)}
    return out


__all__ = ["Selection", "Written", "records", "write_bundle", "write_ndjson"]
