from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.models import ApiKey


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        result = await self.session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
        return result.scalar_one_or_none()

    async def lock(self, key_id: int) -> None:
        await self.session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())

    async def get(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def note_use(self, key_id: int, now: datetime) -> None:
        await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < now - timedelta(minutes=1)),
            )
            .values(last_used_at=now)
        )

    async def all(self) -> list[ApiKey]:
        return list((await self.session.execute(select(ApiKey).order_by(ApiKey.id))).scalars())

    async def revoke(self, key_id: int, now: object) -> int:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
