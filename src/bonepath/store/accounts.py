"""Accounts, sessions, API tokens, login attempts and the append-only audit log.

The tables live on the shared :data:`bonepath.store.schema.metadata` (migration ``0002``);
this module is also their repository. It knows nothing of HTTP: the web layer
(:mod:`bonepath.api`) turns a session cookie or a bearer token into a :class:`Principal`
with these functions, and the CLI (``bonepath user ...``) creates users with them.

- Passwords are hashed with argon2id (``argon2-cffi`` defaults); only the hash is stored.
- Session ids and API tokens are random (256 bits); only their SHA-256 is stored, so a copy
  of the database does not hand out sessions.
- ``audit_log`` is append-only: the migration installs triggers that refuse ``UPDATE`` and
  ``DELETE`` on both SQLite and PostgreSQL. A row names who (user, role), what (action),
  which patient (source, id, hospital), when (UTC) and from where (client address); never
  patient data.
- Hospital grants: a user sees the patients of the hospitals granted to them; the grant
  ``*`` (regional roles) means every hospital, patients without a hospital included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bonepath.errors import InputError, NotFound, StoreError
from bonepath.store.schema import UtcDateTime, metadata

ALL_HOSPITALS: Final = "*"
"""The grant that sees every hospital (regional roles)."""


class Role(StrEnum):
    CLINICIAN = "clinician"
    NURSE = "nurse"
    MDT_COORDINATOR = "mdt_coordinator"
    QUALITY_MANAGER = "quality_manager"
    ADMIN = "admin"


class Permission(StrEnum):
    READ_PATIENTS = "read_patients"
    WRITE_EVENTS = "write_events"
    OVERRIDE_SAFETY = "override_safety"
    IMPORT = "import"
    EXPORT = "export"
    QUALITY = "quality"
    ADMIN = "admin"


ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_PATIENTS,
            Permission.WRITE_EVENTS,
            Permission.OVERRIDE_SAFETY,
            Permission.IMPORT,
            Permission.EXPORT,
        }
    ),
    Role.NURSE: frozenset({Permission.READ_PATIENTS, Permission.WRITE_EVENTS, Permission.EXPORT}),
    Role.MDT_COORDINATOR: frozenset(
        {Permission.READ_PATIENTS, Permission.WRITE_EVENTS, Permission.IMPORT, Permission.EXPORT}
    ),
    Role.QUALITY_MANAGER: frozenset(
        {Permission.READ_PATIENTS, Permission.EXPORT, Permission.QUALITY}
    ),
    Role.ADMIN: frozenset(
        {Permission.READ_PATIENTS, Permission.IMPORT, Permission.QUALITY, Permission.ADMIN}
    ),
}
"""What each role may do. Overriding a safety warning (a dose against the renal rule) is the
clinician's; nurses record what was given; quality managers read; admins manage and audit."""

SESSION_TTL: Final = dt.timedelta(hours=8)
"""A session ends 8 hours after login (a working shift), or 30 minutes after its last use."""
SESSION_IDLE: Final = dt.timedelta(minutes=30)
THROTTLE_WINDOW: Final = dt.timedelta(minutes=15)
THROTTLE_MAX_FAILURES: Final = 5
ATTEMPTS_KEPT: Final = dt.timedelta(days=1)
"""Failed logins per user name, or per client address, within the window before refusing."""

users: Final = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean(create_constraint=False), nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

user_hospitals: Final = Table(
    "user_hospitals",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("hospital_id", String(64), nullable=False),
    PrimaryKeyConstraint("user_id", "hospital_id"),
)

web_sessions: Final = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

api_tokens: Final = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("revoked", Boolean(create_constraint=False), nullable=False, default=False),
)

login_attempts: Final = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("ok", Boolean(create_constraint=False), nullable=False),
    Index(None, "username", "at"),
    Index(None, "client", "at"),
)

audit_log: Final = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("user_id", Integer),
    Column("username", String(64)),
    Column("role", String(32)),
    Column("action", String(64), nullable=False),
    Column("patient_source", String(64)),
    Column("patient_id", String(64)),
    Column("hospital_id", String(64)),
    Column("client", String(64)),
    Column("outcome", String(32), nullable=False, default="ok"),
    Column("detail", Text),
    Index(None, "at"),
    Index(None, "patient_source", "patient_id"),
)
"""Append-only (triggers refuse UPDATE and DELETE). ``outcome``: ok, denied, refused, failed.
``detail``: the rules and reason of a safety override; never patient data otherwise."""

