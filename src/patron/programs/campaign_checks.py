"""Checks of the ``campaigns`` and ``standing_discounts`` sections that span sections: unique
keys, tier and reward references, and money written finer than the program's currency
allows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from patron.programs.errors import ProgramProblem

if TYPE_CHECKING:
    from patron.programs.schema import Program
    from patron.rules.vocabulary import Campaign
    from patron.rules.vocabulary.prizes import RafflePrize


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
        amounts += _raffle_prize_amounts(campaign, path)
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


def _raffle_prizes(campaign: Campaign, path: str) -> list[tuple[str, RafflePrize]]:
    """``(path, prize)`` of the raffle's ``prize`` and each of its ``prizes``."""
    raffle = campaign.raffle
    if raffle is None:
        return []
    found: list[tuple[str, RafflePrize]] = []
    if raffle.prize is not None:
        found.append((f"{path}.raffle.prize", raffle.prize))
    found += [(f"{path}.raffle.prizes[{i}]", item) for i, item in enumerate(raffle.prizes)]
    return found


def _raffle_prize_problems(campaign: Campaign, path: str, codes: set[str]) -> list[str]:
    return [
        f"{where}.issue_reward: {prize.issue_reward!r} is not a reward code"
        for where, prize in _raffle_prizes(campaign, path)
        if prize.issue_reward and prize.issue_reward not in codes
    ]


def _raffle_prize_amounts(campaign: Campaign, path: str) -> list[tuple[str, Decimal | None]]:
    return [
        (f"{where}.credit_wallet", prize.credit_wallet)
        for where, prize in _raffle_prizes(campaign, path)
        if prize.credit_wallet is not None
    ]


def seed_shown_problems(previous: Program, program: Program, now: datetime) -> list[ProgramProblem]:
    """An instant prize campaign whose window was over at ``now`` in ``previous`` (the active
    version) has shown its seed (``GET /campaigns/{key}``): ``program`` may not end its window
    later, or purchases would be drawn with a seed anyone can read (code ``seed_shown``)."""
    problems: list[ProgramProblem] = []
    for index, campaign in enumerate(program.campaigns):
        before = previous.campaign(campaign.key)
        if campaign.prize is None or before is None or before.prize is None:
            continue
        _, ended = before.window.bounds(previous.program.timezone)
        _, ends = campaign.window.bounds(program.program.timezone)
        if ended <= now and ends > ended:
            shown = ended.isoformat(" ", "minutes")
            problems.append(
                ProgramProblem(
                    path=f"campaigns[{index}].window.end",
                    message=(
                        f"the instant prize {campaign.key!r} ended at {shown} and its seed "
                        "is shown since: its window cannot end later (give a new window to a "
                        "campaign with a new key, which gets a new seed)"
                    ),
                    code="seed_shown",
                    params={"campaign": campaign.key, "ended_at": shown},
                )
            )
    return problems


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
