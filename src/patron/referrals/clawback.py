"""Taking a paid referral back: its points and its coupons.

Two things claw a paid referral back (``rewarded_at`` set), once:

* the daily job's ``referrals`` step, after rewarding: its qualifying purchase now totals,
  less what was refunded, below ``referrals.min_purchase`` (the rule that qualified it), be
  it ``rewarded`` or held for review (``flagged`` after it was paid);
* an admin's rejection of a referral flagged after it was paid
  (:func:`patron.referrals.service.review`).

A clawback takes back each side's
points from the referral, the section's ``bonus`` entry (key ``referral:<id>:<side>``) and
the ``trigger: referral`` campaigns' (``campaign:<key>:<member>:referral:<id>:<side>``), are
reversed in full through :func:`patron.ledger.service.reverse_lot` (a ``reverse`` entry of
source ``referral``, key ``referral-clawback:<entry id>``: a second run writes nothing; event
``ledger.debited``). Spent points follow the program's ``returns.when_points_already_spent``:
``debt`` leaves the member in debt, ``cap_at_available`` and ``refuse`` take what is
available (a clawback is never refused). Each coupon the referral gave (key
``referral:<id>:<side>``) is voided when unused (:func:`patron.rewards.grant.void_grant`); one
already used cannot be, and that is recorded. The referral keeps its status and gets
``clawed_back_at``, ``clawed_back_points`` (the points reversed plus the points price of the
coupons voided, at most what it cost: the KPIs count it as given back) and
``clawback_coupons`` (each coupon's code, side and outcome); event ``referrals.clawed_back``.
A referral never paid has nothing to claw back (the reward step checks the purchase again
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
from patron.programs.referral_settings import Referrals
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.referrals.events import ReferralClawedBack
from patron.referrals.models import Referral, ReferralStatus
from patron.rewards.grant import VOIDED, void_grant

SOURCE = "referral"
RETURNED = "returned"  # why: the qualifying purchase was returned below the minimum
REJECTED = "rejected"  # why: an admin rejected a referral flagged after it was paid
# a paid referral is clawed back in these statuses (flagged: held for review after payment)
_PAID = (ReferralStatus.REWARDED, ReferralStatus.FLAGGED, ReferralStatus.REJECTED)
_SHORTFALL = {
    WhenSpent.DEBT: ShortfallPolicy.DEBT,
    WhenSpent.CAP_AT_AVAILABLE: ShortfallPolicy.CAP,
    WhenSpent.REFUSE: ShortfallPolicy.CAP,
}


async def due_for_clawback(session: AsyncSession, active: ActiveProgram) -> list[int]:
    """Ids of the program's rewarded referrals not clawed back whose purchase fell below the
    minimum."""
    settings = active.program.referrals or Referrals()
    minimum = active.program.minor(settings.min_purchase)
    query = (
        select(Referral.id)
        .join(Purchase, Purchase.id == Referral.purchase_id)
        .where(
            Referral.program_id == active.program_id,
            Referral.status.in_(_PAID[:2]),
            Referral.rewarded_at.is_not(None),
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
    session: AsyncSession,
    *,
    active: ActiveProgram,
    referral_id: int,
    now: datetime,
    reason: str = RETURNED,
) -> bool:
    """Claw one paid referral back (see the module docstring); ``False`` when there is
    nothing to do (another run did it, or it was never paid)."""
    referral = await session.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update()
    )
    if (
        referral is None
        or referral.status not in _PAID
        or referral.rewarded_at is None
        or referral.clawed_back_at is not None
    ):
        return False
    policy = _SHORTFALL[active.program.returns.when_points_already_spent]
    taken: dict[str, int] = {"referrer": 0, "referee": 0}
    events: list[DomainEvent] = []
    coupons: list[dict[str, str]] = []
    voided_cost = 0
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
                description=_DESCRIPTIONS[reason],
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
        voided = await void_grant(
            session, active=active, idempotency_key=f"referral:{referral.id}:{side}", now=now
        )
        if voided is not None:
            code, outcome = voided
            coupons.append({"code": code, "side": side, "outcome": outcome})
            voided_cost += _coupon_cost(active, referral, side) if outcome == VOIDED else 0
    referral.clawed_back_at = now
    referral.clawed_back_points = min(
        referral.cost_points, taken["referrer"] + taken["referee"] + voided_cost
    )
    referral.clawback_coupons = coupons
    await session.flush()
    events.append(
        ReferralClawedBack(
            referral_id=referral.id,
            member_id=referral.referee_id,
            referrer_id=referral.referrer_id,
            purchase_id=referral.purchase_id,
            referrer_points=taken["referrer"],
            referee_points=taken["referee"],
            reason=reason,
            clawed_back_points=referral.clawed_back_points,
            coupons_voided=sorted(c["code"] for c in coupons if c["outcome"] == VOIDED),
            coupons_used=sorted(c["code"] for c in coupons if c["outcome"] == "used"),
        )
    )
    await emit_many(session, events, program_id=active.program_id, occurred_at=now)
    return True


_DESCRIPTIONS = {
    RETURNED: "Referral taken back: its purchase was returned",
    REJECTED: "Referral taken back: rejected on review",
}


def _coupon_cost(active: ActiveProgram, referral: Referral, side: str) -> int:
    """The points price of the side's coupon, as the reward counted it in ``cost_points``
    (the section's reward of that side in the active version; 0 when it is gone)."""
    settings = active.program.referrals or Referrals()
    chosen = settings.referrer if side == "referrer" else settings.referee
    reward = active.program.reward(chosen.reward) if chosen.reward else None
    return reward.cost_points if reward is not None else 0
