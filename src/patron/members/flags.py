"""Abuse flags: a member an abuse control caught is flagged, never silently.

:func:`flag_member` writes a ``member_flags`` row with the reason and the figures that tripped
the control, sets ``members.flagged_at`` (so ``GET /members?flagged=true`` lists them and
``GET /members/{id}`` shows it) and emits ``members.flagged``, in the caller's unit of work;
with ``block`` it also blocks the member (``blocked_reason`` names the flag). A member already
flagged is not flagged again until staff clear the flag (:func:`clear_flags`). A flag never
changes a balance: no ledger entry, lot or counter is written here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit
from patron.members.errors import MemberNotFoundError
from patron.members.events import MemberFlagged
from patron.members.models import Member, MemberFlag, MemberStatus
from patron.members.schemas import Flag


async def flag_member(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    reason: str,
    details: dict[str, int],
    block: bool,
    now: datetime,
) -> Flag | None:
    """Flag the member (see the module docstring); ``None`` when they are flagged already.
    The caller holds the member's account lock, so two flaggings of one member serialise."""
    member = await session.get(Member, member_id, populate_existing=True)
    if member is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist", field="member_id", params={"member_id": member_id}
        )
    if member.flagged_at is not None:
        return None
    blocked = block and member.status is MemberStatus.ACTIVE
    flag = MemberFlag(
        program_id=program_id,
        member_id=member_id,
        reason=reason,
        details=dict(details),
        blocked=blocked,
        created_at=now,
    )
    session.add(flag)
    member.flagged_at = now
    member.updated_at = now
    if blocked:
        member.status = MemberStatus.BLOCKED
        member.blocked_reason = f"abuse flag: {reason}"
    await session.flush()
    event = MemberFlagged(
        member_id=member_id, flag_id=flag.id, reason=reason, details=details, blocked=blocked
    )
    await emit(session, event, program_id=program_id, occurred_at=now)
    return Flag.model_validate(flag)


async def open_flags(session: AsyncSession, *, member_id: int) -> list[Flag]:
    """The member's flags not cleared yet, newest first."""
    rows = await session.scalars(
        select(MemberFlag)
        .where(MemberFlag.member_id == member_id, MemberFlag.cleared_at.is_(None))
        .order_by(MemberFlag.id.desc())
    )
    return [Flag.model_validate(row) for row in rows]


async def clear_flags(session: AsyncSession, *, member_id: int, now: datetime) -> int:
    """Clear the member's open flags (idempotent: the number cleared, 0 when none was open).
    A member blocked for a flag stays blocked until unblocked on its own."""
    member = await session.get(Member, member_id, populate_existing=True)
    if member is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist", field="member_id", params={"member_id": member_id}
        )
    cleared = await session.execute(
        update(MemberFlag)
        .where(MemberFlag.member_id == member_id, MemberFlag.cleared_at.is_(None))
        .values(cleared_at=now)
    )
    if member.flagged_at is not None:
        member.flagged_at = None
        member.updated_at = now
        await session.flush()
    return int(getattr(cleared, "rowcount", 0) or 0)
