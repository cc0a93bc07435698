"""API keys: creation (the key is returned once), authentication, revocation.

Keys are 256-bit random tokens, so a plain SHA-256 is a sound at-rest hash (no password
stretching needed). Authentication results are cached in-process for ``CACHE_SECONDS`` so the
purchase hot path does not pay a query per request. A revocation empties the caches of every
server process at once (:mod:`patron.access.revocation`); a key past its ``expires_at`` is
refused, cached or not. ``last_used_at`` is written when a process (re)reads a key, so it is
at most ``CACHE_SECONDS`` behind per process.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.errors import ApiKeyInvalidError, ApiKeyNotFoundError
from patron.access.models import ApiKey, Role
from patron.access.repository import ApiKeyRepository
from patron.access.revocation import Watch, announce
from patron.access.schemas import CreatedKey, Principal
from patron.kit.errors import InvalidInputError
from patron.kit.ids import random_token, sha256_hex
from patron.kit.time import utcnow

KEY_PREFIX = "ptr_"
CACHE_SECONDS = 30.0
# key hash -> (monotonic deadline of the entry, the principal, the key's expiry)
_cache: dict[str, tuple[float, Principal, datetime | None]] = {}
_watch: Watch | None = None


def install_watch(watch: Watch | None) -> None:
    """The process's revocation watch (the server installs one at its start)."""
    global _watch
    _watch = watch
    _cache.clear()


def clear_cache() -> None:
    _cache.clear()


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    role: Role,
    now: datetime,
    expires_at: datetime | None = None,
    partner_id: str | None = None,
) -> CreatedKey:
    """A new key; a ``partner`` key names the partner it acts for (``partner_id``, checked
    against the program by the caller), no other key does."""
    if expires_at is not None and expires_at <= now:
        raise InvalidInputError("expires_at must be in the future", field="expires_at")
    if (role is Role.PARTNER) != (partner_id is not None):
        raise InvalidInputError(
            "a partner key names its partner, and only a partner key does", field="partner_id"
        )
    secret = KEY_PREFIX + random_token(32)
    key = await ApiKeyRepository(session).add(
        ApiKey(
            name=name,
            role=role,
            key_hash=sha256_hex(secret),
            prefix=secret[:10],
            created_at=now,
            expires_at=expires_at,
            partner_id=partner_id,
        )
    )
    return CreatedKey(
        id=key.id,
        name=key.name,
        role=key.role,
        key=secret,
        expires_at=expires_at,
        partner_id=partner_id,
    )


def cached_principal(secret: str) -> Principal | None:
    """The principal of ``secret`` if this process authenticated it within ``CACHE_SECONDS``
    and no revocation came since (no query: callers skip opening a unit of work), else
    ``None``."""
    if _watch is not None and not _watch.cache_trusted():
        return None
    cached = _cache.get(sha256_hex(secret))
    if cached is None or cached[0] <= time.monotonic():
        return None
    if cached[2] is not None and cached[2] <= utcnow():
        return None
    return cached[1]


async def authenticate(session: AsyncSession, *, secret: str) -> Principal:
    """The key's principal: ``invalid_api_key`` for an unknown, revoked or expired key."""
    known = cached_principal(secret)
    if known is not None:
        return known
    digest = sha256_hex(secret)
    key = await ApiKeyRepository(session).by_hash(digest)
    if key is None or key.revoked_at is not None:
        _cache.pop(digest, None)
        raise ApiKeyInvalidError("the API key is unknown or revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        _cache.pop(digest, None)
        raise ApiKeyInvalidError("the API key has expired")
    principal = Principal(key_id=key.id, name=key.name, role=key.role, partner_id=key.partner_id)
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, principal, key.expires_at)
    return principal


async def note_use(session: AsyncSession, *, key_id: int, now: datetime) -> None:
    """Record that the key was used (at most once a minute)."""
    await ApiKeyRepository(session).note_use(key_id, now)


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return await ApiKeyRepository(session).all()


async def revoke_key(session: AsyncSession, *, key_id: int, now: datetime) -> bool:
    """Revoke the key, in every process at once once the unit of work commits; ``False`` for
    a key revoked before (nothing changes), ``api_key_not_found`` for none."""
    repository = ApiKeyRepository(session)
    if await repository.revoke(key_id, now) == 0:
        if await repository.get(key_id) is None:
            raise ApiKeyNotFoundError(
                f"no API key with id {key_id}", field="key_id", params={"key_id": key_id}
            )
        return False
    await announce(session, key_id)
    _cache.clear()
    return True


async def lock_key(session: AsyncSession, key_id: int) -> None:
    """Lock the key's row for the unit of work (a cap per key holds under concurrency on
    PostgreSQL; SQLite writers are serialised)."""
    await ApiKeyRepository(session).lock(key_id)
