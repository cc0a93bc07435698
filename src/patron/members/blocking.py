"""Blocking a member (purchases, redemptions and wallet payments are then refused) and lifting
the block."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.members import models, schemas
from patron.members.events import MemberUnblocked
from patron.members.repository import MemberRepository
from patron.members.service import read_member, require_changeable


async def block_member(
    session: AsyncSession, *, member_id: int, reason: str, now: datetime
) -> schemas.Member:
    """Block a member (idempotent: blocking a blocked member changes nothing)."""
    if not reason.strip() or len(reason) > 500:
        raise InvalidInputError(
            "reason must be 1 to 500 characters",
            field="reason",
            params={"min_length": 1, "max_length": 500},
        )
    repository = MemberRepository(session)
    member = await require_changeable(repository, member_id)
    if member.status is not models.MemberStatus.BLOCKED:
        member.status = models.MemberStatus.BLOCKED
        member.blocked_reason = reason.strip()
        member.updated_at = now
        await repository.flush()
    return await read_member(repository, member)


async def unblock_member(session: AsyncSession, *, member_id: int, now: datetime) -> schemas.Member:
    """Unblock a member (idempotent); lifting a block emits ``members.unblocked`` (the
    cashback held meanwhile is then credited)."""
    repository = MemberRepository(session)
    member = await require_changeable(repository, member_id)
    if member.status is not models.MemberStatus.ACTIVE:
        # the cashback handler reads the status under this lock: a hold it writes is seen
        # by the release that follows this unblock, or it reads the member unblocked
        await ledger_service.lock_account_for_update(session, member.id)
        was_blocked = member.status is models.MemberStatus.BLOCKED
        member.status = models.MemberStatus.ACTIVE
        member.blocked_reason = None
        member.updated_at = now
        await repository.flush()
        if was_blocked:
            event = MemberUnblocked(member_id=member.id)
            await emit(session, event, program_id=member.program_id, occurred_at=now)
    return await read_member(repository, member)
