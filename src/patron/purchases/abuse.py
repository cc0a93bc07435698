"""Abuse controls on purchases (the program's ``abuse`` section, docs/security.md):

- :func:`check_purchase_velocity`: a member's purchase is refused with 429
  ``velocity_exceeded`` (field ``abuse.max_purchases_per_hour``) when the member already has
  that many purchases recorded in the last 60 minutes. It runs after the member's account is
  locked, so concurrent purchases of one member count each other (on PostgreSQL the lock waits
  for the other's commit, and the count, a new statement, sees its row). A retry of a purchase
  recorded before is never refused: it adds no row and is answered as before.
- :func:`detect_return_cycles`: after a return that leaves a purchase that earned points
  refunded to at least ``abuse.return_cycles.min_returned_percent`` % of its total (100, the
  default: fully refunded), the member's purchases so refunded with a return within
  ``abuse.return_cycles.days`` are counted; at ``returns`` or more the member is flagged
  (:mod:`patron.members.flags`, reason ``return_cycles``, or ``partial_return_cycles`` when
  one of them is not fully refunded; ``details``: ``full_returns``, ``partial_returns``,
  ``days``, ``threshold``, ``min_returned_percent``), and blocked when the program says so.
  The return itself is recorded as always: the flag changes no balance. The share compares
  integers (``refunded x 100 >= total x percent``), exact on both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Numeric, case, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.members.errors import VelocityExceededError
from patron.members.flags import flag_member
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase, PurchaseReturn

HOUR = timedelta(hours=1)
RETURN_CYCLES = "return_cycles"
PARTIAL_RETURN_CYCLES = "partial_return_cycles"
_EXACT = Numeric(40, 0)  # refunded x 100 may pass a BIGINT


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
    percent = cycles.min_returned_percent
    if purchase.points_earned <= 0 or purchase.refunded * 100 < purchase.total * percent:
        return
    since = now - timedelta(days=cycles.days)
    returned_lately = exists().where(
        PurchaseReturn.purchase_id == Purchase.id, PurchaseReturn.created_at > since
    )
    enough = cast(Purchase.refunded, _EXACT) * 100 >= cast(Purchase.total, _EXACT) * percent
    full = Purchase.refunded >= Purchase.total
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((full, 1), else_=0)), 0),
            ).where(
                Purchase.member_id == purchase.member_id,
                Purchase.points_earned > 0,
                enough,
                returned_lately,
            )
        )
    ).one()
    count, full_returns = int(row[0] or 0), int(row[1] or 0)
    if count < cycles.returns:
        return
    partial = count - full_returns
    await flag_member(
        session,
        program_id=active.program_id,
        member_id=purchase.member_id,
        reason=PARTIAL_RETURN_CYCLES if partial else RETURN_CYCLES,
        details={
            "full_returns": full_returns,
            "partial_returns": partial,
            "days": cycles.days,
            "threshold": cycles.returns,
            "min_returned_percent": percent,
        },
        block=cycles.block,
        now=now,
    )
