"""A member as the API shows it: the profile with the current tier and the points as of now."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger import service as ledger_service
from patron.members import service as member_service
from patron.members.flags import open_flags
from patron.members.schemas import Flag, Member


class Points(BaseModel):
    """Points as of ``as_of``: pending points whose time has come count as available and
    expired lots as expired, whether or not the daily job has run."""

    model_config = ConfigDict(frozen=True)

    available: int
    pending: int
    lifetime_earned: int
    redeemed: int
    expired: int
    debt: int


class MemberOverview(Member):
    """``flags``: the member's open abuse flags, newest first (empty unless ``flagged_at``)."""

    tier: str | None
    points: Points
    flags: list[Flag] = Field(default_factory=list)


async def overview_of(session: AsyncSession, member: Member, *, now: datetime) -> MemberOverview:
    balance = await ledger_service.balance(session, member_id=member.id, now=now)
    points = Points(
        available=balance.available,
        pending=balance.pending,
        lifetime_earned=balance.lifetime_earned,
        redeemed=balance.redeemed,
        expired=balance.expired,
        debt=balance.debt,
    )
    flags = await open_flags(session, member_id=member.id) if member.flagged_at else []
    return MemberOverview(**member.model_dump(), tier=member.tier_id, points=points, flags=flags)


async def member_overview(
    session: AsyncSession, *, member_id: int, now: datetime
) -> MemberOverview:
    member = await member_service.get_member(session, member_id=member_id)
    return await overview_of(session, member, now=now)


async def member_overview_by_external_id(
    session: AsyncSession, *, program_id: int, external_id: str, now: datetime
) -> MemberOverview:
    member = await member_service.get_member_by_external_id(
        session, program_id=program_id, external_id=external_id
    )
    return await overview_of(session, member, now=now)
