"""Accounts, sessions, API tokens, login attempts and the append-only audit log.

The tables live on the shared :data:`bonepath.store.schema.metadata` (migration ``0002``);
this module is also their repository. It knows nothing of HTTP: the web layer
(:mod:`bonepath.api`) turns a session cookie or a bearer token into a :class:`Principal`
with these functions, and the CLI (``bonepath user ...``) creates users with them.

- Passwords are hashed with argon2id (``argon2-cffi`` defaults); only the hash is stored.
- Session ids and API tokens are random (256 bits); only their SHA-256 is stored, so a copy
  of the database does not hand out sessions.
- ``audit_log`` is append-only: the migrations install triggers that refuse ``UPDATE``,
  ``DELETE``, ``TRUNCATE`` (PostgreSQL) and ``INSERT OR REPLACE`` (SQLite); docs/security.md
  says what an operator can still do. A row names who (user, role), what (action),
  which patient (source, id, hospital), when (UTC) and from where (client address); never
  patient data.
- Hospital grants: a user sees the patients of the hospitals granted to them; the grant
  ``*`` (regional roles) means every hospital, patients without a hospital included.
"""

from __future__ import annotations

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
    and_,
    case,
    delete,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bonepath.errors import InputError, NotFound, StoreError
from bonepath.store.sqltypes import UtcDateTime, metadata

ALL_HOSPITALS: Final = "*"
"""The grant that sees every hospital (regional roles)."""


class Role(StrEnum):
    CLINICIAN = "clinician"
    NURSE = "nurse"
    MDT_COORDINATOR = "mdt_coordinator"
    QUALITY_MANAGER = "quality_manager"
    ADMIN = "admin"
    RADIOLOGIST = "radiologist"


class Permission(StrEnum):
    READ_PATIENTS = "read_patients"
    WRITE_EVENTS = "write_events"
    OVERRIDE_SAFETY = "override_safety"
    IMPORT = "import"
    EXPORT = "export"
    QUALITY = "quality"
    ADMIN = "admin"
    REVIEW_IMAGES = "review_images"


ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_PATIENTS,
            Permission.WRITE_EVENTS,
            Permission.OVERRIDE_SAFETY,
            Permission.IMPORT,
            Permission.EXPORT,
            Permission.REVIEW_IMAGES,
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
    Role.RADIOLOGIST: frozenset({Permission.READ_PATIENTS, Permission.REVIEW_IMAGES}),
}
"""What each role may do. Overriding a safety warning (a dose against the renal rule) is the
clinician's; nurses record what was given; quality managers read; admins manage and audit.
Marking a CT's bone window as read ("骨窗已阅", issue 17) is the clinician's and the
radiologist's; a radiologist otherwise reads."""

SESSION_TTL: Final = dt.timedelta(hours=8)
"""A session ends 8 hours after login (a working shift), or 30 minutes after its last use."""
SESSION_IDLE: Final = dt.timedelta(minutes=30)
THROTTLE_WINDOW: Final = dt.timedelta(minutes=15)
"""Failed logins are counted in windows of 15 minutes, from the first failure of a window."""
ACCOUNT_MAX_FAILURES: Final = 5
"""Failed logins of one user name within a window before that name is locked (one person's
typos lock only their own name)."""
ADDRESS_MAX_FAILURES: Final = 30
"""Failed logins from one client address within a window before that address is locked: a
ward behind one proxy shares it, so it is larger; a success does not reset it (spraying many
names from one address stays bounded)."""
THROTTLE_MAX_FAILURES: Final = ACCOUNT_MAX_FAILURES
TOKEN_TOUCH: Final = dt.timedelta(minutes=1)
"""``api_tokens.last_used_at`` is written at most once a minute per token."""

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
    Column("last_used_at", UtcDateTime()),
)

