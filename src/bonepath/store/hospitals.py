"""The hospitals of the registry: names, city tier, type and departments (issue 15 item 7).

A hospital is *known* when an administrator registered it (table ``hospitals``, migration
``0008``) or when a stored patient names it (``patients.hospital_id``, the record's
``hospital`` object, which also carries its name, tier and type). Registering is how a new
hospital gets its first users before its first import; granting a user a hospital that is
neither (a typo, ``H99``) is refused (:func:`require_known`) by ``bonepath user add`` and the
administration pages.

This module imports no other store module: the ``patients`` table is looked up on the shared
metadata when a function runs (``store.schema`` registers it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sqlalchemy import Column, Engine, String, Table, Text, func, insert, select, update

from bonepath.errors import InputError, NotFound
from bonepath.store.sqltypes import UtcDateTime, metadata
from bonepath.vocab import CityTier, Department, HospitalType

ALL_HOSPITALS: Final = "*"
_E = TypeVar("_E", CityTier, HospitalType)

hospitals: Final = Table(
    "hospitals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("city_tier", String(16)),
    Column("type", String(16)),
    Column("departments", Text),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""Hospitals registered by an administrator. ``departments``: the department codes
(:class:`bonepath.vocab.Department`) the hospital runs, comma-separated."""


@dataclass(frozen=True, slots=True)
class HospitalInfo:
    """A hospital as the administration pages list it."""

    id: str
    name: str | None
    city_tier: CityTier | None
    type: HospitalType | None
    departments: tuple[Department, ...]
    registered: bool
    """Registered by an administrator (else known only from its patients' records)."""
    patients: int


def _patients() -> Table:
    table = metadata.tables.get("patients")
    if table is None:  # pragma: no cover - bonepath.store.schema is imported by every store
        import bonepath.store.schema  # noqa: F401

        table = metadata.tables["patients"]
    return table


def _code(kind: type[_E], value: Any, what: str) -> _E | None:
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except ValueError:
        accepted = ", ".join(v.value for v in kind)
        raise InputError(f"unknown {what} {value!r}; accepted: {accepted}") from None


def _known(kind: type[_E], value: Any) -> _E | None:
    """A stored code as its vocabulary member; None when absent or not one."""
    try:
        return None if value is None else kind(value)
    except ValueError:
        return None


def _departments(values: Iterable[str]) -> tuple[Department, ...]:
    chosen: list[Department] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            chosen.append(Department(value))
        except ValueError:
            accepted = ", ".join(d.value for d in Department)
            raise InputError(f"unknown department {value!r}; accepted: {accepted}") from None
    return tuple(dict.fromkeys(chosen))


def _stored_departments(text: str | None) -> tuple[Department, ...]:
    codes = {d.value for d in Department}
    return tuple(Department(v) for v in (text or "").split(",") if v in codes)


def _check_id(hospital_id: str) -> str:
    key = hospital_id.strip()
    if not key or len(key) > 64 or key == ALL_HOSPITALS or any(ord(c) < 32 for c in key):
        raise InputError("a hospital id needs 1 to 64 printable characters (not *)")
    return key


def save_hospital(
    engine: Engine,
    hospital_id: str,
    name: str,
    *,
    city_tier: str | None = None,
    type: str | None = None,  # noqa: A002 - the record format's field name
    departments: Iterable[str] = (),
) -> None:
    """Register a hospital, or change a registered one's name, tier, type and departments.

    Raises ``InputError`` for an empty id or name, or a tier, type or department code that is
    not one of the vocabulary's."""
    key = _check_id(hospital_id)
    label = name.strip()
    if not label or len(label) > 200:
        raise InputError("a hospital needs a name (1 to 200 characters)")
    values = {
        "name": label,
        "city_tier": (t.value if (t := _code(CityTier, city_tier, "city tier")) else None),
        "type": (h.value if (h := _code(HospitalType, type, "hospital type")) else None),
        "departments": ",".join(d.value for d in _departments(departments)) or None,
    }
    with engine.begin() as conn:
        found = conn.execute(select(hospitals.c.id).where(hospitals.c.id == key)).first()
        if found is None:
            conn.execute(
                insert(hospitals).values(id=key, created_at=dt.datetime.now(dt.UTC), **values)
            )
        else:
            conn.execute(update(hospitals).where(hospitals.c.id == key).values(**values))


def list_hospitals(engine: Engine, granted: Iterable[str] | None = None) -> list[HospitalInfo]:
    """Every known hospital (registered, or named by a stored patient), by id; ``granted``:
    only those (None: all). A registered hospital's own name, tier and type win over what its
    patients' records say."""
    patients = _patients()
    with engine.connect() as conn:
        seen = conn.execute(
            select(
                patients.c.hospital_id,
                func.count(),
                func.max(patients.c.hospital_name),
                func.max(patients.c.city_tier),
                func.max(patients.c.hospital_type),
            )
            .where(patients.c.hospital_id.is_not(None))
            .group_by(patients.c.hospital_id)
        ).all()
        registered = conn.execute(select(hospitals)).mappings().all()
    found: dict[str, HospitalInfo] = {}
    for hospital_id, count, name, tier, kind in seen:
        found[hospital_id] = HospitalInfo(
            hospital_id,
            name,
            _known(CityTier, tier),
            _known(HospitalType, kind),
            (),
            False,
            int(count),
        )
    for row in registered:
        known = found.get(row["id"])
        found[row["id"]] = HospitalInfo(
            row["id"],
            row["name"],
            _known(CityTier, row["city_tier"]),
            _known(HospitalType, row["type"]),
            _stored_departments(row["departments"]),
            True,
            known.patients if known else 0,
        )
    wanted = None if granted is None else set(granted)
    return [
        found[key]
        for key in sorted(found)
        if wanted is None or ALL_HOSPITALS in wanted or key in wanted
    ]


def hospital_names(engine: Engine) -> dict[str, str]:
    """Hospital id -> name, for every known hospital that has one."""
    return {h.id: h.name for h in list_hospitals(engine) if h.name}


def find_hospital(engine: Engine, hospital_id: str) -> HospitalInfo:
    for hospital in list_hospitals(engine, (hospital_id,)):
        return hospital
    raise NotFound(f"no hospital {hospital_id!r}")


def unknown_hospitals(engine: Engine, hospital_ids: Iterable[str]) -> list[str]:
    """The ids among ``hospital_ids`` that are neither registered nor named by a patient
    (``*``, every hospital, is always known)."""
    wanted = sorted({h.strip() for h in hospital_ids if h.strip() and h.strip() != ALL_HOSPITALS})
    if not wanted:
        return []
    patients = _patients()
    with engine.connect() as conn:
        known = set(
            conn.execute(select(hospitals.c.id).where(hospitals.c.id.in_(wanted))).scalars()
        )
        known |= set(
            conn.execute(
                select(patients.c.hospital_id).where(patients.c.hospital_id.in_(wanted)).distinct()
            ).scalars()
        )
    return [h for h in wanted if h not in known]


class UnknownHospital(InputError):
    """A hospital id that is neither registered nor named by a stored patient."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(
            f"unknown hospital {', '.join(unknown)}: register it first "
            "(administration page 医院 / Hospitals) or import its patients"
        )
        self.unknown = unknown


def require_known(engine: Engine, hospital_ids: Iterable[str]) -> None:
    """Raises :class:`UnknownHospital` naming every unknown id among ``hospital_ids``."""
    unknown = unknown_hospitals(engine, hospital_ids)
    if unknown:
        raise UnknownHospital(unknown)
