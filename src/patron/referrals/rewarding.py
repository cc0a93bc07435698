"""The daily job's ``referrals`` step: qualify referrals, and reward both sides once the
qualifying purchase has stood through the return window.

1. **Qualify** (one unit of work per program): each ``pending`` referral whose referee has
   made a purchase of at least ``referrals.min_purchase`` (its total less what was refunded,
   in the program's currency; the first such purchase by time) becomes ``qualified``, with
   ``due_at`` the purchase's time plus ``referrals.window_days`` (none: the purchase's
   ``pending_until``, the pending-points unlock, or its time when points are not pending);
   event ``referrals.qualified``.
2. **Reward** (one unit of work per referral): each ``qualified`` referral with ``due_at``
   reached is *claimed* (``UPDATE ... SET status = 'rewarded' WHERE status = 'qualified'``:
   a second run, or a run racing this one, finds nothing to claim, so a referral is paid
   once). If the purchase was refunded below the minimum meanwhile, the referral goes back
   to ``pending`` (a later purchase may qualify it). Otherwise each side that is an active
   member gets the section's points (a ``bonus`` entry of source ``referral``, key
   ``referral:<id>:<side>``), its reward's coupon, and the ``trigger: referral`` campaigns
   of its side (``referral_side`` ``referrer`` or ``referee``, or none: both sides;
   occurrence ``referral:<id>:<side>``, with their limits and budgets); event
   ``referrals.rewarded``. Flagged and rejected referrals are never paid.
3. **Claw back** (one unit of work per referral): a rewarded referral whose purchase was
   returned below the minimum afterwards has its points taken back
   (:mod:`patron.referrals.clawback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.campaigns.triggers import apply_trigger, trigger_campaigns
from patron.kit.db import Database
from patron.kit.outbox import emit
from patron.ledger.sources import LedgerSource
from patron.members.models import MemberStatus
from patron.programs import service as program_service
from patron.programs.referral_settings import ReferralSide
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.referrals.clawback import claw_back, due_for_clawback
from patron.referrals.events import ReferralQualified, ReferralRewarded
from patron.referrals.models import Referral, ReferralStatus
from patron.referrals.repository import ReferralRepository
from patron.referrals.service import settings_of
from patron.rewards.grant import grant_reward
from patron.rules.vocabulary import Trigger

SOURCE = "referral"


def _due_at(active: ActiveProgram, purchase: Purchase) -> datetime:
    days = settings_of(active).window_days
    if days is not None:
        return purchase.occurred_at + timedelta(days=days)
    return purchase.pending_until or purchase.occurred_at


async def qualify(session: AsyncSession, *, active: ActiveProgram, now: datetime) -> int:
    """Qualify the program's pending referrals whose referee made a qualifying purchase."""
    repository = ReferralRepository(session)
    program = active.program
    minimum = program.minor(settings_of(active).min_purchase)
    qualified = 0
    for referral_id in await repository.ids(active.program_id, ReferralStatus.PENDING):
        referral = await repository.get(referral_id, lock=True)
        if referral is None or referral.status is not ReferralStatus.PENDING:
            continue
        purchase = await repository.first_qualifying_purchase(
            referral.referee_id, program.currency, minimum
        )
        if purchase is None or purchase.occurred_at > now:
            continue
        referral.status = ReferralStatus.QUALIFIED
        referral.purchase_id = purchase.id
        referral.qualified_at = now
        referral.due_at = _due_at(active, purchase)
        event = ReferralQualified(
            referral_id=referral.id,
            member_id=referral.referee_id,
            referrer_id=referral.referrer_id,
            purchase_id=purchase.id,
            due_at=referral.due_at,
        )
        await emit(session, event, program_id=active.program_id, occurred_at=now)
        qualified += 1
    await session.flush()
    return qualified


@dataclass
class _Paid:
    points: int = 0
    cost: int = 0


