"""What a return takes back of a purchase's raffle entries and instant prize (in the return's
unit of work, :func:`patron.purchases.returns.record_return`).

**Raffle entries.** Until the raffle is drawn, a purchase keeps the entries of what was not
returned: after each return its entries are recomputed from its kept amount (``total`` less
everything refunded), ``kept_entries`` of :mod:`patron.rules.vocabulary.prizes`: one per whole
``per_amount`` kept, or all of ``per_purchase`` while anything is kept (so a full return
takes them all back). The row keeps what it earned (``entries``) and records what was taken
back (``taken_back``), only ever upwards, with one conditional statement that finds nothing
to change once the draw has counted the row (``counted_at``): a return after the draw takes
nothing back from it (the draw stands; it is recorded with the entries it counted).

**Instant prizes.** A prize's points are part of the purchase's points, so a return reverses
them in proportion with the rest (a full return: all of them). A *full* return also takes
back the coupons the prize's deferred ``issue_reward`` gave for this purchase: an unused one
is cancelled (its stock given back), a used or expired one is left as it is, and the deferred
handler issues none after a full return (:func:`prize_coupon_due`). Each prize taken back
emits ``campaigns.prize_returned`` naming what happened to each coupon (``cancelled``,
``already_used``, ``expired`` or ``not_issued``), once: the purchase is fully refunded only
once, and a retried return is answered before it gets here. A partial return keeps the
coupon. The every-N-th count is never given back (the numbers already drawn stand).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.events import CampaignPrizeReturned
from patron.campaigns.models import CampaignApplication, RaffleEntry
from patron.kit.outbox import emit
from patron.kit.raw import Sql, raw_of
from patron.programs import service as program_service
from patron.programs.schema import Program
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.rewards.coupons import cancel_coupon
from patron.rewards.models import CouponStatus
from patron.rewards.repository import RewardRepository
from patron.rules.campaigns import ROW_PREFIX
from patron.rules.vocabulary.prizes import kept_entries

_TAKE_BACK = Sql(
    "UPDATE raffle_entries SET taken_back = $2 "
    "WHERE id = $1 AND counted_at IS NULL AND taken_back < $2"
)


async def take_back(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    purchase: Purchase,
    refunded: int,
    now: datetime,
) -> None:
    """Take back what ``refunded`` (minor units, every refund of ``purchase`` so far, this
    return's included) calls for (see the module docstring)."""
    if purchase.member_id is None:
        return
    rows = list(
        await session.scalars(select(RaffleEntry).where(RaffleEntry.purchase_id == purchase.id))
    )
    won: list[str] = []
    if refunded >= purchase.total:
        won = list(
            await session.scalars(
                select(CampaignApplication.campaign_key).where(
                    CampaignApplication.purchase_id == purchase.id
                )
            )
        )
    if not rows and not won:
        return
    program = await program_service.program_version(
        session, program_id=purchase.program_id, version=purchase.program_version
    )
    await _entries(session, program, rows, purchase.total - refunded)
    for key in won:
        campaign = program.campaign(key)
        if campaign is not None and campaign.prize is not None:
            await _prize(session, active, program, purchase, key, now)


async def _entries(
    session: AsyncSession, program: Program, rows: list[RaffleEntry], kept: int
) -> None:
    raw = await raw_of(session)
    for row in rows:
        campaign = program.campaign(row.campaign_key)
        if campaign is None or campaign.raffle is None or row.counted_at is not None:
            continue
        raffle = campaign.raffle
        per_amount = None if raffle.per_amount is None else program.minor(raffle.per_amount)
        taken = row.entries - kept_entries(raffle, row.entries, kept, per_amount)
        if taken > row.taken_back:
            await raw.run(_TAKE_BACK, row.id, taken)


def coupon_keys(program: Program, purchase_id: int, key: str) -> list[tuple[str, str]]:
    """``(idempotency key, reward code)`` of each coupon the campaign's deferred
    ``issue_reward`` effects give for the purchase (as :mod:`patron.campaigns.deferred` keys
    them)."""
    campaign = program.campaign(key)
    if campaign is None:
        return []
    return [
        (f"deferred:{purchase_id}:{ROW_PREFIX}{key}:{index}", item.issue_reward.reward)
        for index, item in enumerate(campaign.deferred)
        if item.issue_reward is not None
    ]


async def _prize(
    session: AsyncSession,
    active: ActiveProgram,
    program: Program,
    purchase: Purchase,
    key: str,
    now: datetime,
) -> None:
    assert purchase.member_id is not None
    repository = RewardRepository(session)
    coupons: list[dict[str, str]] = []
    for idempotency_key, reward in coupon_keys(program, purchase.id, key):
        found = await repository.by_idempotency_key(idempotency_key)
        if found is None:
            coupons.append({"reward": reward, "coupon_code": "", "outcome": "not_issued"})
            continue
        outcome = "already_used"
        if found.status == CouponStatus.CANCELLED:
            outcome = "cancelled"
        elif found.status == CouponStatus.ACTIVE:
            if found.valid_until is not None and found.valid_until <= now:
                outcome = "expired"
            else:
                await cancel_coupon(session, active=active, code=found.code, now=now)
                outcome = "cancelled"
        coupons.append({"reward": reward, "coupon_code": str(found.code), "outcome": outcome})
    event = CampaignPrizeReturned(
        campaign_key=key,
        member_id=purchase.member_id,
        purchase_id=purchase.id,
        coupons=coupons,
    )
    await emit(session, event, program_id=purchase.program_id, occurred_at=now)


def prize_coupon_due(program: Program, purchase: Purchase, campaign_key: str) -> bool:
    """Whether a deferred coupon of the campaign is still due to the purchase: not when the
    campaign is an instant prize and the purchase has been fully returned."""
    campaign = program.campaign(campaign_key)
    fully_returned = purchase.total > 0 and purchase.refunded >= purchase.total
    return not (campaign is not None and campaign.prize is not None and fully_returned)
