from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.models import ApiKey, User, UserSession


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


class UserRepository:
    """Console users and their sessions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def all(self) -> list[User]:
        return list((await self.session.execute(select(User).order_by(User.id))).scalars())

    async def add_session(self, row: UserSession) -> None:
        self.session.add(row)
        await self.session.flush()

    async def session_by_hash(self, token_hash: str) -> tuple[UserSession, User] | None:
        result = await self.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == token_hash)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def delete_session(self, token_hash: str) -> int:
        result = await self.session.execute(
            delete(UserSession).where(UserSession.token_hash == token_hash)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_sessions_of(self, user_id: int) -> int:
        result = await self.session.execute(
            delete(UserSession).where(UserSession.user_id == user_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_expired_sessions(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(UserSession).where(UserSession.expires_at <= now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
