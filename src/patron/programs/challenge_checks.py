"""Checks of the ``challenges`` section that span sections: unique challenge and badge keys,
the reward codes of coupons given, tier references and money written finer than the
program's currency allows in a goal's purchase conditions."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.programs.schema import Program


def challenge_problems(program: Program) -> list[str]:
    """``path: message`` for every cross-section problem of ``program.challenges``."""
    problems: list[str] = []
    tier_ids = {level.id for level in program.tiers.levels} if program.tiers else set()
    keys: set[str] = set()
    badges: set[str] = set()
    codes = {reward.code for reward in program.rewards}
    for index, challenge in enumerate(program.challenges):
        path = f"challenges[{index}]"
        granted = challenge.reward.issue_reward if challenge.reward is not None else None
        if granted is not None and granted.reward not in codes:
            problems.append(
                f"{path}.reward.issue_reward.reward: {granted.reward!r} is not a reward code"
            )
        if challenge.key in keys:
            problems.append(f"{path}.key: challenge key {challenge.key!r} is used twice")
        keys.add(challenge.key)
        if challenge.badge is not None:
            if challenge.badge.key in badges:
                key = challenge.badge.key
                problems.append(f"{path}.badge.key: badge key {key!r} is used twice")
            badges.add(challenge.badge.key)
        when = challenge.goal.when
        if when is None:
            continue
        unknown = set(when.tier_in or ()) - tier_ids
        if unknown:
            problems.append(f"{path}.goal.when.tier_in: names unknown tiers {sorted(unknown)}")
        amounts: list[tuple[str, Decimal | None]] = [
            (f"{path}.goal.when.order_total_gte", when.order_total_gte),
            (f"{path}.goal.when.order_total_lt", when.order_total_lt),
        ]
        for where, amount in amounts:
            if amount is not None:
                try:
                    program.minor(amount, path=where)
                except ValueError as error:
                    problems.append(str(error))
    return problems
