"""Granting a reward: a coupon given without spending points (a deferred ``issue_reward``
effect of a rule or a campaign, applied by :mod:`patron.campaigns.deferred`).

Idempotent by ``idempotency_key`` (the coupon's own key): a grant run again finds its coupon
and issues nothing. A reward with a ``stock`` takes one from it; when the stock is used up the
grant gives nothing (``None``) rather than failing the event; so it does for a member blocked
since (a blocked member earns nothing). The coupon's ``cost_points`` is
0, so cancelling it refunds nothing. It emits ``rewards.granted`` in the same unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit
from patron.programs.schema import Reward
from patron.programs.schemas import ActiveProgram
from patron.rewards.events import RewardsGranted
from patron.rewards.models import CouponStatus
from patron.rewards.redeem import insert_coupon
from patron.rewards.repository import RewardRepository


async def grant_reward(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    reward: Reward,
    idempotency_key: str,
    source: str,
    source_id: str,
    purchase_id: int | None,
    now: datetime,
) -> Row[Any] | None:
    """The coupon granted under ``idempotency_key`` (issued now, or earlier by a run of the
    same grant); ``None`` when the reward's stock is used up or the member is blocked."""
    repository = RewardRepository(session)
    existing = await repository.by_idempotency_key(idempotency_key)
    if existing is not None:
        return existing
    if await repository.member_blocked(member_id):  # blocked members earn nothing
        return None
    async with session.begin_nested():
        if reward.stock is not None and not await repository.take_stock(
            active.program_id, reward.code, reward.stock
        ):
            return None
        coupon = await insert_coupon(
            repository, active, member_id, reward, idempotency_key, now, cost_points=0
        )
    granted = RewardsGranted(
        member_id=member_id,
        reward_key=reward.code,
        coupon_code=coupon.code,
        source=source,
        source_id=source_id,
        purchase_id=purchase_id,
    )
    await emit(session, granted, program_id=active.program_id, occurred_at=now)
    return coupon


USED = "used"
VOIDED = "voided"
EXPIRED = "expired"
CANCELLED = "cancelled"


async def void_grant(
    session: AsyncSession, *, active: ActiveProgram, idempotency_key: str, now: datetime
) -> tuple[str, str] | None:
    """Take back the coupon granted under ``idempotency_key``: ``(code, outcome)``, ``None``
    when none was granted. An unused, unexpired coupon is cancelled (outcome ``voided``; its
    stock is given back, and nothing is refunded: a granted coupon cost the member no points);
    one already used cannot be taken back (``used``), nor need one expired or cancelled
    before (``expired``, ``cancelled``). Idempotent: run again it finds the coupon cancelled
    and answers ``cancelled``."""
    repository = RewardRepository(session)
    found = await repository.by_idempotency_key(idempotency_key)
    if found is None:
        return None
    if await repository.cancel(found.code, now=now) is not None:
        reward = active.program.reward(found.reward_code)
        if reward is not None and reward.stock is not None:
            await repository.return_stock(found.program_id, found.reward_code)
        return str(found.code), VOIDED
    again = await repository.by_idempotency_key(idempotency_key)
    status = again.status if again is not None else found.status
    if status == CouponStatus.CONSUMED:
        return str(found.code), USED
    if status == CouponStatus.CANCELLED:
        return str(found.code), CANCELLED
    return str(found.code), EXPIRED
