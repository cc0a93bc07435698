"""Returns give back to the campaigns that applied to a purchase (docs/campaigns.md, "Returns
give back").

A return reverses the purchase's points in proportion (:mod:`patron.purchases.returns`) and
takes back its cashback from the wallet by the same proportion. Each campaign's share of what
was *actually* taken back goes back to it, cumulatively, so rounding never drifts and a retry
gives nothing twice:

* points: ``share(points, points_reversed, points_earned)``, the campaign's points in the
  proportion of the purchase's points the ledger reversed;
* money: ``share(credited, cashback_reversed, cashback_credited)``, what its ``credit_wallet``
  effects credited for the purchase in the proportion of the purchase's cashback the wallet
  took back (never more than it claimed from its money budget);
* usage: once the purchase's goods are wholly refunded (the return that reverses every point),
  one use back to the global usage limit and to the member's per-member count of the period
  the purchase was counted in. A partial return gives no usage back.

``share(part, done, whole)`` is ``floor(part x done / whole)``, all of ``part`` once ``done``
reaches ``whole``. The sum of the campaigns' shares never exceeds what was taken back (a sum
of floors), and points the member kept (a return under ``cap_at_available`` that found them
spent) are not given back. The counters are given back only what the purchase claimed from
them (``campaign_applications.counted``, ``money``, ``period_key``), so they never go below 0
nor let a budget exceed its size; applications recorded before migration 0036 claimed unknown
counters and give nothing back to them (their shares still show in the stats).

:func:`give_back_returned` runs in the return's unit of work after the purchase's refund is
added, and in the cashback handler's after a late credit took back the refunded share: both
hold the purchase's row lock (taken before the wallet's), and the application rows are
locked too, so two of them never give the same share twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.repository import CampaignRepository, ReturnedShare
from patron.purchases.models import Purchase


def share(part: int, done: int, whole: int) -> int:
    """``part``'s share once ``done`` of ``whole`` is done: ``floor(part x done / whole)``,
    all of it once ``done`` reaches ``whole`` (``whole`` 0: all of it)."""
    if whole <= 0 or done >= whole:
        return part
    return part * max(done, 0) // whole


def wholly_refunded(purchase: Purchase) -> bool:
    """Whether the purchase's goods are refunded in full (every point reversed)."""
    paid_for_goods = purchase.total - purchase.shipping
    return paid_for_goods <= 0 or purchase.refunded >= paid_for_goods


async def give_back_returned(session: AsyncSession, *, purchase: Purchase) -> None:
    """Give each campaign applied to ``purchase`` its share of what the purchase's returns took
    back so far (see the module docstring); idempotent."""
    repository = CampaignRepository(session)
    applications = await repository.applications_for_update(purchase.id)
    if not applications:
        return
    cashback = await repository.purchase_cashback(purchase.id)
    whole = wholly_refunded(purchase)
    for application in applications:
        before = ReturnedShare(
            application.points_returned, application.money_returned, application.uses_returned
        )
        points = share(application.points, purchase.points_reversed, purchase.points_earned)
        credited = cashback.by_campaign.get(application.campaign_key, 0)
        money = share(credited, cashback.reversed, cashback.credited)
        # a share given back stays given back (a late credit may round a share down)
        now = ReturnedShare(
            max(points, before.points), max(money, before.money), whole or before.uses
        )
        if now == before:
            continue
        await repository.set_returned(application.id, now)
        if application.counted:
            claimed = application.money
            await repository.give_back_counter(
                application.program_id,
                application.campaign_key,
                uses=int(now.uses) - int(before.uses),
                points=now.points - before.points,
                money=min(now.money, claimed) - min(before.money, claimed),
            )
        if application.period_key is not None and now.uses and not before.uses:
            await repository.release_member(
                application.member_id, application.campaign_key, application.period_key
            )
