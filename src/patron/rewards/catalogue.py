"""The catalogue: the active program's rewards with their stock and, for a member, whether
each one can be redeemed now (and if not, why)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.members.facts import member_facts
from patron.members.schemas import Member, MemberState
from patron.programs.schema import Program, Reward, RewardKind
from patron.programs.schemas import ActiveProgram
from patron.rewards.repository import RewardRepository
from patron.rewards.schemas import CatalogueReward, RewardEligibility, Unavailability
from patron.rules.vocabulary.audience import Code, Eligibility, MemberFacts, check_audience
from patron.tiers.policy import rank

_MONEY_VALUED = frozenset(
    {RewardKind.FIXED_DISCOUNT, RewardKind.GIFT_CERTIFICATE, RewardKind.CASHBACK}
)


def coupon_value(program: Program, reward: Reward) -> int | None:
    """A reward's value as a coupon stores it: minor units for money kinds, a whole percent
    for percent_discount, None for the others (the program file was validated, so exact)."""
    if reward.value is None:
        return None
    if reward.kind is RewardKind.PERCENT_DISCOUNT:
        return int(reward.value)
    if reward.kind in _MONEY_VALUED:
        return program.minor(reward.value, path=f"rewards[{reward.code}].value")
    return None


def is_tier_allowed(program: Program, reward: Reward, tier_id: str | None) -> bool:
    """True when the reward has no ``min_tier`` or the tier ranks at least as high."""
    return reward.min_tier is None or rank(program, tier_id) >= rank(program, reward.min_tier)


def reward_eligibility(program: Program, reward: Reward, facts: MemberFacts | None) -> Eligibility:
    """Whether the member (``facts``) may redeem ``reward`` by its ``min_tier`` and its
    ``audience``, and why; the first that fails."""
    if facts is None:
        return Eligibility(False, Code.NO_MEMBER)
    if not is_tier_allowed(program, reward, facts.tier_id):
        params = {"min_tier": reward.min_tier, "tier": facts.tier_id}
        return Eligibility(False, Code.TIER_REQUIRED, params)
    return check_audience(reward.audience, facts)


def remaining_stock(reward: Reward, issued: int) -> int | None:
    """Coupons left (None: unlimited); 0 when a lowered stock is below what is already out."""
    return None if reward.stock is None else max(reward.stock - issued, 0)


async def list_rewards(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member: Member | MemberState | None = None,
    now: datetime | None = None,
    include_disabled: bool = False,
) -> list[CatalogueReward]:
    """Every enabled reward of the active program (the disabled ones too with
    ``include_disabled``: the console's catalogue), in program order.

    Without a member, ``available`` reflects stock only; with one it also needs the member's
    tier to reach ``min_tier`` and the balance (as of ``now``) to cover ``cost_points``.
    ``reasons`` lists every reason that applies, in the order redeem checks them.
    """
    program = active.program
    issued = await RewardRepository(session).issued(active.program_id)
    available_points: int | None = None
    if member is not None:
        moment = now or utcnow()
        balance = await ledger_service.balance(session, member_id=member.id, now=moment)
        available_points = balance.available
    facts: MemberFacts | None = None
    if member is not None:
        gated = any(reward.audience is not None for reward in program.rewards)
        facts = (
            await member_facts(session, member_id=member.id)
            if gated
            else MemberFacts(tier_id=member.tier_id)
        )
    items: list[CatalogueReward] = []
    for reward in program.rewards:
        if not reward.enabled and not include_disabled:
            continue
        remaining = remaining_stock(reward, issued.get(reward.code, 0))
        reasons: list[Unavailability] = []
        eligibility = reward_eligibility(program, reward, facts) if facts is not None else None
        if member is not None and not is_tier_allowed(program, reward, member.tier_id):
            reasons.append(Unavailability.TIER_REQUIRED)
        elif eligibility is not None and not eligibility.eligible:
            reasons.append(Unavailability.NOT_ELIGIBLE)
        if remaining == 0:
            reasons.append(Unavailability.OUT_OF_STOCK)
        if available_points is not None and available_points < reward.cost_points:
            reasons.append(Unavailability.INSUFFICIENT_POINTS)
        items.append(
            CatalogueReward(
                code=reward.code,
                name=reward.name,
                description=reward.description,
                kind=reward.kind,
                value=coupon_value(program, reward),
                currency=program.currency,
                sku=reward.sku,
                cost_points=reward.cost_points,
                valid_days=reward.coupon_days(program.limits),
                min_tier=reward.min_tier,
                stock=reward.stock,
                remaining=remaining,
                enabled=reward.enabled,
                available=not reasons and reward.enabled,
                reasons=reasons,
                audience=None
                if reward.audience is None
                else reward.audience.model_dump(exclude_none=True),
                eligibility=None
                if eligibility is None
                else RewardEligibility.model_validate(eligibility.to_dict()),
            )
        )
    return items
