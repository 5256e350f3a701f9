"""The store's tables, generated from the columnar layout plus the provenance of each patient.

Every table of :data:`bonepath.record.columns.TABLES` becomes a table of the same name with the
same columns, so the rules engine can read the store as it reads column buffers. ``patients``
adds what an import needs: the full normalized record (``record``), the SHA-256 of its
canonical JSON (``content_hash``), when and from where it was last written. Event rows belong
to their patient (``ON DELETE CASCADE``). :data:`metadata` is the schema at the newest
migration; ``tests/store/test_migrations.py`` fails when the two drift apart.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

from bonepath.record.columns import TABLES, ColumnType, TableSpec

# the tables of the other store modules are on the same metadata: imported to register them
# (they import bonepath.store.sqltypes, not this module, so there is no import cycle)
from bonepath.store import accounts as _accounts  # noqa: F401  (users, sessions, audit)
from bonepath.store import hospitals as _hospitals  # noqa: F401  (registered hospitals)
from bonepath.store import imaging as _imaging  # noqa: F401  (CT studies, bone-window review)
from bonepath.store import mdt as _mdt  # noqa: F401  (MDT cases, meetings, tasks)
from bonepath.store import network as _network  # noqa: F401  (regional MDT network)
from bonepath.store import revisions as _revisions  # noqa: F401  (entry corrections, voids)
from bonepath.store import tasks as _tasks  # noqa: F401  (reminder tasks, outbox)
from bonepath.store import worklist_views as _views  # noqa: F401  (saved worklist views)
from bonepath.store.sqltypes import (
    NAMING_CONVENTION,
    RECORD_JSON_TYPE,
    UtcDateTime,
    metadata,
)

__all__ = [
    "EVENT_TABLES",
    "NAMING_CONVENTION",
    "NESTED_LISTS",
    "PROVENANCE_COLUMNS",
    "RECORD_JSON_TYPE",
    "RECORD_TABLES",
    "UtcDateTime",
    "column_type",
    "import_batches",
    "metadata",
    "patients",
]

# int64 ids are BIGINT; on SQLite the surrogate key must be spelled INTEGER to be the rowid.
_PATIENT_PK_TYPE: Final = BigInteger().with_variant(Integer(), "sqlite")


def column_type(kind: ColumnType) -> TypeEngine[Any]:
    """The SQL type of a :data:`~bonepath.record.columns.ColumnType`."""
    types: dict[ColumnType, TypeEngine[Any]] = {
        "int64": BigInteger(),
        "float64": Double(),
        "string": Text(),
        "date": Date(),
        "boolean": Boolean(create_constraint=False),
    }
    return types[kind]


import_batches: Final = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_source", Text, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("imported", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("refused", Integer, nullable=False, default=0),
)
"""One row per ``bonepath import`` run; ``finished_at`` stays NULL when a run was cut off."""

PROVENANCE_COLUMNS: Final[tuple[str, ...]] = (
    "record",
    "content_hash",
    "imported_at",
    "import_source",
    "import_batch_id",
)
"""The columns of ``patients`` that are not in ``TABLES["patients"]``."""


def _patients(spec: TableSpec) -> Table:
    columns: list[Column[Any]] = []
    for name, kind in spec.columns:
        if name == "pk":
            columns.append(Column("pk", _PATIENT_PK_TYPE, primary_key=True, autoincrement=True))
        elif name == "source":
            columns.append(Column("source", String(64), nullable=False))
        elif name == "id":
            columns.append(Column("id", String(64), nullable=False))
        else:
            columns.append(Column(name, column_type(kind)))
    return Table(
        "patients",
        metadata,
        *columns,
        Column("record", RECORD_JSON_TYPE, nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("imported_at", UtcDateTime(), nullable=False),
        Column("import_source", Text, nullable=False),
        Column(
            "import_batch_id",
            Integer,
            ForeignKey(import_batches.c.id, ondelete="SET NULL"),
        ),
        UniqueConstraint("source", "id"),
        Index(None, "hospital_id"),
        # the store generation a cached worklist checks on every view (count, max pk, latest
        # write) and the patients written since: read from this index, not the wide rows
        Index(None, "imported_at"),
        # the hospital directory (store/hospitals.list_hospitals: every hospital with its name,
        # tier and type) from the index alone, not the wide rows (migration 0014)
        Index(None, "hospital_id", "hospital_name", "city_tier", "hospital_type"),
    )


NESTED_LISTS: Final[frozenset[str]] = frozenset({"imaging_sites", "symptom_sites"})
"""Tables of a list inside one event (``seq`` = the event's): several rows per ``(pk, seq)``.

Every other event table has one row per list item, so ``(pk, seq)`` is its primary key.
"""


def _event_table(spec: TableSpec) -> Table:
    """An event family: rows keyed by (pk, seq), or by pk for the per-event site lists."""
    names = spec.column_names
    columns = [
        Column(
            name,
            column_type(kind),
            *([ForeignKey("patients.pk", ondelete="CASCADE")] if name == "pk" else []),
            nullable=name not in {"pk", "seq", "date"},
        )
        for name, kind in spec.columns
    ]
    constraints: list[PrimaryKeyConstraint | Index] = (
        [Index(None, "pk", "seq")]
        if spec.name in NESTED_LISTS
        else [PrimaryKeyConstraint("pk", "seq")]
    )
    if "date" in names:
        constraints.append(Index(None, "date"))
    return Table(spec.name, metadata, *columns, *constraints)


patients: Final = _patients(TABLES["patients"])
EVENT_TABLES: Final[dict[str, Table]] = {
    name: _event_table(spec) for name, spec in TABLES.items() if name != "patients"
}
"""The event-family tables by name, in :data:`~bonepath.record.columns.TABLES` order."""

RECORD_TABLES: Final[dict[str, Table]] = {"patients": patients, **EVENT_TABLES}
"""Every table of the columnar layout by its ``TABLES`` name (what the rules engine scans)."""
