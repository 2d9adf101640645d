"""Personal accounts: people sign in to the console with their own identity, in a role that maps to the
API's scopes; passwords hashed with Argon2, failed logins counted per account and per client address
(lock-out), console sessions kept server-side so that disabling a person ends their sessions at once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.settings import SCOPES, Settings

from .tables import console_sessions, login_failures, users

ROLES: dict[str, frozenset[str]] = {
    "sales": frozenset({"mql:read", "decisions:write"}),
    "marketing": frozenset({"reports:read"}),  # funnel, policy, lab, suggestions
    "admin": frozenset(SCOPES),  # users, webhooks, audit, and everything the others see
}
EXPIRED_LINK = "this link is not valid: it was used already or expired; ask an admin for a new one"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """A refusal a person reads: says what happened and what to do. The message is the English (the CLI,
    the API); `code` and `params` say the same as data, for the console to word in the reader's language
    (console/refusals.py)."""

    def __init__(self, message: str, code: str = "", **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params


class UnknownRole(AccountError):
    pass


@dataclass(frozen=True, kw_only=True)
class User:
    user_id: str
    email: str
    role: str
    disabled: bool

    @property
    def scopes(self) -> frozenset[str]:
        return ROLES.get(self.role, frozenset())


def _user(row: Any) -> User:
    return User(user_id=row.user_id, email=row.email, role=row.role, disabled=row.disabled_at is not None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not local or not at or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError(f"{email[:254]!r} is not an email address", "not_an_email", email=email[:254])
    return email


async def add_user(
    session: AsyncSession, email: str, role: str, *, by: str, now: datetime, link_valid: timedelta
) -> tuple[User, str]:
    """A new account without a password, and the one-time token of its set-password link."""
    _known_role(role)
    email = normal_email(email)
    if await session.scalar(select(users.c.user_id).where(users.c.email == email)):
        raise AccountError(f"{email} already has an account", "already_has_account", email=email)
    token, user_id = secrets.token_urlsafe(32), str(uuid.uuid4())
    row = {
        "user_id": user_id,
        "email": email,
        "role": role,
        "set_password_hash": token_hash(token),
        "set_password_until": now + link_valid,
        "created_by": by,
        "created_at": now,
    }
    await session.execute(users.insert().values(**row))
    return User(user_id=user_id, email=email, role=role, disabled=False), token


async def new_link(
    session: AsyncSession, email: str, *, now: datetime, link_valid: timedelta
) -> tuple[User, str]:
    """A fresh one-time set-password link (the old password keeps working until it is used)."""
    user = await find_user(session, email)
    if user is None or user.disabled:
        who = email.strip()[:254]
        raise AccountError(f"no active account for {who!r}", "no_active_account", email=who)
    token = secrets.token_urlsafe(32)
    await session.execute(
        update(users)
        .where(users.c.user_id == user.user_id)
        .values(set_password_hash=token_hash(token), set_password_until=now + link_valid)
    )
    return user, token


async def list_users(session: AsyncSession) -> list[User]:
    return [_user(r) for r in await session.execute(select(users).order_by(users.c.email))]


async def find_user(session: AsyncSession, email: str) -> User | None:
    row = (await session.execute(select(users).where(users.c.email == email.strip().lower()))).first()
    return _user(row) if row else None


async def disable_user(session: AsyncSession, email: str, *, now: datetime) -> User:
    """Disabled, and every open session of theirs revoked in the same transaction."""
    user = await _existing(session, email)
    await session.execute(update(users).where(users.c.user_id == user.user_id).values(disabled_at=now))
    await revoke_sessions(session, user.user_id, now=now)
    return User(user_id=user.user_id, email=user.email, role=user.role, disabled=True)


async def enable_user(session: AsyncSession, email: str) -> User:
    """A disabled account active again: the password it had works again (or send a new link)."""
    user = await _existing(session, email)
    await session.execute(update(users).where(users.c.user_id == user.user_id).values(disabled_at=None))
    return User(user_id=user.user_id, email=user.email, role=user.role, disabled=False)


async def change_role(session: AsyncSession, email: str, role: str) -> tuple[User, str]:
    """The account with its new role, and the role it had. The role is read on every request: open
    sessions get the new role's pages and actions at once."""
    _known_role(role)
    user = await _existing(session, email)
    await session.execute(update(users).where(users.c.user_id == user.user_id).values(role=role))
    return User(user_id=user.user_id, email=user.email, role=role, disabled=user.disabled), user.role


async def _existing(session: AsyncSession, email: str) -> User:
    user = await find_user(session, email)
    if user is None:
        who = email.strip()[:254]
        raise AccountError(f"no account for {who!r}", "no_account", email=who)
    return user


def _known_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(
            f"unknown role {role!r}; roles: {', '.join(ROLES)}",
            "unknown_role",
            role=role[:40],
            roles=list(ROLES),
        )