login_throttle: Final = Table(
    "login_throttle",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("key", String(64), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    Index(None, "window_start"),
)
"""Failed logins per ``account`` (the user name tried) and per ``address`` (the client) in the
window that began at ``window_start`` (migration ``0006``). A login reserves a failure on both
counters in one atomic ``UPDATE ... WHERE failures < max RETURNING`` before the password is
checked, so concurrent guesses cannot exceed the limit; a success gives the reservations back."""

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
"""Append-only: triggers refuse UPDATE and DELETE (``0002``), TRUNCATE on PostgreSQL and an
insert over an existing id (SQLite's ``INSERT OR REPLACE``) (``0006``). ``outcome``: ok,
denied, refused, failed, throttled. ``detail``: the rules and reason of a safety override, or
what a denied request asked for; never patient data otherwise. ``hospital_id`` of a denied row
is the hospital of the patient asked for (shown only to admins granted it)."""

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


def _user_id(conn: Any, username: str) -> int:
    user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if user_id is None:
        raise NotFound(f"no user {username!r}")
    return int(user_id)


def _end_credentials(conn: Any, user_id: int) -> None:
    """End the user's web sessions and revoke every API token (for good: enabling or a new
    password later issues nothing back)."""
    conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked.is_(False))
        .values(revoked=True)
    )


def set_password(engine: Engine, username: str, password: str) -> None:
    """A new password; ends the user's sessions and revokes their API tokens."""
    password_hash = hash_password(password)
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
        _end_credentials(conn, user_id)


def set_active(engine: Engine, username: str, active: bool) -> None:
    """Enable or disable a user. Disabling ends their sessions and revokes their API tokens;
    enabling revives neither (issue a new token with ``bonepath user token``)."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == user_id).values(active=active))
        if not active:
            _end_credentials(conn, user_id)


def set_role(engine: Engine, username: str, role: Role | str) -> None:
    """A new role for ``username``; their sessions end (the next page asks for a login with
    the new permissions) and their API tokens keep working with the new role."""
    try:
        chosen = Role(role)
    except ValueError:
        raise InputError(
            f"unknown role {role!r}; accepted: {', '.join(r.value for r in Role)}"
        ) from None
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == user_id).values(role=chosen.value))
        conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


def set_hospitals(engine: Engine, username: str, hospitals: Iterable[str]) -> None:
    """Replace the hospital grants of ``username`` (at least one; ``*`` for all)."""
    grants = sorted({h.strip() for h in hospitals if h.strip()})
    if not grants:
        raise InputError("grant at least one hospital id (or * for all)")
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(delete(user_hospitals).where(user_hospitals.c.user_id == user_id))
        conn.execute(
            insert(user_hospitals), [{"user_id": user_id, "hospital_id": h} for h in grants]
        )


def find_user(engine: Engine, username: str) -> UserInfo:
    """One user (``NotFound`` when there is none)."""
    for user in list_users(engine):
        if user.username == username:
            return user
    raise NotFound(f"no user {username!r}")


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


class ThrottleScope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


THROTTLE_LIMITS: Final[dict[ThrottleScope, int]] = {
    ThrottleScope.ACCOUNT: ACCOUNT_MAX_FAILURES,
    ThrottleScope.ADDRESS: ADDRESS_MAX_FAILURES,
}


@dataclass(frozen=True, slots=True)
class LoginLock:
    """A user name or client address locked until ``until`` (the end of its window)."""

    scope: ThrottleScope
    key: str
    failures: int
    until: dt.datetime


def _check_password(password_hash: str, password: str) -> bool:
    """argon2 verification; the one place a password is checked (tests count the calls)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _reserve(conn: Any, scope: ThrottleScope, key: str, now: dt.datetime) -> bool:
    """Count one failure for ``key`` ahead of the check, if it is under its limit: one atomic
    ``UPDATE ... WHERE failures < max`` (a row lock on PostgreSQL, the write lock on SQLite),
    so concurrent logins cannot all pass a limit they read before any was recorded."""
    since = now - THROTTLE_WINDOW
    row = login_throttle.c
    expired = row.window_start <= since
    for _ in range(3):  # the row may vanish under us (an admin lifting the lock)
        conn.execute(
            _insert_ignoring_conflict(conn).values(
                scope=scope.value, key=key, failures=0, window_start=now
            )
        )
        counted = conn.execute(
            update(login_throttle)
            .where(
                row.scope == scope.value,
                row.key == key,
                expired | (row.failures < THROTTLE_LIMITS[scope]),
            )
            .values(
                failures=case((expired, 1), else_=row.failures + 1),
                window_start=case((expired, now), else_=row.window_start),
            )
            .returning(row.failures)
        ).first()
        if counted is not None:
            return True
        exists = conn.execute(
            select(row.failures).where(row.scope == scope.value, row.key == key)
        ).first()
        if exists is not None:
            return False
    return False