async def _pay_side(
    session: AsyncSession,
    active: ActiveProgram,
    referral: Referral,
    side: str,
    member_id: int,
    chosen: ReferralSide,
    coupons: list[str],
    now: datetime,
) -> _Paid:
    paid = _Paid()
    member = await ReferralRepository(session).member(member_id)
    if member is None or member.status is not MemberStatus.ACTIVE or member.erased_at is not None:
        return paid
    if chosen.points > 0:
        awarded = await award(
            session,
            active=active,
            member_id=member_id,
            points=chosen.points,
            source=LedgerSource.REFERRAL,
            source_id=str(referral.id),
            key=(referral.id, side),
            now=now,
            description="Referral bonus",
            meta={"referral": referral.id, "side": side},
        )
        if awarded.created:
            paid.points += chosen.points
    reward = active.program.reward(chosen.reward) if chosen.reward else None
    if reward is not None and referral.purchase_id is not None:
        coupon = await grant_reward(
            session,
            active=active,
            member_id=member_id,
            reward=reward,
            idempotency_key=f"referral:{referral.id}:{side}",
            source=SOURCE,
            source_id=str(referral.id),
            purchase_id=referral.purchase_id,
            now=now,
        )
        if coupon is not None:
            coupons.append(str(coupon.code))
            paid.cost += reward.cost_points
    campaigns = [
        campaign
        for campaign in trigger_campaigns(active, Trigger.REFERRAL)
        if campaign.referral_side is None or campaign.referral_side.value == side
    ]
    if campaigns:
        outcome = await apply_trigger(
            session,
            active=active,
            member_id=member_id,
            campaigns=campaigns,
            occurrence=f"referral:{referral.id}:{side}",
            occurred_at=now,
            now=now,
        )
        paid.points += outcome.points
    paid.cost += paid.points
    return paid


async def pay(
    session: AsyncSession, *, active: ActiveProgram, referral_id: int, now: datetime
) -> bool:
    """Reward both sides of one due referral (see the module docstring); ``False`` when
    another run claimed it first, it is not due, or its purchase no longer qualifies."""
    repository = ReferralRepository(session)
    referral = await repository.claim_due(referral_id, now)
    if referral is None:
        return False
    minimum = active.program.minor(settings_of(active).min_purchase)
    purchase = (
        await repository.purchase(referral.purchase_id)
        if referral.purchase_id is not None
        else None
    )
    if purchase is None or purchase.total - purchase.refunded < minimum:
        referral.status = ReferralStatus.PENDING
        referral.purchase_id = referral.due_at = referral.qualified_at = None
        referral.rewarded_at = None
        await session.flush()
        return False
    settings = settings_of(active)
    coupons: list[str] = []
    # the account with the lower id first, as every writer of two accounts locks them
    sides = sorted(
        (
            ("referrer", referral.referrer_id, settings.referrer),
            ("referee", referral.referee_id, settings.referee),
        ),
        key=lambda side: side[1],
    )
    paid: dict[str, _Paid] = {}
    for side, member_id, chosen in sides:
        paid[side] = await _pay_side(
            session, active, referral, side, member_id, chosen, coupons, now
        )
    referral.referrer_points = paid["referrer"].points
    referral.referee_points = paid["referee"].points
    referral.cost_points = paid["referrer"].cost + paid["referee"].cost
    await session.flush()
    event = ReferralRewarded(
        referral_id=referral.id,
        member_id=referral.referee_id,
        referrer_id=referral.referrer_id,
        referrer_points=referral.referrer_points,
        referee_points=referral.referee_points,
        coupon_codes=sorted(coupons),
        cost_points=referral.cost_points,
    )
    await emit(session, event, program_id=active.program_id, occurred_at=now)
    return True


async def run_referrals(database: Database, *, key: str, now: datetime) -> dict[str, int]:
    """The daily step for one program: qualify, then reward each due referral, then claw back
    each returned one, each in a unit of work of its own (so one member's lock is never held
    while another's is awaited)."""
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=key)
        qualified = await qualify(session, active=active, now=now)
    async with database.read() as session:
        due = await ReferralRepository(session).ids(
            active.program_id, ReferralStatus.QUALIFIED, due_by=now
        )
    rewarded = 0
    for referral_id in due:
        async with database.write() as session:
            if await pay(session, active=active, referral_id=referral_id, now=now):
                rewarded += 1
    async with database.read() as session:
        returned = await due_for_clawback(session, active)
    clawed_back = 0
    for referral_id in returned:
        async with database.write() as session:
            if await claw_back(session, active=active, referral_id=referral_id, now=now):
                clawed_back += 1
    return {"qualified": qualified, "rewarded": rewarded, "clawed_back": clawed_back}