async def set_password(session: AsyncSession, token: str, password: str, *, now: datetime) -> User:
    """Consumes a one-time link: the password is set and the link stops working."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"the password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            "password_length",
            least=MIN_PASSWORD,
            most=MAX_PASSWORD,
        )
    row = (
        await session.execute(
            select(users)
            .where(users.c.set_password_hash == token_hash(token), users.c.set_password_until > now)
            .with_for_update()
        )
    ).first()
    if row is None or row.disabled_at is not None:
        raise AccountError(EXPIRED_LINK, "link_expired")
    await session.execute(
        update(users)
        .where(users.c.user_id == row.user_id)
        .values(password_hash=_hasher.hash(password), set_password_hash=None, set_password_until=None)
    )
    await revoke_sessions(session, row.user_id, now=now)
    return _user(row)


async def link_email(session: AsyncSession, token: str, *, now: datetime) -> str | None:
    """Whose set-password link this is, while it is valid."""
    if not token:
        return None
    query = select(users.c.email).where(
        users.c.set_password_hash == token_hash(token), users.c.set_password_until > now
    )
    return await session.scalar(query)


@dataclass(frozen=True)
class Throttle:
    window: timedelta
    per_account: int
    per_address: int

    @classmethod
    def of(cls, settings: Settings) -> Throttle:
        return cls(
            timedelta(seconds=settings.login_window_s),
            settings.login_max_failures,
            settings.login_max_failures_per_address,
        )


class LockedOut(AccountError):
    pass


async def authenticate(
    session: AsyncSession, email: str, password: str, *, address: str, throttle: Throttle, now: datetime
) -> User | None:
    """The user if the password is theirs; None if not (the failure counted); LockedOut past the limits,
    checked before the password so a locked account cannot be probed."""
    email = email.strip().lower()[:254]
    since = now - throttle.window
    failures = select(func.count()).select_from(login_failures).where(login_failures.c.at > since)
    by_address = await session.scalar(failures.where(login_failures.c.address == address))
    if (by_address or 0) >= throttle.per_address:
        minutes = _minutes(throttle.window)
        raise LockedOut(
            f"Too many failed logins from your address. Wait {minutes} minutes before trying again.",
            "locked_address",
            minutes=minutes,
        )
    by_account = await session.scalar(failures.where(login_failures.c.email == email))
    if (by_account or 0) >= throttle.per_account:
        minutes = _minutes(throttle.window)
        raise LockedOut(
            f"This account is locked after {throttle.per_account} failed logins. Wait "
            f"{minutes} minutes, or ask an admin to send you a new set-password link.",
            "locked_account",
            failures=throttle.per_account,
            minutes=minutes,
        )
    row = (await session.execute(select(users).where(users.c.email == email))).first()
    stored = row.password_hash if row is not None and row.disabled_at is None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD])
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        await session.execute(login_failures.insert().values(email=email, address=address, at=now))
        return None
    return _user(row)


def _minutes(window: timedelta) -> int:
    return max(1, round(window.total_seconds() / 60))


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings: Settings) -> SessionLimits:
        return cls(timedelta(seconds=settings.session_idle_s), timedelta(seconds=settings.session_absolute_s))


async def open_session(session: AsyncSession, user: User, *, address: str, now: datetime) -> str:
    """A new console session; its id (only its hash is stored) goes into the signed cookie."""
    session_id = secrets.token_urlsafe(32)
    await session.execute(
        console_sessions.insert().values(
            session_hash=token_hash(session_id),
            user_id=user.user_id,
            address=address,
            created_at=now,
            last_seen_at=now,
        )
    )
    return session_id


async def resume_session(
    session: AsyncSession, session_id: str, *, limits: SessionLimits, now: datetime
) -> User | None:
    """The session's user, if it is open, within both timeouts, and the user enabled; touches it."""
    query = (
        select(users, console_sessions.c.created_at, console_sessions.c.last_seen_at)
        .join(users, users.c.user_id == console_sessions.c.user_id)
        .where(
            console_sessions.c.session_hash == token_hash(session_id),
            console_sessions.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
            console_sessions.c.created_at > now - limits.absolute,
            console_sessions.c.last_seen_at > now - limits.idle,
        )
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    await session.execute(
        update(console_sessions)
        .where(console_sessions.c.session_hash == token_hash(session_id))
        .values(last_seen_at=now)
    )
    return _user(row)


async def close_session(session: AsyncSession, session_id: str, *, now: datetime) -> None:
    await session.execute(
        update(console_sessions)
        .where(console_sessions.c.session_hash == token_hash(session_id))
        .where(console_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_sessions(session: AsyncSession, user_id: str, *, now: datetime) -> int:
    """Logout everywhere: every open session of the user ends."""
    result = await session.execute(
        update(console_sessions)
        .where(console_sessions.c.user_id == user_id, console_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
