"""Redeeming a reward: points out, a coupon in, all or nothing.

Order of work (so that a refusal changes nothing and concurrent redemptions are exact):

1. Lock the member's points account (every points write does; on SQLite the write unit of
   work already holds the database's write lock).
2. Idempotency: a coupon already issued under ``idempotency_key`` is returned again if it
   was for the same member and reward (``replayed``), else ``IdempotencyConflictError``.
3. Checks: member active (``member_blocked``), reward in the active program
   (``reward_not_found``), member's tier at least ``min_tier`` (``tier_required``, 403),
   member in the reward's ``audience`` (``reward_not_eligible``, 403: the closed club).
   fewer redemptions in the last hour than ``abuse.max_redemptions_per_hour``
   (``velocity_exceeded``, 429; redemptions that spent points and payments with points at
   partners are counted: :mod:`patron.rewards.velocity`).
4. Inside a savepoint: take one from stock (``out_of_stock``), insert the coupon (a new code
   is drawn on the rare collision; ``valid_until`` is ``now`` + ``valid_days`` × 24 h, or
   none), debit ``cost_points`` with kind ``redeem`` refusing a shortfall
   (``insufficient_points``; a 0-point reward writes no entry), link the entry to the
   coupon. Any refusal rolls the savepoint back, so stock, coupons, entries, lots and the
   balance stay as they were even if the caller goes on with its unit of work.

Only rewards with a ``stock`` touch the ``reward_stocks`` row, which then serialises their
redemptions across members until each unit of work ends; unlimited rewards take no shared
lock at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit import ids
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.outbox import emit
from patron.kit.time import add_days
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerDebited
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.repository import lock_account_for_update
from patron.members import service as member_service
from patron.members.facts import member_facts
from patron.programs.schema import Reward
from patron.programs.schemas import ActiveProgram
from patron.rewards.catalogue import coupon_value, is_tier_allowed
from patron.rewards.errors import (
    OutOfStockError,
    RewardNotEligibleError,
    RewardNotFoundError,
    TierRequiredError,
)
from patron.rewards.events import RewardsRedeemed
from patron.rewards.models import CouponStatus
from patron.rewards.repository import RewardRepository, coupon_view
from patron.rewards.schemas import Redemption
from patron.rewards.velocity import check_redemption_velocity
from patron.rules.vocabulary.audience import check_audience

COUPON_CODE_LENGTH = 10
COUPON_SOURCE = "coupon"
MAX_IDEMPOTENCY_KEY = 128
_CODE_ATTEMPTS = 5


def redeem_entry_key(idempotency_key: str) -> str:
    """The ledger idempotency key of the debit behind a coupon."""
    return f"rewards:redeem:{idempotency_key}"


def _checked_key(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"auto:{ids.random_token(18)}"
    if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInputError(
            f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            field="idempotency_key",
            params={"min_length": 1, "max_length": MAX_IDEMPOTENCY_KEY},
        )
    return idempotency_key


async def redeem(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    reward_code: str,
    idempotency_key: str | None = None,
    now: datetime,
) -> Redemption:
    """Spend the member's points on a reward and issue its coupon (see the module docstring).

    Without an ``idempotency_key`` one is generated, so a retry issues a second coupon.
    """
    key = _checked_key(idempotency_key)
    await lock_account_for_update(session, member_id)
    repository = RewardRepository(session)
    existing = await repository.by_idempotency_key(key)
    if existing is not None:
        return await _replay(session, existing, member_id, reward_code, now)
    reward = await _checked_reward(session, active, member_id, reward_code)
    await check_redemption_velocity(session, active=active, member_id=member_id, now=now)
    try:
        async with session.begin_nested():
            coupon = await _issue(session, repository, active, member_id, reward, key, now)
    except IntegrityError:
        # The key was taken meanwhile (on PostgreSQL, by a unit of work of another member).
        existing = await repository.by_idempotency_key(key)
        if existing is None:
            raise
        return await _replay(session, existing, member_id, reward_code, now)
    redeemed = RewardsRedeemed(
        member_id=member_id,
        reward_key=reward.code,
        points=reward.cost_points,
        coupon_code=coupon.code,
    )
    await emit(session, redeemed, program_id=active.program_id, occurred_at=now)
    balance = await ledger_service.balance(session, member_id=member_id, now=now)
    return Redemption(
        coupon=coupon_view(coupon),
        points_spent=reward.cost_points,
        balance_after=balance.available,
        replayed=False,
    )


async def _replay(
    session: AsyncSession, existing: Row[Any], member_id: int, reward_code: str, now: datetime
) -> Redemption:
    if (existing.member_id, existing.reward_code) != (member_id, reward_code):
        raise IdempotencyConflictError(
            "this idempotency_key was already used for another redemption",
            field="idempotency_key",
        )
    balance = await ledger_service.balance(session, member_id=member_id, now=now)
    return Redemption(
        coupon=coupon_view(existing),
        points_spent=existing.cost_points,
        balance_after=balance.available,
        replayed=True,
    )


async def _checked_reward(
    session: AsyncSession, active: ActiveProgram, member_id: int, reward_code: str
) -> Reward:
    member = await member_service.get_member_state(
        session, program_id=active.program_id, member_id=member_id
    )  # MemberNotFoundError also for a member of another program
    member_service.ensure_active(member)
    reward = active.program.reward(reward_code)
    if reward is None or not reward.enabled:
        raise RewardNotFoundError(reward_code)
    if not is_tier_allowed(active.program, reward, member.tier_id):
        assert reward.min_tier is not None
        raise TierRequiredError(
            reward_code=reward_code, min_tier=reward.min_tier, tier_id=member.tier_id
        )
    if reward.audience is not None:
        facts = await member_facts(session, member_id=member_id)
        found = check_audience(reward.audience, facts)
        if not found.eligible:
            raise RewardNotEligibleError(reward_code=reward_code, reason=found.code)
    return reward


async def _issue(
    session: AsyncSession,
    repository: RewardRepository,
    active: ActiveProgram,
    member_id: int,
    reward: Reward,
    key: str,
    now: datetime,
) -> Row[Any]:
    """Stock, coupon, debit: the writes of a redemption (run inside a savepoint)."""
    if reward.stock is not None and not await repository.take_stock(
        active.program_id, reward.code, reward.stock
    ):
        raise OutOfStockError(reward.code)
    coupon = await insert_coupon(repository, active, member_id, reward, key, now)
    if reward.cost_points > 0:
        entry = await ledger_service.debit(
            session,
            member_id=member_id,
            amount=reward.cost_points,
            kind=EntryKind.REDEEM,
            idempotency_key=redeem_entry_key(key),
            source_type=COUPON_SOURCE,
            source_id=coupon.code,
            now=now,
            on_shortfall=ShortfallPolicy.REFUSE,
            description=reward.name[:255],
            meta={"reward_code": reward.code},
        )
        await repository.set_redeem_entry(coupon.id, entry.id)
        debited = LedgerDebited(
            member_id=member_id,
            entry_id=entry.id,
            kind=EntryKind.REDEEM.value,
            points=-entry.amount,
            source=COUPON_SOURCE,
        )
        await emit(session, debited, program_id=active.program_id, occurred_at=now)
    return coupon


async def insert_coupon(
    repository: RewardRepository,
    active: ActiveProgram,
    member_id: int,
    reward: Reward,
    key: str,
    now: datetime,
    *,
    cost_points: int | None = None,
) -> Row[Any]:
    """Insert the coupon; ``cost_points`` is what it cost (the reward's price unless given:
    a granted coupon cost nothing)."""
    values = {
        "member_id": member_id,
        "program_id": active.program_id,
        "reward_code": reward.code,
        "kind": reward.kind,
        "value": coupon_value(active.program, reward),
        "currency": active.program.currency,
        "sku": reward.sku,
        "cost_points": reward.cost_points if cost_points is None else cost_points,
        "status": CouponStatus.ACTIVE,
        "issued_at": now,
        "valid_until": add_days(now, days)
        if (days := reward.coupon_days(active.program.limits))
        else None,
        "idempotency_key": key,
    }
    for _attempt in range(_CODE_ATTEMPTS):
        row = await repository.insert_coupon(
            {**values, "code": ids.random_code(COUPON_CODE_LENGTH)}
        )
        if row is not None:
            return row
    raise RuntimeError(f"no free coupon code after {_CODE_ATTEMPTS} attempts")
