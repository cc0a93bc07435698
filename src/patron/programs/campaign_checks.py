"""Checks of the ``campaigns`` section that span sections: unique keys, tier and reward
references, and money written finer than the program's currency allows."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.programs.schema import Program


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
        for where, tiers in (
            ("audience.tiers", campaign.audience.tiers),
            ("when.tier_in", campaign.when.tier_in),
        ):
            unknown = set(tiers or ()) - tier_ids
            if unknown:
                problems.append(f"{path}.{where}: names unknown tiers {sorted(unknown)}")
        amounts: list[tuple[str, Decimal | None]] = [
            (f"{path}.when.order_total_gte", campaign.when.order_total_gte),
            (f"{path}.when.order_total_lt", campaign.when.order_total_lt),
        ]
        if campaign.raffle is not None and campaign.raffle.per_amount is not None:
            amounts.append((f"{path}.raffle.per_amount", campaign.raffle.per_amount))
        for j, deferred in enumerate(campaign.deferred):
            here = f"{path}.deferred[{j}]"
            if deferred.issue_reward and deferred.issue_reward.reward not in codes:
                reward = deferred.issue_reward.reward
                problems.append(f"{here}.issue_reward.reward: {reward!r} is not a reward code")
            if deferred.credit_wallet:
                amounts.append((f"{here}.credit_wallet.amount", deferred.credit_wallet.amount))
        for where, amount in amounts:
            if amount is not None:
                try:
                    program.minor(amount, path=where)
                except ValueError as error:
                    problems.append(str(error))
    return problems
