"""API keys: creation (the key is returned once), authentication, revocation.

Keys are 256-bit random tokens, so a plain SHA-256 is a sound at-rest hash (no password
stretching needed). Authentication results are cached in-process for ``CACHE_SECONDS`` so the
purchase hot path does not pay a query per request; a revocation takes effect within that time
in other processes and at once in the one that revoked.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.errors import ApiKeyInvalidError, ApiKeyNotFoundError
from patron.access.models import ApiKey, Role
from patron.access.repository import ApiKeyRepository
from patron.access.schemas import CreatedKey, Principal
from patron.kit.ids import random_token, sha256_hex

KEY_PREFIX = "ptr_"
CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, Principal]] = {}


async def create_key(session: AsyncSession, *, name: str, role: Role, now: datetime) -> CreatedKey:
    secret = KEY_PREFIX + random_token(32)
    key = await ApiKeyRepository(session).add(
        ApiKey(
            name=name, role=role, key_hash=sha256_hex(secret), prefix=secret[:10], created_at=now
        )
    )
    return CreatedKey(id=key.id, name=key.name, role=key.role, key=secret)


def cached_principal(secret: str) -> Principal | None:
    """The principal of ``secret`` if this process authenticated it within ``CACHE_SECONDS``
    (no query: callers skip opening a unit of work), else ``None``."""
    cached = _cache.get(sha256_hex(secret))
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return None


async def authenticate(session: AsyncSession, *, secret: str) -> Principal:
    known = cached_principal(secret)
    if known is not None:
        return known
    digest = sha256_hex(secret)
    key = await ApiKeyRepository(session).by_hash(digest)
    if key is None or key.revoked_at is not None:
        _cache.pop(digest, None)
        raise ApiKeyInvalidError("the API key is unknown or revoked")
    principal = Principal(key_id=key.id, name=key.name, role=key.role)
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, principal)
    return principal


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return await ApiKeyRepository(session).all()


async def revoke_key(session: AsyncSession, *, key_id: int, now: datetime) -> None:
    if await ApiKeyRepository(session).revoke(key_id, now) == 0:
        raise ApiKeyNotFoundError(f"no active API key with id {key_id}", field="id")
    _cache.clear()


async def lock_key(session: AsyncSession, key_id: int) -> None:
    """Lock the key's row for the unit of work (a cap per key holds under concurrency on
    PostgreSQL; SQLite writers are serialised)."""
    await ApiKeyRepository(session).lock(key_id)
