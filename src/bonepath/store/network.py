"""The regional MDT network (issue 16 item 4): networks, referrals to a centre, their threads.

A *network* has one regional centre (a hospital) and member hospitals (each in at most one
network). A physician of a member hospital *refers* a patient to the centre; the referral
carries a **de-identified case package** frozen at referral (:mod:`bonepath.mdt.deidentify`)
and a pseudonymous case number (``code``), never the patient key, to the centre's users. The
thread (``mdt_referral_messages``) holds the opinions, each signed by a specialty. The centre's
answer (``decision``) is accepted by the referring hospital into its own record through the
validated write path. Access ends when the referral is revoked.

Tables (migration ``0011``). This module imports no other store module.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from bonepath import clock
from bonepath.errors import InputError, NotFound
from bonepath.store.sqltypes import RECORD_JSON_TYPE, UtcDateTime, metadata

mdt_networks: Final = Table(
    "mdt_networks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("centre_id", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""A regional MDT network and its centre (a hospital id)."""

mdt_network_members: Final = Table(
    "mdt_network_members",
    metadata,
    Column("hospital_id", String(64), primary_key=True),
    Column(
        "network_id",
        String(64),
        ForeignKey("mdt_networks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("added_at", UtcDateTime(), nullable=False),
)
"""A hospital that refers to its network's centre (one network per hospital)."""

mdt_referrals: Final = Table(
    "mdt_referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("case_id", Integer),
    Column("patient_source", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("hospital_id", String(64), nullable=False),
    Column("centre_id", String(64), nullable=False),
    Column("network_id", String(64)),
    Column("question", String(32), nullable=False),
    Column("question_text", Text),
    Column("package", RECORD_JSON_TYPE, nullable=False),
    Column("state", String(16), nullable=False),
    Column("referred_by", String(64), nullable=False),
    Column("referred_at", UtcDateTime(), nullable=False),
    Column("consent", Boolean(create_constraint=False), nullable=False, default=False),
    Column("consent_by", String(64)),
    Column("consent_at", UtcDateTime()),
    Column("consent_note", Text),
    Column("meeting_at", UtcDateTime()),
    Column("meeting_link", Text),
    Column("decision", RECORD_JSON_TYPE),
    Column("answered_by", String(64)),
    Column("answered_at", UtcDateTime()),
    Column("accepted_by", String(64)),
    Column("accepted_at", UtcDateTime()),
    Column("revoked_by", String(64)),
    Column("revoked_at", UtcDateTime()),
    Column("revoke_reason", Text),
    Index(None, "centre_id", "state"),
    Index(None, "patient_source", "patient_id"),
)
"""One referral of a patient to a centre. ``package``: the de-identified case package (JSON,
frozen at referral); ``decision``: the centre's answer (JSON); ``state``: open, answered,
accepted, revoked."""

mdt_referral_messages: Final = Table(
    "mdt_referral_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "referral_id",
        Integer,
        ForeignKey("mdt_referrals.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime(), nullable=False),
    Column("username", String(64), nullable=False),
    Column("side", String(16), nullable=False),
    Column("specialty", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Index(None, "referral_id"),
)
"""The asynchronous consultation thread: ``side`` centre or referrer; ``kind`` opinion or
message; ``specialty`` the signing specialty."""


# ---- the repository -----------------------------------------------------------------------------

REFERRAL_STATES: Final = ("open", "answered", "accepted", "revoked")
"""open (sent, the centre may answer), answered (the centre's decision is in), accepted (the
referring hospital took it into its record), revoked (the referrer ended the centre's access)."""


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    name: str
    centre_id: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    at: dt.datetime
    username: str
    side: str
    specialty: str
    kind: str
    body: str


@dataclass(frozen=True, slots=True)
class Referral:
    id: int
    code: str
    case_id: int | None
    patient_source: str
    patient_id: str
    hospital_id: str
    centre_id: str
    network_id: str | None
    question: str
    question_text: str
    package: dict[str, Any]
    state: str
    referred_by: str
    referred_at: dt.datetime
    consent: bool
    consent_by: str | None
    consent_at: dt.datetime | None
    consent_note: str | None
    meeting_at: dt.datetime | None
    meeting_link: str | None
    decision: dict[str, Any] | None
    answered_by: str | None
    answered_at: dt.datetime | None
    accepted_by: str | None
    accepted_at: dt.datetime | None
    revoked_by: str | None
    revoked_at: dt.datetime | None
    revoke_reason: str | None
    messages: tuple[Message, ...] = ()

    @property
    def patient(self) -> tuple[str, str]:
        return (self.patient_source, self.patient_id)


def _now() -> dt.datetime:
    return clock.now()  # the demo's seeding stamps on its pinned day (bonepath.clock)


def save_network(engine: Engine, network_id: str, name: str, centre_id: str) -> None:
    key, label, centre = network_id.strip(), name.strip(), centre_id.strip()
    if not key or len(key) > 64 or not label or not centre:
        raise InputError("a network needs an id (1 to 64 characters), a name and a centre")
    with engine.begin() as conn:
        member = conn.execute(
            select(mdt_network_members.c.network_id).where(
                mdt_network_members.c.hospital_id == centre
            )
        ).scalar()
        if member is not None and member != key:
            raise InputError(f"hospital {centre} is a member of network {member}")
        found = conn.execute(select(mdt_networks.c.id).where(mdt_networks.c.id == key)).first()
        if found is None:
            conn.execute(
                insert(mdt_networks).values(id=key, name=label, centre_id=centre, created_at=_now())
            )
        else:
            conn.execute(
                update(mdt_networks)
                .where(mdt_networks.c.id == key)
                .values(name=label, centre_id=centre)
            )


def add_member(engine: Engine, network_id: str, hospital_id: str) -> None:
    hospital = hospital_id.strip()
    with engine.begin() as conn:
        network = conn.execute(
            select(mdt_networks.c.centre_id).where(mdt_networks.c.id == network_id)
        ).first()
        if network is None:
            raise NotFound(f"no network {network_id!r}")
        if network[0] == hospital:
            raise InputError("the centre is not a member of its own network")
        current = conn.execute(
            select(mdt_network_members.c.network_id).where(
                mdt_network_members.c.hospital_id == hospital
            )
        ).scalar()
        if current == network_id:
            return
        if current is not None:
            raise InputError(f"hospital {hospital} is a member of network {current}")
        conn.execute(
            insert(mdt_network_members).values(
                hospital_id=hospital, network_id=network_id, added_at=_now()
            )
        )


def remove_member(engine: Engine, network_id: str, hospital_id: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(
            delete(mdt_network_members).where(
                mdt_network_members.c.network_id == network_id,
                mdt_network_members.c.hospital_id == hospital_id,
            )
        )
    return bool(done.rowcount)


def list_networks(engine: Engine) -> list[Network]:
    with engine.connect() as conn:
        networks = conn.execute(select(mdt_networks).order_by(mdt_networks.c.id)).all()
        members = conn.execute(
            select(mdt_network_members.c.network_id, mdt_network_members.c.hospital_id).order_by(
                mdt_network_members.c.hospital_id
            )
        ).all()
    by_network: dict[str, list[str]] = {}
    for network_id, hospital_id in members:
        by_network.setdefault(network_id, []).append(hospital_id)
    return [
        Network(row.id, row.name, row.centre_id, tuple(by_network.get(row.id, ())))
        for row in networks
    ]


def network_of(engine: Engine, hospital_id: str | None) -> Network | None:
    """The network ``hospital_id`` refers within (as a member), or None."""
    if not hospital_id:
        return None
    for network in list_networks(engine):
        if hospital_id in network.members:
            return network
    return None


def new_code() -> str:
    """A pseudonymous case number: ``RC-`` and 8 random characters (never from the patient)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "RC-" + "".join(secrets.choice(alphabet) for _ in range(8))


def create_referral(
    engine: Engine,
    *,
    code: str,
    case_id: int | None,
    patient: tuple[str, str],
    hospital_id: str,
    centre_id: str,
    network_id: str | None,
    question: str,
    question_text: str,
    package: Mapping[str, Any],
    referred_by: str,
    consent: bool = False,
    consent_note: str | None = None,
    at: dt.datetime | None = None,
) -> int:
    """``at``: the referral's time on the app's clock (default now)."""
    now = at or _now()
    with engine.begin() as conn:
        result = conn.execute(
            insert(mdt_referrals).values(
                code=code,
                case_id=case_id,
                patient_source=patient[0],
                patient_id=patient[1],
                hospital_id=hospital_id,
                centre_id=centre_id,
                network_id=network_id,
                question=question,
                question_text=question_text,
                package=dict(package),
                state="open",
                referred_by=referred_by,
                referred_at=now,
                consent=consent,
                consent_by=referred_by if consent else None,
                consent_at=now if consent else None,
                consent_note=consent_note if consent else None,
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _referral(row: Any, messages: Sequence[Message] = ()) -> Referral:
    return Referral(
        id=row.id,
        code=row.code,
        case_id=row.case_id,
        patient_source=row.patient_source,
        patient_id=row.patient_id,
        hospital_id=row.hospital_id,
        centre_id=row.centre_id,
        network_id=row.network_id,
        question=row.question,
        question_text=row.question_text or "",
        package=dict(row.package or {}),
        state=row.state,
        referred_by=row.referred_by,
        referred_at=row.referred_at,
        consent=bool(row.consent),
        consent_by=row.consent_by,
        consent_at=row.consent_at,
        consent_note=row.consent_note,
        meeting_at=row.meeting_at,
        meeting_link=row.meeting_link,
        decision=dict(row.decision) if row.decision else None,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
        accepted_by=row.accepted_by,
        accepted_at=row.accepted_at,
        revoked_by=row.revoked_by,
        revoked_at=row.revoked_at,
        revoke_reason=row.revoke_reason,
        messages=tuple(messages),
    )


def get_referral(engine: Engine, code: str) -> Referral | None:
    with engine.connect() as conn:
        row = conn.execute(select(mdt_referrals).where(mdt_referrals.c.code == code)).first()
        if row is None:
            return None
        messages = conn.execute(
            select(mdt_referral_messages)
            .where(mdt_referral_messages.c.referral_id == row.id)
            .order_by(mdt_referral_messages.c.at, mdt_referral_messages.c.id)
        ).all()
    return _referral(
        row,
        [Message(m.id, m.at, m.username, m.side, m.specialty, m.kind, m.body) for m in messages],
    )


def list_referrals(
    engine: Engine,
    *,
    centres: Sequence[str] | None = None,
    hospitals: Sequence[str] | None = None,
    patient: tuple[str, str] | None = None,
    include_revoked: bool = True,
) -> list[Referral]:
    """Referrals to ``centres`` or from ``hospitals`` (None: any), newest first."""
    query = select(mdt_referrals).order_by(mdt_referrals.c.referred_at.desc())
    if centres is not None:
        query = query.where(mdt_referrals.c.centre_id.in_(list(centres)))
    if hospitals is not None:
        query = query.where(mdt_referrals.c.hospital_id.in_(list(hospitals)))
    if patient is not None:
        query = query.where(
            mdt_referrals.c.patient_source == patient[0], mdt_referrals.c.patient_id == patient[1]
        )
    if not include_revoked:
        query = query.where(mdt_referrals.c.state != "revoked")
    with engine.connect() as conn:
        return [_referral(row) for row in conn.execute(query).all()]


def add_message(
    engine: Engine,
    referral_id: int,
    *,
    username: str,
    side: str,
    specialty: str,
    kind: str,
    body: str,
    at: dt.datetime | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(mdt_referral_messages).values(
                referral_id=referral_id,
                at=at or _now(),
                username=username,
                side=side,
                specialty=specialty,
                kind=kind,
                body=body,
            )
        )


def update_referral(
    engine: Engine | Connection, referral_id: int, *, expect: Sequence[str], **values: Any
) -> bool:
    """Change a referral whose state is one of ``expect`` (compare-and-set); False otherwise.
    On a ``Connection`` the change joins the caller's transaction."""
    statement = (
        update(mdt_referrals)
        .where(mdt_referrals.c.id == referral_id, mdt_referrals.c.state.in_(list(expect)))
        .values(**values)
    )
    if isinstance(engine, Connection):
        return bool(engine.execute(statement).rowcount)
    with engine.begin() as conn:
        done = conn.execute(statement)
    return bool(done.rowcount)
