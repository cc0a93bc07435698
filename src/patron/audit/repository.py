"""All queries of the audit log: an insert and a keyset page (nothing updates or deletes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def page(
        self, *, before_id: int | None, limit: int, action: str | None, target: str | None
    ) -> list[AuditEntry]:
        """Up to ``limit`` rows with ``id < before_id``, newest first."""
        query = select(AuditEntry)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        query = query.order_by(AuditEntry.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())
