"""What a raffle's winners receive from Patron (``raffle: {..., prize: ...}``).

In the unit of work that records the draw (:func:`patron.campaigns.raffles.draw_raffle`), each
winner who is an active member gets the raffle's prize, once:

* ``bonus_points: N``: N points through :func:`patron.awards.service.award` (a ``bonus`` entry
  of source ``campaign``, ``source_id`` the campaign key, key
  ``campaign:<key>:raffle:<member id>``; event ``ledger.credited``; a tier upgrade at once
  when the points reach it);
* ``issue_reward: CODE``: a coupon of that catalogue reward through
  :func:`patron.rewards.grant.grant_reward` (key ``raffle:<key>:<member id>``, event
  ``rewards.granted`` with source ``raffle``), unless its stock is used up.

A blocked or erased winner gets nothing. Winners are served in member id order, the order
every writer of several accounts locks them in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.ledger.sources import LedgerSource
from patron.members.models import Member, MemberStatus
from patron.programs.schemas import ActiveProgram
from patron.rewards.grant import grant_reward
from patron.rules.vocabulary import Campaign

SOURCE = "raffle"


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
) -> int:
    """Give the raffle's prize to each winner (see the module docstring); how many got it."""
    raffle = campaign.raffle
    prize = raffle.prize if raffle is not None else None
    if prize is None:
        return 0
    given = 0
    for member_id in sorted(winners):
        if prize.bonus_points is not None:
            awarded = await award(
                session,
                active=active,
                member_id=member_id,
                points=prize.bonus_points,
                source=LedgerSource.CAMPAIGN,
                source_id=campaign.key,
                key=(campaign.key, "raffle", member_id),
                now=now,
                description=f"Raffle prize: {campaign.key}",
                meta={"campaign": campaign.key, "raffle": True},
            )
            given += 1 if awarded.entry is not None else 0
            continue
        reward = active.program.reward(prize.issue_reward) if prize.issue_reward else None
        if reward is None or not await _active_member(session, member_id):
            continue
        coupon = await grant_reward(
            session,
            active=active,
            member_id=member_id,
            reward=reward,
            idempotency_key=f"{SOURCE}:{campaign.key}:{member_id}",
            source=SOURCE,
            source_id=campaign.key,
            purchase_id=None,
            now=now,
        )
        given += 1 if coupon is not None else 0
    return given
