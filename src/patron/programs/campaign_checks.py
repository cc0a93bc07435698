"""Checks of the ``campaigns`` and ``standing_discounts`` sections that span sections: unique
keys, tier and reward references, and money written finer than the program's currency
allows."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.programs.schema import Program
    from patron.rules.vocabulary import Campaign


def campaign_problems(program: Program) -> list[str]:
    """``path: message`` for every cross-section problem of ``program.campaigns``."""
    problems: list[str] = []
    tier_ids = {level.id for level in program.tiers.levels} if program.tiers else set()
    codes = {reward.code for reward in program.rewards}
    seen: set[str] = set()
    for index, campaign in enumerate(program.campaigns):
        path = f"campaigns[{index}]"
        if campaign.key in seen:
            problems.append(f"{path}.key: campaign key {campaign.key!r} is used twice")
        seen.add(campaign.key)
        early = campaign.early_access
        for where, tiers in (
            ("audience.tiers", campaign.audience.tiers),
            ("early_access.audience.tiers", early.audience.tiers if early else None),
            ("when.tier_in", campaign.when.tier_in),
        ):
            unknown = set(tiers or ()) - tier_ids
            if unknown:
                problems.append(f"{path}.{where}: names unknown tiers {sorted(unknown)}")
        amounts: list[tuple[str, Decimal | None]] = [
            (f"{path}.when.order_total_gte", campaign.when.order_total_gte),
            (f"{path}.when.order_total_lt", campaign.when.order_total_lt),
        ]
        amounts += [
            (f"{path}.budget.money", campaign.budget.money if campaign.budget else None),
            (f"{path}.raffle.per_amount", campaign.raffle.per_amount if campaign.raffle else None),
        ]
        problems.extend(_raffle_prize_problems(campaign, path, codes))
        for j, deferred in enumerate(campaign.deferred):
            here = f"{path}.deferred[{j}]"
            if deferred.issue_reward and deferred.issue_reward.reward not in codes:
                reward = deferred.issue_reward.reward
                problems.append(f"{here}.issue_reward.reward: {reward!r} is not a reward code")
            if deferred.credit_wallet and deferred.credit_wallet.amount is not None:
                amounts.append((f"{here}.credit_wallet.amount", deferred.credit_wallet.amount))
        for where, amount in amounts:
            if amount is not None:
                try:
                    program.minor(amount, path=where)
                except ValueError as error:
                    problems.append(str(error))
    return problems


def _raffle_prize_problems(campaign: Campaign, path: str, codes: set[str]) -> list[str]:
    prize = campaign.raffle.prize if campaign.raffle is not None else None
    if prize is not None and prize.issue_reward and prize.issue_reward not in codes:
        return [f"{path}.raffle.prize.issue_reward: {prize.issue_reward!r} is not a reward code"]
    return []


def standing_discount_problems(program: Program) -> list[str]:
    """``path: message`` for duplicate keys and unknown tiers of ``standing_discounts``."""
    problems: list[str] = []
    tier_ids = {level.id for level in program.tiers.levels} if program.tiers else set()
    seen: set[str] = set()
    for index, discount in enumerate(program.standing_discounts):
        path = f"standing_discounts[{index}]"
        if discount.key in seen:
            problems.append(f"{path}.key: standing discount key {discount.key!r} is used twice")
        seen.add(discount.key)
        unknown = set(discount.audience.tiers or ()) - tier_ids
        if unknown:
            problems.append(f"{path}.audience.tiers: names unknown tiers {sorted(unknown)}")
    return problems


def reward_audience_problems(program: Program) -> list[str]:
    """``path: message`` for unknown tiers in the rewards' ``audience``."""
    tier_ids = {level.id for level in program.tiers.levels} if program.tiers else set()
    problems: list[str] = []
    for index, reward in enumerate(program.rewards):
        unknown = set((reward.audience.tiers if reward.audience else None) or ()) - tier_ids
        if unknown:
            problems.append(
                f"rewards[{index}].audience.tiers: names unknown tiers {sorted(unknown)}"
            )
    return problems