jwt_ids: Final = Table(
    "jwt_ids",
    metadata,
    Column("iss", String(255), nullable=False),
    Column("jti", String(255), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("iss", "jti"),
    Index(None, "expires_at"),
)
"""The ``jti`` of every JWT an EHR presented (CDS Hooks), until it expires: a replay is
refused by every server process alike (migration ``0004``)."""

_hasher: Final = PasswordHasher()
MIN_PASSWORD_LENGTH: Final = 10


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: user, role and the hospitals granted (``*``: all)."""

    user_id: int
    username: str
    role: Role
    hospitals: frozenset[str]
    via: str = "session"
    """``session`` (browser, CSRF-checked) or ``token`` (bearer, integrations)."""

    @property
    def all_hospitals(self) -> bool:
        return ALL_HOSPITALS in self.hospitals

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def sees(self, hospital_id: str | None) -> bool:
        """Whether a patient of ``hospital_id`` is visible (no hospital: only to ``*``)."""
        if self.all_hospitals:
            return True
        return hospital_id is not None and hospital_id in self.hospitals

    def hospital_filter(self) -> tuple[str, ...] | None:
        """The hospital ids to select patients by; None when every hospital is granted."""
        return None if self.all_hospitals else tuple(sorted(self.hospitals))


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    display_name: str | None
    role: Role
    active: bool
    hospitals: tuple[str, ...]


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _wrap(action: str, exc: SQLAlchemyError) -> StoreError:
    return StoreError(f"{action} failed: {type(exc).__name__}")


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: Role | str,
    hospitals: Iterable[str],
    *,
    display_name: str | None = None,
) -> int:
    """Create a user with their hospital grants; returns the user id.

    Raises ``InputError`` for a taken name, an unknown role, a short password or no grant.
    """
    try:
        chosen = Role(role)
    except ValueError:
        raise InputError(
            f"unknown role {role!r}; accepted: {', '.join(r.value for r in Role)}"
        ) from None
    name = username.strip()
    if not name or len(name) > 64:
        raise InputError("a user name needs 1 to 64 characters")
    grants = sorted({h.strip() for h in hospitals if h.strip()})
    if not grants:
        raise InputError("grant at least one hospital id (or * for all)")
    password_hash = hash_password(password)
    try:
        with engine.begin() as conn:
            user_id = conn.execute(
                insert(users)
                .values(
                    username=name,
                    display_name=display_name,
                    role=chosen.value,
                    password_hash=password_hash,
                    active=True,
                    created_at=_now(),
                )
                .returning(users.c.id)
            ).scalar_one()
            conn.execute(
                insert(user_hospitals), [{"user_id": user_id, "hospital_id": h} for h in grants]
            )
    except IntegrityError:
        raise InputError(f"the user name {name!r} is taken") from None
    except SQLAlchemyError as exc:
        raise _wrap("creating a user", exc) from exc
    return int(user_id)


def set_password(engine: Engine, username: str, password: str) -> None:
    password_hash = hash_password(password)
    with engine.begin() as conn:
        found = conn.execute(
            update(users).where(users.c.username == username).values(password_hash=password_hash)
        ).rowcount
        if not found:
            raise NotFound(f"no user {username!r}")
        conn.execute(
            delete(web_sessions).where(
                web_sessions.c.user_id
                == select(users.c.id).where(users.c.username == username).scalar_subquery()
            )
        )


def set_active(engine: Engine, username: str, active: bool) -> None:
    with engine.begin() as conn:
        found = conn.execute(
            update(users).where(users.c.username == username).values(active=active)
        ).rowcount
        if not found:
            raise NotFound(f"no user {username!r}")
        if not active:
            conn.execute(
                delete(web_sessions).where(
                    web_sessions.c.user_id
                    == select(users.c.id).where(users.c.username == username).scalar_subquery()
                )
            )


def list_users(engine: Engine) -> list[UserInfo]:
    with engine.connect() as conn:
        grants: dict[int, list[str]] = {}
        for user_id, hospital in conn.execute(
            select(user_hospitals.c.user_id, user_hospitals.c.hospital_id).order_by(
                user_hospitals.c.hospital_id
            )
        ):
            grants.setdefault(user_id, []).append(hospital)
        rows = conn.execute(select(users).order_by(users.c.username)).mappings().all()
    return [
        UserInfo(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            role=Role(row["role"]),
            active=bool(row["active"]),
            hospitals=tuple(grants.get(row["id"], ())),
        )
        for row in rows
    ]


def _principal(conn: Any, user_id: int, via: str) -> Principal | None:
    row = conn.execute(
        select(users.c.username, users.c.role, users.c.active).where(users.c.id == user_id)
    ).first()
    if row is None or not row.active:
        return None
    hospitals = conn.execute(
        select(user_hospitals.c.hospital_id).where(user_hospitals.c.user_id == user_id)
    ).scalars()
    return Principal(user_id, row.username, Role(row.role), frozenset(hospitals), via)


# ---- login and throttling ---------------------------------------------------------------------


class Throttled(InputError):
    """Too many failed logins for this user name or client address; try again later."""


def _recent_failures(conn: Any, column: Any, value: str, since: dt.datetime) -> int:
    last_ok = (
        select(func.max(login_attempts.c.at))
        .where(column == value, login_attempts.c.ok.is_(True))
        .scalar_subquery()
    )
    return int(
        conn.execute(
            select(func.count()).where(
                column == value,
                login_attempts.c.ok.is_(False),
                login_attempts.c.at >= since,
                (login_attempts.c.at > last_ok) | last_ok.is_(None),
            )
        ).scalar_one()
    )


def authenticate(engine: Engine, username: str, password: str, client: str) -> Principal | None:
    """Check a password; every attempt is recorded. None: wrong name or password.

    Raises :class:`Throttled` after :data:`THROTTLE_MAX_FAILURES` failures for this name or
    this client address within :data:`THROTTLE_WINDOW` (the password is then not checked, so
    guessing costs the same whatever the guess).
    """
    now = _now()
    since = now - THROTTLE_WINDOW
    name = username.strip()[:64]
    with engine.begin() as conn:
        if (
            _recent_failures(conn, login_attempts.c.username, name, since) >= THROTTLE_MAX_FAILURES
            or _recent_failures(conn, login_attempts.c.client, client[:64], since)
            >= THROTTLE_MAX_FAILURES
        ):
            raise Throttled("too many failed logins; wait 15 minutes")
        row = conn.execute(
            select(users.c.id, users.c.password_hash, users.c.active).where(
                users.c.username == name
            )
        ).first()
        ok = False
        if row is not None and row.active:
            try:
                ok = _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:  # same work for an unknown name: no user enumeration by timing
            with contextlib.suppress(VerificationError, InvalidHashError):
                _hasher.verify(_DUMMY_HASH, password)
        conn.execute(
            insert(login_attempts).values(username=name, client=client[:64], at=now, ok=ok)
        )
        # only the throttling window matters; older attempts are in the audit log
        conn.execute(delete(login_attempts).where(login_attempts.c.at < now - ATTEMPTS_KEPT))
        if not ok or row is None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
        return _principal(conn, row.id, "session")


_DUMMY_HASH: Final = _hasher.hash("not a password of anyone")


# ---- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    """The cookie value (only its SHA-256 is stored)."""
    csrf_token: str
    expires_at: dt.datetime


def start_session(engine: Engine, principal: Principal) -> Session:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    expires = now + SESSION_TTL
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(
            insert(web_sessions).values(
                id_hash=_digest(token),
                user_id=principal.user_id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )
    return Session(token, csrf, expires)


def resume_session(engine: Engine, token: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session; None when unknown, expired or idle."""
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(
            select(
                web_sessions.c.user_id,
                web_sessions.c.csrf_token,
                web_sessions.c.expires_at,
                web_sessions.c.last_seen_at,
            ).where(web_sessions.c.id_hash == _digest(token))
        ).first()
        if row is None:
            return None
        if row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(token)))
            return None
        if now - row.last_seen_at > dt.timedelta(minutes=1):
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == _digest(token))
                .values(last_seen_at=now)
            )
        principal = _principal(conn, row.user_id, "session")
    return None if principal is None else (principal, row.csrf_token)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(token)))


