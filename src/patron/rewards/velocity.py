"""The redemption velocity limit (the program's ``abuse.max_redemptions_per_hour``,
docs/security.md, "Abuse controls"): a member spends points at most that many times in any
60 minutes, counting both the coupons redeemed with points and the payments with points at a
coalition partner (ledger entries of source ``partner_burn``, docs/partners.md). The caller
holds the member's account lock, so concurrent redemptions count each other."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.models import LedgerEntry
from patron.ledger.sources import LedgerSource
from patron.members.errors import VelocityExceededError
from patron.programs.schemas import ActiveProgram
from patron.rewards.models import Coupon

HOUR = timedelta(hours=1)


async def check_redemption_velocity(
    session: AsyncSession, *, active: ActiveProgram, member_id: int, now: datetime
) -> None:
    """429 ``velocity_exceeded`` (field ``abuse.max_redemptions_per_hour``) when the member
    already spent points that many times in the last 60 minutes; a replayed request was
    answered before this is called."""
    limit = active.program.abuse.max_redemptions_per_hour
    if limit is None:
        return
    since = now - HOUR
    coupons = select(Coupon.id).where(
        Coupon.member_id == member_id,
        Coupon.issued_at > since,
        Coupon.redeem_entry_id.is_not(None),
    )
    payments = select(LedgerEntry.id).where(
        LedgerEntry.member_id == member_id,
        LedgerEntry.source_type == LedgerSource.PARTNER_BURN.value,
        LedgerEntry.created_at > since,
    )
    counted = 0
    for recent in (coupons, payments):
        found = await session.scalar(
            select(func.count()).select_from(recent.limit(limit).subquery())
        )
        counted += int(found or 0)
    if counted >= limit:
        raise VelocityExceededError(
            f"the member spent points {limit} times in the last hour, the most the program "
            "allows (abuse.max_redemptions_per_hour)",
            field="abuse.max_redemptions_per_hour",
            params={"limit": limit},
        )
