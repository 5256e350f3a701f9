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

from typing import Final

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

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