# ---- API tokens ---------------------------------------------------------------------------------


def create_api_token(
    engine: Engine, username: str, name: str, *, expires_at: dt.datetime | None = None
) -> str:
    """A new bearer token for ``username`` (shown once; only its SHA-256 is stored)."""
    token = "bp_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if user_id is None:
            raise NotFound(f"no user {username!r}")
        conn.execute(
            insert(api_tokens).values(
                token_hash=_digest(token),
                user_id=user_id,
                name=name,
                created_at=_now(),
                expires_at=expires_at,
                revoked=False,
            )
        )
    return token


def principal_for_token(engine: Engine, token: str) -> Principal | None:
    now = _now()
    with engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.user_id, api_tokens.c.expires_at, api_tokens.c.revoked).where(
                api_tokens.c.token_hash == _digest(token)
            )
        ).first()
        if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
            return None
        return _principal(conn, row.user_id, "token")


def revoke_api_tokens(engine: Engine, username: str) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.user_id
                    == select(users.c.id).where(users.c.username == username).scalar_subquery()
                )
                .values(revoked=True)
            ).rowcount
        )


# ---- audit --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    username: str | None
    role: str | None
    action: str
    patient_source: str | None
    patient_id: str | None
    hospital_id: str | None
    client: str | None
    outcome: str
    detail: str | None


