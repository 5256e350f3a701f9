"""Imaging items linked to DICOM studies, and the bone-window review click (issue 17 item 2).

Table ``imaging_studies`` (migration ``0012``): one row per imaging item of a patient that was
linked to a study of the PACS or of a DICOM folder. An item is named by its ``item_key``,
``<date>/<modality>/<n>`` (the n-th item of that modality on that day, in record order; see
:func:`item_key`), because record items carry no id. The row keeps the StudyInstanceUID, the
series shown, who linked it, and the "骨窗已阅" click: who (user name and role), when (UTC) and
the window that was on screen. The record's own ``bone_window_reviewed`` is set by the same
click (SCR-05 and QC-01 read the record); this row is who and when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    insert,
    or_,
    select,
    update,
)

from bonepath.store.sqltypes import UtcDateTime, metadata

imaging_studies: Final = Table(
    "imaging_studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_source", String(64), nullable=False),
    Column("patient_id", String(128), nullable=False),
    Column("item_key", String(64), nullable=False),
    Column("study_uid", String(64), nullable=False),
    Column("series_uid", String(64)),
    Column("linked_by", String(64)),
    Column("linked_at", UtcDateTime(), nullable=False),
    Column("reviewed_by", String(64)),
    Column("reviewed_role", String(32)),
    Column("reviewed_at", UtcDateTime()),
    Column("reviewed_window", String(64)),
    Column("reading_physician", String(128)),
    UniqueConstraint("patient_source", "patient_id", "item_key", name="uq_imaging_studies_item"),
    Index("ix_imaging_studies_study_uid", "study_uid"),
)


@dataclass(frozen=True, slots=True)
class StudyLink:
    """An imaging item's study and its review."""

    item_key: str
    study_uid: str
    series_uid: str | None
    linked_by: str | None
    linked_at: dt.datetime
    reviewed_by: str | None
    reviewed_role: str | None
    reviewed_at: dt.datetime | None
    reviewed_window: str | None
    reading_physician: str | None = None
    """The study's NameOfPhysiciansReadingStudy (0008,1060) as last read (migration 0016)."""


def item_key(date: dt.date, modality: str, ordinal: int) -> str:
    """``2026-03-01/ct/0``: the ``ordinal``-th item of ``modality`` on ``date``."""
    return f"{date.isoformat()}/{modality}/{ordinal}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _link(row: Any) -> StudyLink:
    return StudyLink(
        item_key=row["item_key"],
        study_uid=row["study_uid"],
        series_uid=row["series_uid"],
        linked_by=row["linked_by"],
        linked_at=row["linked_at"],
        reviewed_by=row["reviewed_by"],
        reviewed_role=row["reviewed_role"],
        reviewed_at=row["reviewed_at"],
        reviewed_window=row["reviewed_window"],
        reading_physician=row["reading_physician"],
    )


def links_of(engine: Engine, source: str, patient_id: str) -> dict[str, StudyLink]:
    """The linked items of a patient, by item key."""
    t = imaging_studies
    with engine.connect() as conn:
        rows = conn.execute(
            select(t).where(t.c.patient_source == source, t.c.patient_id == patient_id)
        ).mappings()
        return {row["item_key"]: _link(row) for row in rows}


def link_study(
    engine: Engine,
    source: str,
    patient_id: str,
    key: str,
    study_uid: str,
    *,
    series_uid: str | None = None,
    by: str | None = None,
    reading_physician: str | None = None,
) -> StudyLink:
    """Link an item to a study (a new study for the item clears its review and its reading
    physician, unless ``reading_physician`` — the new study's — is given)."""
    t = imaging_studies
    where = (t.c.patient_source == source, t.c.patient_id == patient_id, t.c.item_key == key)
    with engine.begin() as conn:
        row = conn.execute(select(t).where(*where)).mappings().first()
        if row is None:
            conn.execute(
                insert(t).values(
                    patient_source=source,
                    patient_id=patient_id,
                    item_key=key,
                    study_uid=study_uid,
                    series_uid=series_uid,
                    linked_by=by,
                    linked_at=_now(),
                    reading_physician=_name(reading_physician),
                )
            )
        elif row["study_uid"] != study_uid or row["series_uid"] != series_uid:
            values: dict[str, Any] = {
                "study_uid": study_uid,
                "series_uid": series_uid,
                "linked_by": by,
                "linked_at": _now(),
            }
            if row["study_uid"] != study_uid:
                values.update(
                    reviewed_by=None,
                    reviewed_role=None,
                    reviewed_at=None,
                    reviewed_window=None,
                    reading_physician=_name(reading_physician),
                )
            conn.execute(update(t).where(*where).values(**values))
        found = conn.execute(select(t).where(*where)).mappings().one()
        return _link(found)


def _name(value: str | None) -> str | None:
    return (value or "").strip()[:128] or None


def note_reading_physician(
    engine: Engine, source: str, patient_id: str, key: str, study_uid: str, name: str | None
) -> bool:
    """Keep the reading physician the linked study's header names (when the study is opened);
    True when the row changed. A header without one leaves a name read before in place."""
    value = _name(name)
    if value is None:
        return False
    t = imaging_studies
    with engine.begin() as conn:
        changed = conn.execute(
            update(t)
            .where(
                t.c.patient_source == source,
                t.c.patient_id == patient_id,
                t.c.item_key == key,
                t.c.study_uid == study_uid,
                or_(t.c.reading_physician.is_(None), t.c.reading_physician != value),
            )
            .values(reading_physician=value)
        ).rowcount
    return bool(changed)


def mark_reviewed(
    engine: Engine,
    source: str,
    patient_id: str,
    key: str,
    *,
    by: str,
    role: str,
    window: str,
    at: dt.datetime | None = None,
) -> StudyLink:
    """Record the "骨窗已阅" click on a linked item (the latest click is kept; the audit log
    keeps every one). Raises ``LookupError`` when the item has no study."""
    t = imaging_studies
    where = (t.c.patient_source == source, t.c.patient_id == patient_id, t.c.item_key == key)
    with engine.begin() as conn:
        changed = conn.execute(
            update(t)
            .where(*where)
            .values(
                reviewed_by=by,
                reviewed_role=role,
                reviewed_at=at or _now(),
                reviewed_window=window[:64],
            )
        ).rowcount
        if not changed:
            raise LookupError(key)
        return _link(conn.execute(select(t).where(*where)).mappings().one())
