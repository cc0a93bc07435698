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


def _ranks(ladder: _Ladder, value: pl.Expr) -> pl.Expr:
    """The rank of the highest level whose threshold ``value`` reaches (0: none)."""
    reached = [(value >= threshold).cast(pl.Int64) for threshold in ladder.values]
    return pl.sum_horizontal(reached) if reached else pl.lit(0, dtype=pl.Int64)


def _figures(
    program: Program, purchases: pl.DataFrame, standings: Mapping[int, Standing], now: datetime
) -> pl.DataFrame:
    """Per purchase (``pos``: its position): the member's cached lifetime points and metric
    after it, ``q`` the rank the metric qualifies for and ``p`` the rank the check lets the
    member reach (``upgrade_if_qualified`` moves a member of rank ``r`` when the metric,
    and in a points program the lifetime figure, reach the threshold of rank ``r + 1``:
    when ``p > r``; it moves to rank ``q``)."""
    ladder = _Ladder(program)
    start = since(program, now)
    money = is_money(program)
    members = list(standings)
    before = pl.DataFrame(
        {
            "member_id": members,
            "tier_before": [standings[m].tier_id for m in members],
            "rank_before": [ladder.rank(standings[m].tier_id) for m in members],
            "lifetime_before": [standings[m].lifetime_earned for m in members],
            "metric_before": [standings[m].metric for m in members],
        },
        schema={
            "member_id": pl.Int64(),
            "tier_before": pl.String(),
            "rank_before": pl.Int64(),
            "lifetime_before": pl.Int64(),
            "metric_before": pl.Int64(),
        },
    )
    counts = pl.lit(True) if start is None else pl.col("at") >= start
    earned = pl.col("total") - pl.col("shipping") if money else pl.col("points")
    frame = (
        purchases.select("seq", "member_id", "at", "points", "total", "shipping")
        .with_row_index("pos")
        .with_columns(pl.col("pos").cast(pl.Int64))
        .join(before, on="member_id", how="left", maintain_order="left")
        .with_columns(
            (pl.col("lifetime_before") + pl.col("points").cum_sum().over("member_id")).alias(
                "lifetime"
            ),
            (
                pl.col("metric_before")
                + pl.when(counts).then(earned).otherwise(0).cum_sum().over("member_id")
            ).alias("metric"),
        )
    )
    reachable = pl.col("metric") if money else pl.min_horizontal("metric", "lifetime")
    return frame.with_columns(
        _ranks(ladder, pl.col("metric")).alias("q"), _ranks(ladder, reachable).alias("p")
    )


def _moves(ladder: _Ladder, frame: pl.DataFrame) -> pl.DataFrame:
    """The upgrades (``member_id``, ``pos``, ``from_rank``, ``to_rank``, ``metric``): from
    each member's last move (or the start), the first purchase with ``p`` above the rank
    moves the member to its ``q`` (above ``p``'s threshold, so at least one level up: a
    member moves at most once per level)."""
    state = (
        frame.select("member_id", "rank_before")
        .unique("member_id")
        .select(
            "member_id",
            pl.col("rank_before").alias("rank"),
            pl.lit(-1, dtype=pl.Int64).alias("last"),
        )
    )
    found: list[pl.DataFrame] = []
    for _level in ladder.values:
        firsts = (
            frame.select("member_id", "pos", "p", "q", "metric")
            .join(state, on="member_id", how="inner", maintain_order="left")
            .filter((pl.col("p") > pl.col("rank")) & (pl.col("pos") > pl.col("last")))
            .unique("member_id", keep="first", maintain_order=True)
        )
        if not firsts.height:
            break
        found.append(
            firsts.select(
                "member_id",
                "pos",
                pl.col("rank").alias("from_rank"),
                pl.col("q").alias("to_rank"),
                "metric",
            )
        )
        moved = firsts.select("member_id", pl.col("q").alias("rank"), pl.col("pos").alias("last"))
        state = state.update(moved, on="member_id")
    schema = {
        "member_id": pl.Int64(),
        "pos": pl.Int64(),
        "from_rank": pl.Int64(),
        "to_rank": pl.Int64(),
        "metric": pl.Int64(),
    }
    return pl.concat(found).sort("pos") if found else pl.DataFrame(schema=schema)


def walk(
    program: Program,
    purchases: pl.DataFrame,
    standings: Mapping[int, Standing],
    now: datetime,
) -> Walk:
    """Replay the upgrade checks over ``purchases`` (``seq``, ``member_id``, ``at``,
    ``points``, ``total``, ``shipping``; time order) of the members in ``standings``: the
    figures after each purchase are running sums per member, and the moves are found
    level by level (see :func:`_moves`)."""
    ladder = _Ladder(program)
    frame = _figures(program, purchases, standings, now)
    moves = _moves(ladder, frame)
    names = pl.DataFrame(
        {"rank": list(range(1, len(ladder.ids) + 1)), "name": ladder.ids},
        schema={"rank": pl.Int64(), "name": pl.String()},
    )
    named = moves.join(
        names.rename({"rank": "to_rank", "name": "to_tier"}), on="to_rank", how="left"
    ).sort("pos")
    # the tier each purchase was made with: the last earlier move's, else the one before
    after = named.select("member_id", (pl.col("pos") + 1).alias("pos"), "to_tier")
    tiers = frame.join_asof(
        after, on="pos", by="member_id", strategy="backward", check_sortedness=False
    ).select("seq", pl.coalesce("to_tier", "tier_before").alias("tier"))
    # a move's from tier: the previous move's, else the member's tier before the batch
    first_tier = frame.select("member_id", "tier_before").unique("member_id")
    named = named.join(first_tier, on="member_id", how="left", maintain_order="left").with_columns(
        pl.col("to_tier")
        .shift()
        .over("member_id")
        .fill_null(pl.col("tier_before"))
        .alias("from_tier")
    )
    found = [
        TierMove(
            member, from_tier, to_tier, metric, f"upgrade: metric {metric} reached the threshold"
        )
        for member, from_tier, to_tier, metric in named.select(
            "member_id", "from_tier", "to_tier", "metric"
        ).iter_rows()
    ]
    return Walk(dict(zip(tiers["seq"].to_list(), tiers["tier"].to_list(), strict=True)), found)
