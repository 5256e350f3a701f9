"""QC-11 by reading radiologist (issue 17 item 1; docs/quality.md QC-11).

The record has no radiologist field; the reader is known only for a CT item linked to a DICOM
study (``imaging_studies``) whose header names one (NameOfPhysiciansReadingStudy (0008,1060),
kept in ``reading_physician`` when the study is linked or opened). This is a small query of
the store, not the registry pass: the chest CTs with a checker reading (QC-11's denominator:
``modality = 'ct'``, ``region`` chest or chest-abdomen, ``report_bone_window`` not null, the
CT's date in the period) of the hospitals in scope, joined to their link row by the item key
(``<date>/ct/<n>``, the n-th CT of the day in record order), counted per reader. CTs without a
link, or whose study names no reader, are one row, ``reader`` None ("未关联影像（无阅片医师）").
The rows' totals are QC-11's numerator and denominator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, and_, select

from bonepath.quality.results import QualityReport
from bonepath.store import imaging as links
from bonepath.store.schema import EVENT_TABLES, patients

CHEST_REGIONS: Final = ("chest", "chest_abdomen")

@dataclass(frozen=True, slots=True)
class ReaderRow:
    reader: str | None
    """The reading physician; None: no linked study, or its header names none."""
    reports: int
    described: int

    @property
    def share(self) -> float | None:
        return None if self.reports == 0 else self.described / self.reports

    def to_json(self) -> dict[str, Any]:
        share = self.share
        return {
            "reader": self.reader,
            "reports": self.reports,
            "described": self.described,
            "share": None if share is None else round(share, 4),
        }


def qc11_by_reader(
    engine: Engine, start: dt.date, end: dt.date, hospitals: Collection[str] = ()
) -> list[ReaderRow]:
    """QC-11's chest CT reports in ``[start, end]`` of ``hospitals`` (empty: all) per reading
    radiologist: readers by name, the unlinked row last."""
    im = EVENT_TABLES["imaging"]
    p = patients
    ls = links.imaging_studies
    where = [
        im.c.modality == "ct",
        im.c.date >= start,
        im.c.date <= end,
    ]
    if hospitals:
        where.append(p.c.hospital_id.in_(sorted(hospitals)))
    query = (
        select(
            p.c.source,
            p.c.id,
            im.c.pk,
            im.c.seq,
            im.c.date,
            im.c.region,
            im.c.report_bone_window,
        )
        .join(p, p.c.pk == im.c.pk)
        .where(and_(*where))
        .order_by(im.c.pk, im.c.date, im.c.seq)
    )
    wanted: list[tuple[str, str, str, bool]] = []
    ordinals: dict[tuple[int, dt.date], int] = defaultdict(int)
    with engine.connect() as conn:
        for source, pid, pk, _seq, day, region, reading in conn.execute(query):
            ordinal = ordinals[(pk, day)]  # every CT of the day counts for the item key
            ordinals[(pk, day)] = ordinal + 1
            if region in CHEST_REGIONS and reading is not None:
                key = links.item_key(day, "ct", ordinal)
                wanted.append((source, pid, key, reading == "described"))
        readers: dict[tuple[str, str, str], str | None] = {}
        if wanted:
            linked = select(
                ls.c.patient_source, ls.c.patient_id, ls.c.item_key, ls.c.reading_physician
            ).where(ls.c.reading_physician.is_not(None))
            if hospitals:
                linked = linked.join(
                    p, and_(p.c.source == ls.c.patient_source, p.c.id == ls.c.patient_id)
                ).where(p.c.hospital_id.in_(sorted(hospitals)))
            for source, pid, key, name in conn.execute(linked):
                readers[(source, pid, key)] = name
    counts: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for source, pid, key, described in wanted:
        row = counts[readers.get((source, pid, key))]
        row[0] += 1
        row[1] += int(described)
    named = sorted(r for r in counts if r is not None)
    order: list[str | None] = [*named, *([None] if None in counts else [])]
    return [ReaderRow(r, counts[r][0], counts[r][1]) for r in order]


def with_readers(report: QualityReport, engine: Engine) -> QualityReport:
    """``report`` carrying QC-11 by reading radiologist of its period and hospitals
    (``report.qc11_readers``: the JSON key ``qc11_by_reader``, the printable report's table)."""
    rows = qc11_by_reader(engine, report.start, report.end, report.hospitals)
    return dataclasses.replace(report, qc11_readers=[r.to_json() for r in rows])