def audit(
    engine: Engine,
    principal: Principal | None,
    action: str,
    *,
    client: str | None,
    patient: tuple[str, str] | None = None,
    hospital: str | None = None,
    outcome: str = "ok",
    username: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row to the audit log."""
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log).values(
                at=_now(),
                user_id=principal.user_id if principal else None,
                username=principal.username if principal else username,
                role=principal.role.value if principal else None,
                action=action,
                patient_source=patient[0] if patient else None,
                patient_id=patient[1] if patient else None,
                hospital_id=hospital,
                client=(client or "")[:64] or None,
                outcome=outcome,
                detail=detail,
            )
        )


def audit_many(
    engine: Engine,
    principal: Principal,
    action: str,
    patients: Sequence[tuple[str, str, str | None]],
    *,
    client: str | None,
) -> None:
    """One audit row per patient (source, id, hospital) in one transaction (exports, imports)."""
    if not patients:
        return
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log),
            [
                {
                    "at": now,
                    "user_id": principal.user_id,
                    "username": principal.username,
                    "role": principal.role.value,
                    "action": action,
                    "patient_source": source,
                    "patient_id": patient_id,
                    "hospital_id": hospital,
                    "client": (client or "")[:64] or None,
                    "outcome": "ok",
                }
                for source, patient_id, hospital in patients
            ],
        )


def read_audit(
    engine: Engine,
    *,
    limit: int = 200,
    before_id: int | None = None,
    username: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """The newest audit rows first (``before_id`` pages back)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if username:
        query = query.where(audit_log.c.username == username)
    if patient_id:
        query = query.where(audit_log.c.patient_id == patient_id)
    if action:
        query = query.where(audit_log.c.action == action)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        AuditEntry(
            id=row["id"],
            at=row["at"],
            username=row["username"],
            role=row["role"],
            action=row["action"],
            patient_source=row["patient_source"],
            patient_id=row["patient_id"],
            hospital_id=row["hospital_id"],
            client=row["client"],
            outcome=row["outcome"],
            detail=row["detail"],
        )
        for row in rows
    ]


# ---- JWT ids (CDS Hooks replay protection) -----------------------------------------------------


def first_use_of_jwt(
    engine: Engine, iss: str, jti: str, expires_at: dt.datetime, *, now: dt.datetime | None = None
) -> bool:
    """Record the ``jti`` of issuer ``iss`` until ``expires_at``; False when it is already
    recorded (a replay). Ids whose time is over are forgotten on the way (the JWT itself is
    refused by then: its ``exp`` has passed)."""
    moment = now or _now()
    try:
        with engine.begin() as conn:
            conn.execute(delete(jwt_ids).where(jwt_ids.c.expires_at < moment))
            conn.execute(insert(jwt_ids).values(iss=iss, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True