def _give_back(conn: Any, scope: ThrottleScope, key: str) -> None:
    """Return a reservation: the attempt was not a failure."""
    row = login_throttle.c
    conn.execute(
        update(login_throttle)
        .where(row.scope == scope.value, row.key == key, row.failures > 0)
        .values(failures=row.failures - 1)
    )


def _insert_ignoring_conflict(conn: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return pg_insert(login_throttle).on_conflict_do_nothing()
    return sqlite_insert(login_throttle).on_conflict_do_nothing()


def authenticate(engine: Engine, username: str, password: str, client: str) -> Principal | None:
    """Check a password. None: wrong name or password (or a disabled user).

    Raises :class:`Throttled` when the user name has :data:`ACCOUNT_MAX_FAILURES` failures,
    or the client address :data:`ADDRESS_MAX_FAILURES`, in the current
    :data:`THROTTLE_WINDOW`; the password is then not checked, so guessing costs the same
    whatever the guess. A failure is reserved on both counters before the check (atomically,
    see :func:`_reserve`), so no number of concurrent requests checks more passwords than the
    limit; a success gives the address's reservation back and clears the name's counter,
    but does not clear the address's (a sprayer's own account cannot reset it).
    """
    now = _now()
    name = username.strip()[:64]
    address = client[:64]
    with engine.begin() as conn:
        if not _reserve(conn, ThrottleScope.ACCOUNT, name, now):
            raise Throttled("too many failed logins for this name; wait 15 minutes")
        if not _reserve(conn, ThrottleScope.ADDRESS, address, now):
            _give_back(conn, ThrottleScope.ACCOUNT, name)
            raise Throttled("too many failed logins from this address; wait 15 minutes")
        row = conn.execute(
            select(users.c.id, users.c.password_hash, users.c.active).where(
                users.c.username == name
            )
        ).first()
        if row is not None and not row.active:
            row = None
    # the reservations are committed: the slow argon2 check holds no lock
    if row is not None:
        ok = _check_password(row.password_hash, password)
    else:  # same work for an unknown name: no user enumeration by timing
        _check_password(_DUMMY_HASH, password)
        ok = False
    with engine.begin() as conn:
        if not ok or row is None:
            # windows that ended are forgotten on the way
            _forget_ended_windows(conn, now)
            return None
        conn.execute(
            delete(login_throttle).where(
                login_throttle.c.scope == ThrottleScope.ACCOUNT.value,
                login_throttle.c.key == name,
            )
        )
        _give_back(conn, ThrottleScope.ADDRESS, address)
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
        return _principal(conn, row.id, "session")


def _forget_ended_windows(conn: Any, now: dt.datetime) -> None:
    """Delete the counters whose window ended, skipping rows a login holds (never waits, so it
    cannot deadlock with a reservation)."""
    row = login_throttle.c
    ended = (
        select(row.scope, row.key)
        .where(row.window_start <= now - THROTTLE_WINDOW)
        .with_for_update(skip_locked=True)
    )
    conn.execute(delete(login_throttle).where(tuple_(row.scope, row.key).in_(ended)))


def list_login_locks(engine: Engine, *, now: dt.datetime | None = None) -> list[LoginLock]:
    """The user names and client addresses locked now, the latest lock first."""
    moment = now or _now()
    row = login_throttle.c
    locked = or_(
        *(
            (row.scope == scope.value) & (row.failures >= limit)
            for scope, limit in THROTTLE_LIMITS.items()
        )
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(row.scope, row.key, row.failures, row.window_start)
            .where(locked, row.window_start > moment - THROTTLE_WINDOW)
            .order_by(row.window_start.desc(), row.scope, row.key)
        ).all()
    return [
        LoginLock(ThrottleScope(scope), key, failures, start + THROTTLE_WINDOW)
        for scope, key, failures, start in rows
    ]


def lift_login_lock(engine: Engine, scope: ThrottleScope | str, key: str) -> bool:
    """Forget the failures of a user name (``account``) or client address (``address``);
    False when there were none."""
    try:
        chosen = ThrottleScope(scope)
    except ValueError:
        raise InputError(
            f"unknown lock scope {scope!r}; accepted: {', '.join(s.value for s in ThrottleScope)}"
        ) from None
    with engine.begin() as conn:
        lifted = conn.execute(
            delete(login_throttle).where(
                login_throttle.c.scope == chosen.value, login_throttle.c.key == key[:64]
            )
        ).rowcount
    return bool(lifted)


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


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed (never the token itself: only its SHA-256 is stored)."""

    id: int
    username: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked: bool

    def state(self, now: dt.datetime) -> str:
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def principal_for_token(engine: Engine, token: str) -> Principal | None:
    """The principal of a live token (not revoked, not expired, its user active); its use is
    recorded (``last_used_at``, at most once per :data:`TOKEN_TOUCH`)."""
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(
            select(
                api_tokens.c.id,
                api_tokens.c.user_id,
                api_tokens.c.expires_at,
                api_tokens.c.revoked,
                api_tokens.c.last_used_at,
            ).where(api_tokens.c.token_hash == _digest(token))
        ).first()
        if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
            return None
        principal = _principal(conn, row.user_id, "token")
        if principal is not None and (
            row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH
        ):
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now)
            )
        return principal


def list_api_tokens(engine: Engine, username: str | None = None) -> list[TokenInfo]:
    """The API tokens of ``username`` (every user's when None), oldest first."""
    query = (
        select(
            api_tokens.c.id,
            users.c.username,
            api_tokens.c.name,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.expires_at,
            api_tokens.c.revoked,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    with engine.connect() as conn:
        if username is not None:
            query = query.where(api_tokens.c.user_id == _user_id(conn, username))
        rows = conn.execute(query).all()
    return [TokenInfo(*row[:-1], revoked=bool(row[-1])) for row in rows]


def revoke_api_tokens(engine: Engine, username: str, token_id: int | None = None) -> int:
    """Revoke every live token of ``username``, or the one numbered ``token_id``; returns how
    many were live. Raises ``NotFound`` for an unknown user or a token not theirs."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        where = [api_tokens.c.user_id == user_id]
        if token_id is not None:
            where.append(api_tokens.c.id == token_id)
            if conn.execute(select(api_tokens.c.id).where(*where)).first() is None:
                raise NotFound(f"no token {token_id} of {username!r}")
        return int(
            conn.execute(
                update(api_tokens)
                .where(*where, api_tokens.c.revoked.is_(False))
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
    patients: tuple[tuple[str, str, str | None], ...] = ()
    """The patients a list, search or export returned (source, id, hospital): one row per
    request names them all; a hospital admin sees only their hospitals' among them."""


LIST_DETAIL: Final = "patients:"
"""How the ``detail`` of a list row begins; each patient follows on its own line as
``hospital<TAB>source<TAB>id`` (ids hold no control characters, issue 13 item 12)."""


def _list_detail(patients: Sequence[tuple[str, str, str | None]]) -> str:
    return LIST_DETAIL + "".join(f"\n{h or ''}\t{s}\t{i}" for s, i, h in patients)


def _listed(detail: str | None) -> tuple[tuple[str, str, str | None], ...]:
    if not detail or not detail.startswith(LIST_DETAIL):
        return ()
    out = []
    for line in detail.split("\n")[1:]:
        hospital, _, rest = line.partition("\t")
        source, _, patient = rest.partition("\t")
        out.append((source, patient, hospital or None))
    return tuple(out)


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
    """One audit row for a request that returned many patients (a list, search, worklist page,
    export or import), naming every one of them (source, id, hospital) in ``detail``
    (:data:`LIST_DETAIL`); the row's hospital is theirs when they share one. A list that
    returned nobody is one row naming nobody."""
    unique = list(dict.fromkeys(patients))
    hospitals = {h for _s, _i, h in unique}
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log).values(
                at=_now(),
                user_id=principal.user_id,
                username=principal.username,
                role=principal.role.value,
                action=action,
                hospital_id=next(iter(hospitals)) if len(hospitals) == 1 else None,
                client=(client or "")[:64] or None,
                outcome="ok",
                detail=_list_detail(unique) if unique else None,
            )
        )


def _audit_visibility(viewer: Principal) -> Any:
    """What a hospital admin may read: the rows about patients of their hospitals, and the
    rows of their colleagues (users granted one of those hospitals) that name no granted
    patient: logins, lists, and denied requests (what was asked; its hospital is hidden)."""
    granted = tuple(sorted(viewer.hospitals))
    colleagues = (
        select(users.c.username)
        .join(user_hospitals, user_hospitals.c.user_id == users.c.id)
        .where(user_hospitals.c.hospital_id.in_(granted))
    )
    row = audit_log.c
    return or_(
        row.hospital_id.in_(granted),
        and_(
            row.username.in_(colleagues),
            or_(row.hospital_id.is_(None), row.outcome == "denied"),
        ),
    )


def read_audit(
    engine: Engine,
    *,
    viewer: Principal | None = None,
    limit: int = 200,
    before_id: int | None = None,
    username: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    hospital: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[AuditEntry]:
    """The newest audit rows first (``before_id`` pages back).

    ``viewer``: the admin reading; unless granted every hospital they read only what
    :func:`_audit_visibility` allows, and a hospital not granted to them reads as None (and
    the patients of such hospitals are left out of a list row). None (the operator's CLI,
    tests): every row. ``patient_id`` finds the rows about that patient and the list rows
    naming them; ``action`` is an action or its prefix ending in ``.`` (``worklist.``);
    ``since`` (inclusive) and ``until`` (exclusive) bound the time.
    """
    row = audit_log.c
    query = select(audit_log).order_by(row.id.desc()).limit(limit)
    if viewer is not None and not viewer.all_hospitals:
        query = query.where(_audit_visibility(viewer))
    if before_id is not None:
        query = query.where(row.id < before_id)
    if username:
        query = query.where(row.username == username)
    if patient_id:
        escaped = patient_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                row.patient_id == patient_id,
                (row.detail + "\n").like(f"{LIST_DETAIL}%\t{escaped}\n%", escape="\\"),
            )
        )
    if action:
        if action.endswith("."):
            query = query.where(row.action.startswith(action, autoescape=True))
        else:
            query = query.where(row.action == action)
    if outcome:
        query = query.where(row.outcome == outcome)
    if hospital:
        query = query.where(row.hospital_id == hospital)
    if since is not None:
        query = query.where(row.at >= since)
    if until is not None:
        query = query.where(row.at < until)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_entry(row, viewer) for row in rows]


def _entry(row: Any, viewer: Principal | None) -> AuditEntry:
    listed = _listed(row["detail"])
    if listed and viewer is not None:
        listed = tuple(p for p in listed if viewer.sees(p[2]))
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        username=row["username"],
        role=row["role"],
        action=row["action"],
        patient_source=row["patient_source"],
        patient_id=row["patient_id"],
        hospital_id=(
            row["hospital_id"]
            if viewer is None or viewer.sees(row["hospital_id"]) or row["hospital_id"] is None
            else None
        ),
        client=row["client"],
        outcome=row["outcome"],
        detail=None if listed or _listed(row["detail"]) else row["detail"],
        patients=listed,
    )


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
