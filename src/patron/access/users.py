"""Console users: creation, listing, disabling, login and sessions.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults: 64 MiB, 3 passes, 4 lanes;
a hash made with older parameters is replaced at the next login). Hashing takes tens of
milliseconds of CPU, so it runs in a worker thread, never in the event loop. A login that
names no user, a disabled user or the wrong password fails alike, and costs the same: an
unknown email is checked against a stand-in hash.

A session is a random 256-bit token held by the browser; the database keeps its SHA-256,
its CSRF token and its expiry (:data:`SESSION_HOURS`). Logging out deletes the row;
disabling a user deletes all of theirs.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.errors import (
    InvalidEmailError,
    LoginFailedError,
    PasswordTooShortError,
    UserExistsError,
    UserNotFoundError,
)
from patron.access.models import Role, User, UserSession
from patron.access.repository import UserRepository
from patron.access.schemas import ConsoleSession, UserRead
from patron.kit.ids import random_token, sha256_hex
from patron.kit.text import ascii_digits

SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")
_HASHER = PasswordHasher()
_STAND_IN_HASH: str | None = None


def normalise_email(email: str) -> str:
    """``email`` trimmed and in lower case, or :class:`InvalidEmailError`."""
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.fullmatch(cleaned):
        raise InvalidEmailError(
            f"{email!r} is not an email address", field="email", params={"email": email}
        )
    return cleaned


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShortError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
            params={"least": MIN_PASSWORD_LENGTH},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooShortError(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
            field="password",
            params={"most": MAX_PASSWORD_LENGTH},
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def _read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        role=user.role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        last_login_at=user.last_login_at,
    )


async def create_user(
    session: AsyncSession, *, email: str, role: Role, password: str, now: datetime
) -> UserRead:
    """A new active user; 409 ``user_exists`` when the email is taken."""
    address = normalise_email(email)
    check_password(password)
    repository = UserRepository(session)
    if await repository.by_email(address) is not None:
        raise UserExistsError(
            f"a user with email {address} exists", field="email", params={"email": address}
        )
    user = await repository.add(
        User(
            email=address,
            role=role,
            password_hash=await hash_password(password),
            created_at=now,
        )
    )
    return _read(user)


async def list_users(session: AsyncSession) -> list[UserRead]:
    return [_read(user) for user in await UserRepository(session).all()]


async def find_user(session: AsyncSession, *, email_or_id: str) -> UserRead:
    """The user named by id (digits) or email."""
    repository = UserRepository(session)
    if ascii_digits(email_or_id):
        number = int(email_or_id)  # beyond a 64-bit id no row has it (the driver would fail)
        user = await repository.get(number) if number < 2**63 else None
    else:
        user = await repository.by_email(email_or_id.strip().lower())
    if user is None:
        raise UserNotFoundError(
            f"no user {email_or_id}", field="user", params={"user": email_or_id}
        )
    return _read(user)


async def disable_user(session: AsyncSession, *, user_id: int, now: datetime) -> UserRead:
    """Disable the user and end every session of theirs (disabling twice changes nothing)."""
    repository = UserRepository(session)
    user = await repository.get(user_id)
    if user is None:
        raise UserNotFoundError(
            f"no user with id {user_id}", field="user", params={"user_id": user_id}
        )
    if user.disabled_at is None:
        user.disabled_at = now
    await repository.delete_sessions_of(user.id)
    await session.flush()
    return _read(user)


async def enable_user(session: AsyncSession, *, user_id: int) -> UserRead:
    repository = UserRepository(session)
    user = await repository.get(user_id)
    if user is None:
        raise UserNotFoundError(
            f"no user with id {user_id}", field="user", params={"user_id": user_id}
        )
    user.disabled_at = None
    await session.flush()
    return _read(user)


async def _stand_in_hash() -> str:
    global _STAND_IN_HASH
    if _STAND_IN_HASH is None:
        _STAND_IN_HASH = await hash_password(random_token(16))
    return _STAND_IN_HASH


async def log_in(
    session: AsyncSession, *, email: str, password: str, now: datetime
) -> ConsoleSession:
    """Check the password and start a session (its ``token`` goes into the cookie), or
    :class:`LoginFailedError`."""
    repository = UserRepository(session)
    address = email.strip().lower()
    user = await repository.by_email(address) if len(address) <= 254 else None
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        await _verify(await _stand_in_hash(), password[:MAX_PASSWORD_LENGTH])
        raise LoginFailedError("the email or the password is wrong")
    if not await _verify(user.password_hash, password) or user.disabled_at is not None:
        raise LoginFailedError("the email or the password is wrong")
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = now
    await repository.delete_expired_sessions(now)
    token, csrf = random_token(32), random_token(32)
    expires_at = now + timedelta(hours=SESSION_HOURS)
    await repository.add_session(
        UserSession(
            user_id=user.id,
            token_hash=sha256_hex(token),
            csrf_token=csrf,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return ConsoleSession(user=_read(user), csrf_token=csrf, expires_at=expires_at, token=token)


async def current_session(
    session: AsyncSession, *, token: str, now: datetime
) -> ConsoleSession | None:
    """The live session of ``token``: ``None`` when unknown, expired or its user disabled."""
    if not token or len(token) > 200:
        return None
    found = await UserRepository(session).session_by_hash(sha256_hex(token))
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now or user.disabled_at is not None:
        return None
    return ConsoleSession(user=_read(user), csrf_token=row.csrf_token, expires_at=row.expires_at)


async def log_out(session: AsyncSession, *, token: str) -> None:
    if token:
        await UserRepository(session).delete_session(sha256_hex(token))
