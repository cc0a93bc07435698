"""Abuse controls on purchases (the program's ``abuse`` section, docs/security.md):

- :func:`check_purchase_velocity`: a member's purchase is refused with 429
  ``velocity_exceeded`` (field ``abuse.max_purchases_per_hour``) when the member already has
  that many purchases recorded in the last 60 minutes. It runs after the member's account is
  locked, so concurrent purchases of one member count each other (on PostgreSQL the lock waits
  for the other's commit, and the count, a new statement, sees its row). A retry of a purchase
  recorded before is never refused: it adds no row and is answered as before.
- :func:`detect_return_cycles`: after a return that leaves a purchase that earned points fully
  refunded, the member's full returns within ``abuse.return_cycles.days`` are counted; at
  ``returns`` or more the member is flagged (:mod:`patron.members.flags`, reason
  ``return_cycles``), and blocked when the program says so. The return itself is recorded
  as always: the flag changes no balance.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.members.errors import VelocityExceededError
from patron.members.flags import flag_member
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase, PurchaseReturn

HOUR = timedelta(hours=1)
RETURN_CYCLES = "return_cycles"


async def check_purchase_velocity(
    session: AsyncSession, *, active: ActiveProgram, member_id: int, external_id: str, now: datetime
) -> None:
    """Refuse the member's purchase past ``abuse.max_purchases_per_hour`` (see the module
    docstring). The caller holds the member's account lock."""
    limit = active.program.abuse.max_purchases_per_hour
    if limit is None:
        return
    recent = select(Purchase.id).where(
        Purchase.member_id == member_id, Purchase.created_at > now - HOUR
    )
    counted = await session.scalar(select(func.count()).select_from(recent.limit(limit).subquery()))
    if int(counted or 0) < limit:
        return
    taken = await session.scalar(
        select(Purchase.id).where(
            Purchase.program_id == active.program_id, Purchase.external_id == external_id
        )
    )
    if taken is not None:  # a retry (or a conflict): answered by the insert as before
        return
    raise VelocityExceededError(
        f"the member has {limit} purchases in the last hour, the most the program allows "
        "(abuse.max_purchases_per_hour)",
        field="abuse.max_purchases_per_hour",
        params={"limit": limit},
    )


async def detect_return_cycles(
    session: AsyncSession, *, active: ActiveProgram, purchase: Purchase, now: datetime
) -> None:
    """Flag the purchase's member when the return just recorded completes a cycle (see the
    module docstring). The caller holds the member's account lock and has stored the return."""
    cycles = active.program.abuse.return_cycles
    if cycles is None or purchase.member_id is None:
        return
    if purchase.points_earned <= 0 or purchase.refunded < purchase.total:
        return
    since = now - timedelta(days=cycles.days)
    returned_lately = exists().where(
        PurchaseReturn.purchase_id == Purchase.id, PurchaseReturn.created_at > since
    )
    full = await session.scalar(
        select(func.count()).where(
            Purchase.member_id == purchase.member_id,
            Purchase.points_earned > 0,
            Purchase.refunded >= Purchase.total,
            returned_lately,
        )
    )
    count = int(full or 0)
    if count < cycles.returns:
        return
    await flag_member(
        session,
        program_id=active.program_id,
        member_id=purchase.member_id,
        reason=RETURN_CYCLES,
        details={"full_returns": count, "days": cycles.days, "threshold": cycles.returns},
        block=cycles.block,
        now=now,
    )
