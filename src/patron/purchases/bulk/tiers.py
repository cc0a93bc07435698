"""Tier upgrades inside a batch, exactly as ``record_purchase`` makes them one by one.

After each purchase of a member the per-event path calls
:func:`patron.tiers.service.upgrade_if_qualified`: with ``T`` the threshold of the level
above the member's tier, a points program first requires the cached ``lifetime_earned`` to
reach ``T``; then the metric of the window ending at ``now`` (points earned, or money spent,
since :func:`~patron.tiers.policy.window_start`) decides the level, and a higher level
moves the member at once. Every later purchase earns with the new tier.

Both figures only grow during an import (earnings are never negative), so a member whose
figures at the end of the batch stay below ``T`` never moves and keeps its tier throughout.
The others are *walked*: given the points of each purchase, :func:`walk` replays the checks
in time order and says which tier each purchase had. Points depend on the tier, so the
planner scores, walks, rescores the members whose tiers changed, and walks again until
nothing changes (the tiers of a fixed point are the sequential ones: each purchase's tier
depends only on the purchases before it).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from patron.programs.schema import Program, QualifyOn
from patron.tiers.policy import thresholds, window_start


@dataclass(frozen=True, slots=True)
class TierMove:
    member_id: int
    from_tier: str | None
    to_tier: str | None
    metric: int
    reason: str


@dataclass(frozen=True, slots=True)
class Standing:
    """A member before the batch: tier, cached lifetime points, metric in the window."""

    tier_id: str | None
    lifetime_earned: int
    metric: int


@dataclass(frozen=True, slots=True)
class Walk:
    """``tiers``: the tier of each walked purchase (by ``seq``); ``moves`` in time order."""

    tiers: dict[int, str | None]
    moves: list[TierMove]


def is_money(program: Program) -> bool:
    return program.tiers is not None and program.tiers.qualify_on is QualifyOn.MONEY_SPENT


def since(program: Program, now: datetime) -> datetime | None:
    assert program.tiers is not None
    return window_start(program.tiers, now, program.program.timezone)


def candidates(program: Program, members: pl.DataFrame, points: pl.DataFrame) -> list[int]:
    """Members who might move: a next level exists and, in a points program, the cached
    lifetime points plus the batch's points reach it. ``members``: ``member_id``,
    ``tier_id``, ``lifetime_earned``; ``points``: ``member_id``, ``points`` per purchase."""
    if program.tiers is None:
        return []
    ladder = _Ladder(program)
    totals = points.group_by("member_id").agg(pl.col("points").sum().alias("earned"))
    rows = members.join(totals, on="member_id", how="inner")
    above = pl.col("tier_id").replace_strict(
        ladder.above, default=ladder.first, return_dtype=pl.Int64
    )
    threshold = pl.when(pl.col("tier_id").is_null()).then(ladder.first).otherwise(above)
    moving = threshold.is_not_null()
    if not is_money(program):
        moving = moving & (pl.col("lifetime_earned") + pl.col("earned") >= threshold)
    return rows.filter(moving)["member_id"].to_list()


class _Ladder:
    """:func:`~patron.tiers.policy.next_threshold`, :func:`~patron.tiers.policy.rank` and
    :func:`~patron.tiers.policy.qualified_tier` over thresholds computed once (they strictly
    increase: the program schema checks it)."""

    def __init__(self, program: Program) -> None:
        self.levels = thresholds(program)
        self.ids = [tier for tier, _ in self.levels]
        self.values = [threshold for _, threshold in self.levels]
        self.ranks = {tier: position + 1 for position, tier in enumerate(self.ids)}
        # the next level's threshold of each tier (an unknown tier ranks 0, as no tier)
        self.first = self.values[0] if self.values else None
        self.above = {
            tier: self.values[rank] if rank < len(self.values) else None
            for tier, rank in self.ranks.items()
        }

    def rank(self, tier_id: str | None) -> int:
        return self.ranks.get(tier_id, 0) if tier_id is not None else 0

    def next_threshold(self, tier_id: str | None) -> int | None:
        return self.above.get(tier_id, self.first) if tier_id is not None else self.first

    def qualified(self, metric: int) -> str | None:
        reached = bisect_right(self.values, metric)
        return self.ids[reached - 1] if reached else None


def _step(
    ladder: _Ladder, money: bool, current: str | None, lifetime: int, metric: int
) -> str | None:
    """The tier after one purchase (``upgrade_if_qualified``); ``current`` when no move.
    With increasing thresholds the qualified level is above ``current`` exactly when the
    metric reaches the next threshold."""
    threshold = ladder.next_threshold(current)
    if threshold is None or metric < threshold:
        return current
    if not money and lifetime < threshold:
        return current
    return ladder.qualified(metric)


def walk(
    program: Program,
    purchases: pl.DataFrame,
    standings: Mapping[int, Standing],
    now: datetime,
) -> Walk:
    """Replay the upgrade checks over ``purchases`` (``seq``, ``member_id``, ``at``,
    ``points``, ``total``, ``shipping``; time order) of the members in ``standings``."""
    start = since(program, now)
    money = is_money(program)
    ladder = _Ladder(program)
    state = {member: (s.tier_id, s.lifetime_earned, s.metric) for member, s in standings.items()}
    tiers: dict[int, str | None] = {}
    moves: list[TierMove] = []
    columns = ("seq", "member_id", "at", "points", "total", "shipping")
    for seq, member_id, at, points, total, shipping in purchases.select(columns).iter_rows():
        current, lifetime, metric = state[member_id]
        tiers[seq] = current
        counts = start is None or at >= start
        lifetime += points
        if counts:
            metric += total - shipping if money else points
        after = _step(ladder, money, current, lifetime, metric)
        if after != current:
            reason = f"upgrade: metric {metric} reached the threshold"
            moves.append(TierMove(member_id, current, after, metric, reason))
        state[member_id] = (after, lifetime, metric)
    return Walk(tiers, moves)
