"""What a raffle's winners receive from Patron (``raffle: {..., prize: ..., prizes: [...]}``).

In the unit of work that records the draw (:func:`patron.campaigns.raffles.draw_raffle`), the
winner drawn at rank ``r`` gets the raffle's prize for that rank
(:meth:`patron.rules.vocabulary.prizes.Raffle.prize_for`: the ``prizes`` item whose ranks hold
``r``, else ``prize``), once, if they are an active member:

* ``bonus_points: N``: N points through :func:`patron.awards.service.award` (a ``bonus`` entry
  of source ``campaign``, ``source_id`` the campaign key, key
  ``campaign:<key>:raffle:<member id>``; event ``ledger.credited``; a tier upgrade at once
  when the points reach it);
* ``issue_reward: CODE``: a coupon of that catalogue reward through
  :func:`patron.rewards.grant.grant_reward` (key ``raffle:<key>:<member id>``, event
  ``rewards.granted`` with source ``raffle``), unless its stock is used up;
* ``credit_wallet: "50.00"``: that money (minor units) into the member's cashback wallet
  (:func:`patron.wallet.service.credit`, source ``raffle``, key ``raffle:<key>:<member id>``,
  event ``wallet.credited``), claimed first from the campaign's money budget when it has one
  (``campaign_counters.money_spent``, one atomic statement, as a purchase's cashback claims
  it); a budget used up gives nothing.

A blocked or erased winner gets nothing. Winners are served in member id order, the order
every writer of several accounts locks them in. :func:`give_prizes` answers what each winner
received, by rank (:class:`Given`), which the draw record stores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.campaigns.repository import CampaignRepository
from patron.kit.money import format_amount
from patron.ledger.sources import LedgerSource
from patron.members.models import Member, MemberStatus
from patron.programs.schemas import ActiveProgram
from patron.rewards.grant import grant_reward
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.prizes import RafflePrize
from patron.wallet import service as wallet_service

SOURCE = "raffle"
NOT_ACTIVE = "the member is blocked or erased"


@dataclass(frozen=True, slots=True)
class Given:
    """What the winner drawn at ``rank`` received: ``kind`` (``points``, ``coupon``,
    ``wallet``), ``points``, the ``reward`` and ``coupon_code``, or the ``amount`` (minor
    units) in ``currency``; ``given`` false with the ``reason`` when they got nothing."""

    rank: int
    member_id: int
    kind: str
    given: bool
    points: int | None = None
    reward: str | None = None
    coupon_code: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str | None = None

    def record(self) -> dict[str, Any]:
        """As ``raffle_draws.prizes`` stores it (no ``None`` values)."""
        return {name: value for name, value in asdict(self).items() if value is not None}


async def _active_member(session: AsyncSession, member_id: int) -> bool:
    row = (
        await session.execute(select(Member.status, Member.erased_at).where(Member.id == member_id))
    ).first()
    return row is not None and row.status is MemberStatus.ACTIVE and row.erased_at is None


async def give_prizes(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    campaign: Campaign,
    winners: list[int],
    now: datetime,
) -> list[Given]:
    """Give each winner the prize of their rank (see the module docstring); what each got, by
    rank (winners without a prize for their rank are left out)."""
    raffle = campaign.raffle
    if raffle is None or not raffle.gives_prizes:
        return []
    ranked = {member_id: rank for rank, member_id in enumerate(winners, start=1)}
    given: list[Given] = []
    for member_id in sorted(ranked):
        rank = ranked[member_id]
        prize = raffle.prize_for(rank)
        if prize is not None:
            given.append(await _give(session, active, campaign, prize, rank, member_id, now))
    return sorted(given, key=lambda item: item.rank)


async def _give(
    session: AsyncSession,
    active: ActiveProgram,
    campaign: Campaign,
    prize: RafflePrize,
    rank: int,
    member_id: int,
    now: datetime,
) -> Given:
    key = campaign.key
    if prize.bonus_points is not None:
        awarded = await award(
            session,
            active=active,
            member_id=member_id,
            points=prize.bonus_points,
            source=LedgerSource.CAMPAIGN,
            source_id=key,
            key=(key, "raffle", member_id),
            now=now,
            description=f"Raffle prize: {key}",
            meta={"campaign": key, "raffle": True, "rank": rank},
        )
        ok = awarded.entry is not None
        return Given(rank, member_id, "points", ok, points=prize.bonus_points, reason=_why(ok))
    if not await _active_member(session, member_id):
        return Given(rank, member_id, prize.kind, False, reason=NOT_ACTIVE)
    if prize.issue_reward is not None:
        return await _coupon(session, active, key, prize.issue_reward, rank, member_id, now)
    assert prize.credit_wallet is not None
    return await _wallet(
        session, active, campaign, active.program.minor(prize.credit_wallet), rank, member_id, now
    )


def _why(ok: bool) -> str | None:
    return None if ok else NOT_ACTIVE


async def _coupon(
    session: AsyncSession,
    active: ActiveProgram,
    key: str,
    code: str,
    rank: int,
    member_id: int,
    now: datetime,
) -> Given:
    reward = active.program.reward(code)
    coupon = None
    if reward is not None:
        coupon = await grant_reward(
            session,
            active=active,
            member_id=member_id,
            reward=reward,
            idempotency_key=f"{SOURCE}:{key}:{member_id}",
            source=SOURCE,
            source_id=key,
            purchase_id=None,
            now=now,
        )
    if coupon is None:
        reason = "the reward's stock is used up" if reward else "not a reward of the program"
        return Given(rank, member_id, "coupon", False, reward=code, reason=reason)
    return Given(rank, member_id, "coupon", True, reward=code, coupon_code=str(coupon.code))


async def _wallet(
    session: AsyncSession,
    active: ActiveProgram,
    campaign: Campaign,
    amount: int,
    rank: int,
    member_id: int,
    now: datetime,
) -> Given:
    program = active.program
    currency = program.currency
    budget = campaign.budget.money if campaign.budget is not None else None
    if budget is not None:
        limit = program.minor(budget)
        claimed = await CampaignRepository(session).claim_money(
            active.program_id, campaign.key, amount, limit
        )
        if not claimed:
            reason = f"money budget used up: {format_amount(amount, currency)} {currency} needed"
            return Given(
                rank, member_id, "wallet", False, amount=amount, currency=currency, reason=reason
            )
    await wallet_service.credit(
        session,
        program_id=active.program_id,
        member_id=member_id,
        currency=currency,
        amount=amount,
        idempotency_key=f"{SOURCE}:{campaign.key}:{member_id}",
        source_type=SOURCE,
        source_id=campaign.key,
        description=f"Raffle prize: {campaign.key}",
        occurred_at=now,
        now=now,
    )
    return Given(rank, member_id, "wallet", True, amount=amount, currency=currency)
