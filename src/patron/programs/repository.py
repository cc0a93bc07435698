"""All queries of the programs domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, raw_of
from patron.programs.models import ProgramRecord, ProgramVersion

# the active version of program $1: (program_id, version, checksum); a statement that reads
# more at once embeds it (purchases.group_lock)
ACTIVE_REFERENCE_QUERY = (
    "SELECT v.program_id, v.version, v.checksum FROM program_versions v "
    "JOIN programs p ON p.id = v.program_id WHERE p.key = $1 AND v.is_active"
)
_ACTIVE_REFERENCE = Sql(ACTIVE_REFERENCE_QUERY)
_KEY_OF = Sql("SELECT key FROM programs WHERE id = $1")


class ProgramRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_key(self, key: str, *, for_update: bool = False) -> ProgramRecord | None:
        """``for_update`` locks the row on PostgreSQL; SQLite writers are already serialised
        by the unit of work's ``BEGIN IMMEDIATE``."""
        query = select(ProgramRecord).where(ProgramRecord.key == key)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def create(self, *, key: str, name: str, now: datetime) -> ProgramRecord:
        record = ProgramRecord(key=key, name=name, created_at=now)
        self.session.add(record)
        await self.session.flush()
        return record

    async def active_version(self, program_id: int) -> ProgramVersion | None:
        query = select(ProgramVersion).where(
            ProgramVersion.program_id == program_id, ProgramVersion.is_active.is_(True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def active_reference(self, key: str) -> tuple[int, int, str] | None:
        """``(program_id, version, checksum)`` of the active version: one small row.

        The hot path of every request, so it goes straight to the driver
        (:mod:`patron.kit.raw`).
        """
        row = await (await raw_of(self.session)).one(_ACTIVE_REFERENCE, key)
        return None if row is None else (row[0], row[1], row[2])

    async def key_of(self, program_id: int) -> str | None:
        """The key of the program ``program_id`` (raw: the dispatcher asks every batch)."""
        row = await (await raw_of(self.session)).one(_KEY_OF, program_id)
        return None if row is None else str(row[0])

    async def active_keys(self) -> list[str]:
        query = (
            select(ProgramRecord.key)
            .join(ProgramVersion, ProgramVersion.program_id == ProgramRecord.id)
            .where(ProgramVersion.is_active.is_(True))
            .order_by(ProgramRecord.key)
        )
        return list((await self.session.execute(query)).scalars())

    async def version_checksum(self, program_id: int, version: int) -> str | None:
        query = select(ProgramVersion.checksum).where(
            ProgramVersion.program_id == program_id, ProgramVersion.version == version
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def document(self, program_id: int, version: int) -> dict[str, Any]:
        query = select(ProgramVersion.document).where(
            ProgramVersion.program_id == program_id, ProgramVersion.version == version
        )
        document: dict[str, Any] = (await self.session.execute(query)).scalar_one()
        return document

    async def next_version_number(self, program_id: int) -> int:
        query = select(func.coalesce(func.max(ProgramVersion.version), 0)).where(
            ProgramVersion.program_id == program_id
        )
        return int((await self.session.execute(query)).scalar_one()) + 1

    async def deactivate_versions(self, program_id: int) -> None:
        """Before a new version becomes active (the partial unique index allows only one)."""
        await self.session.execute(
            update(ProgramVersion)
            .where(ProgramVersion.program_id == program_id, ProgramVersion.is_active.is_(True))
            .values(is_active=False)
        )

    async def add_version(self, version: ProgramVersion) -> ProgramVersion:
        self.session.add(version)
        await self.session.flush()
        return version

    async def list_versions(self, program_id: int) -> list[dict[str, Any]]:
        """Newest first, without the (large) source and document."""
        query = (
            select(
                ProgramVersion.version,
                ProgramVersion.checksum,
                ProgramVersion.is_active,
                ProgramVersion.created_at,
                ProgramVersion.created_by,
            )
            .where(ProgramVersion.program_id == program_id)
            .order_by(ProgramVersion.version.desc())
        )
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def get_version(self, program_id: int, version: int) -> ProgramVersion | None:
        query = select(ProgramVersion).where(
            ProgramVersion.program_id == program_id, ProgramVersion.version == version
        )
        return (await self.session.execute(query)).scalar_one_or_none()
