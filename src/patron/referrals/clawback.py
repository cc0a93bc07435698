"""Taking a referral's points back when its qualifying purchase is returned after the reward
(the daily job's ``referrals`` step, after rewarding).

A ``rewarded`` referral whose qualifying purchase now totals, less what was refunded, below
``referrals.min_purchase`` (the rule that qualified it) is *clawed back*, once: each side's
points from the referral, the section's ``bonus`` entry (key ``referral:<id>:<side>``) and
the ``trigger: referral`` campaigns' (``campaign:<key>:<member>:referral:<id>:<side>``), are
reversed in full through :func:`patron.ledger.service.reverse_lot` (a ``reverse`` entry of
source ``referral``, key ``referral-clawback:<entry id>``: a second run writes nothing; event
``ledger.debited``). Spent points follow the program's ``returns.when_points_already_spent``:
``debt`` leaves the member in debt, ``cap_at_available`` and ``refuse`` take what is
available (a clawback is never refused). Coupons given by the referral are not taken back.
The referral keeps status ``rewarded`` and gets ``clawed_back_at`` (event
``referrals.clawed_back`` with the points taken from each side); a flagged, pending or
qualified referral has nothing to claw back (the reward step checks the purchase again
before paying).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import DomainEvent, emit_many
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerDebited
from patron.ledger.kinds import ShortfallPolicy
from patron.ledger.models import entries
from patron.programs.purchase_settings import WhenSpent
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.referrals.events import ReferralClawedBack
from patron.referrals.models import Referral, ReferralStatus
from patron.referrals.service import settings_of

SOURCE = "referral"
_SHORTFALL = {
    WhenSpent.DEBT: ShortfallPolicy.DEBT,
    WhenSpent.CAP_AT_AVAILABLE: ShortfallPolicy.CAP,
    WhenSpent.REFUSE: ShortfallPolicy.CAP,
}


async def due_for_clawback(session: AsyncSession, active: ActiveProgram) -> list[int]:
    """Ids of the program's rewarded referrals not clawed back whose purchase fell below the
    minimum."""
    minimum = active.program.minor(settings_of(active).min_purchase)
    query = (
        select(Referral.id)
        .join(Purchase, Purchase.id == Referral.purchase_id)
        .where(
            Referral.program_id == active.program_id,
            Referral.status == ReferralStatus.REWARDED,
            Referral.clawed_back_at.is_(None),
            Purchase.total - Purchase.refunded < minimum,
        )
        .order_by(Referral.id)
    )
    return list(await session.scalars(query))


async def _earned(
    session: AsyncSession, referral: Referral, side: str, member_id: int
) -> list[tuple[int, int]]:
    """``(entry id, points)`` of what the referral credited ``member_id`` as ``side``."""
    own = f"referral:{referral.id}:{side}"
    campaign = f"campaign:%:{member_id}:referral:{referral.id}:{side}"
    rows = await session.execute(
        select(entries.c.id, entries.c.amount)
        .where(
            entries.c.member_id == member_id,
            entries.c.amount > 0,
            or_(entries.c.idempotency_key == own, entries.c.idempotency_key.like(campaign)),
        )
        .order_by(entries.c.id)
    )
    return [(int(entry_id), int(amount)) for entry_id, amount in rows]


async def claw_back(
    session: AsyncSession, *, active: ActiveProgram, referral_id: int, now: datetime
) -> bool:
    """Claw one referral back (see the module docstring); ``False`` when there is nothing to
    do (another run did it, or the purchase stands)."""
    referral = await session.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update()
    )
    if (
        referral is None
        or referral.status is not ReferralStatus.REWARDED
        or referral.clawed_back_at is not None
    ):
        return False
    policy = _SHORTFALL[active.program.returns.when_points_already_spent]
    taken: dict[str, int] = {"referrer": 0, "referee": 0}
    events: list[DomainEvent] = []
    sides = sorted(
        (("referrer", referral.referrer_id), ("referee", referral.referee_id)),
        key=lambda side: side[1],
    )
    for side, member_id in sides:
        for entry_id, points in await _earned(session, referral, side, member_id):
            reversed_ = await ledger_service.reverse_lot(
                session,
                entry_id=entry_id,
                amount=points,
                idempotency_key=f"referral-clawback:{entry_id}",
                source_type=SOURCE,
                source_id=str(referral.id),
                on_shortfall=policy,
                now=now,
                description="Referral taken back: its purchase was returned",
                meta={"referral": referral.id, "side": side},
            )
            if reversed_.amount < 0:
                taken[side] += -reversed_.amount
                events.append(
                    LedgerDebited(
                        member_id=member_id,
                        entry_id=reversed_.id,
                        kind=reversed_.kind.value,
                        points=-reversed_.amount,
                        source=SOURCE,
                    )
                )
    referral.clawed_back_at = now
    await session.flush()
    events.append(
        ReferralClawedBack(
            referral_id=referral.id,
            member_id=referral.referee_id,
            referrer_id=referral.referrer_id,
            purchase_id=referral.purchase_id,
            referrer_points=taken["referrer"],
            referee_points=taken["referee"],
        )
    )
    await emit_many(session, events, program_id=active.program_id, occurred_at=now)
    return True
