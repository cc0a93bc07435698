"""All queries of the members domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.members.models import (
    ConsentChannel,
    ConsentEvent,
    Member,
    MemberConsent,
    MemberStatus,
)


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: int, *, for_update: bool = False) -> Member | None:
        """``for_update`` is :func:`lock_member_for_update`: it serialises changes to one
        member on PostgreSQL (SQLite writers are serialised by ``BEGIN IMMEDIATE``)."""
        query = select(Member).where(Member.id == member_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def lock_member_for_update(self, member_id: int) -> Member | None:
        return await self.get(member_id, for_update=True)

    async def state(
        self, program_id: int, member_id: int | None, external_id: str | None
    ) -> tuple[int, MemberStatus, str | None] | None:
        """``(id, status, tier_id)`` of one member of the program: the hot path's lookup."""
        query = select(Member.id, Member.status, Member.tier_id).where(
            Member.program_id == program_id
        )
        if member_id is not None:
            query = query.where(Member.id == member_id)
        else:
            query = query.where(Member.external_id == external_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def get_by_external_id(self, program_id: int, external_id: str) -> Member | None:
        query = select(Member).where(
            Member.program_id == program_id, Member.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def try_insert(self, member: Member) -> IntegrityError | None:
        """Insert inside a savepoint; a unique or foreign-key violation is returned (and only
        the savepoint is rolled back) so that the caller can tell which one it was."""
        try:
            async with self.session.begin_nested():
                self.session.add(member)
                await self.session.flush()
        except IntegrityError as error:
            return error
        return None

    async def referral_code_exists(self, code: str) -> bool:
        query = select(exists().where(Member.referral_code == code))
        return bool((await self.session.execute(query)).scalar_one())

    async def consents(self, member_ids: Sequence[int]) -> dict[int, list[MemberConsent]]:
        """Consents of several members in one query, each list in channel order."""
        found: dict[int, list[MemberConsent]] = {member_id: [] for member_id in member_ids}
        if not member_ids:
            return found
        query = (
            select(MemberConsent)
            .where(MemberConsent.member_id.in_(member_ids))
            .order_by(MemberConsent.member_id, MemberConsent.channel)
        )
        for consent in (await self.session.execute(query)).scalars():
            found[consent.member_id].append(consent)
        return found

    async def get_consent(self, member_id: int, channel: ConsentChannel) -> MemberConsent | None:
        query = select(MemberConsent).where(
            MemberConsent.member_id == member_id, MemberConsent.channel == channel
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add_consent(self, consent: MemberConsent, event: ConsentEvent) -> None:
        self.session.add_all([consent, event])
        await self.session.flush()

    async def add_event(self, event: ConsentEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def consent_events(self, member_id: int) -> list[ConsentEvent]:
        query = (
            select(ConsentEvent)
            .where(ConsentEvent.member_id == member_id)
            .order_by(ConsentEvent.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def page(
        self, program_id: int, *, after: int | None, limit: int, status: MemberStatus | None
    ) -> list[Member]:
        """Up to ``limit`` members with ``id > after``, in id order (keyset pagination)."""
        query = select(Member).where(Member.program_id == program_id)
        if after is not None:
            query = query.where(Member.id > after)
        if status is not None:
            query = query.where(Member.status == status)
        query = query.order_by(Member.id).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def flush(self) -> None:
        await self.session.flush()
