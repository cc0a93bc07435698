"""Scoring a batch on the vectorised path: points, tiers, breakdown, lot timing.

Points come from :func:`patron.rules.vectorised.score_frame` (the rules' prior usage read
from ``rule_usages``, each purchase's tier from ``members``), then the tier upgrades the
batch itself causes are settled by rescoring (:mod:`patron.purchases.bulk.tiers`). Members
whose tiers do not settle within a few rounds are handed back for the per-event path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from patron.programs.schema import Program
from patron.purchases.bulk.tiers import Standing, TierMove, Walk, candidates, walk
from patron.purchases.bulk.timing import with_lot_timing
from patron.purchases.bulk.trace import breakdowns
from patron.rules.vectorised import score_frame

MetricsLoader = Callable[[list[int]], Awaitable[dict[int, int]]]
_EXTRA_ROUNDS = 2


@dataclass(frozen=True, slots=True)
class ScoredBatch:
    """``purchases``: the input plus ``score`` (the rules' points), ``points`` (what the
    member earns: 0 without a member), ``base_points``, ``applied_rule_ids``, ``tier_id``
    (the tier each purchase was scored with), ``breakdown``, ``pending_until`` and
    ``expires_at``; ``moves``: tier upgrades in time order; ``unsettled``: members whose
    purchases are left out, for the per-event path."""

    purchases: pl.DataFrame
    moves: list[TierMove]
    unsettled: list[int]


def _score(
    program: Program, purchases: pl.DataFrame, lines: pl.DataFrame, prior: pl.DataFrame
) -> pl.DataFrame:
    frame = purchases.select(
        "seq",
        "member_id",
        pl.col("at").alias("occurred_at"),
        pl.col("total_minor").alias("total"),
        pl.col("shipping_minor").alias("shipping"),
        "channel",
        "store",
        "tier_id",
    )
    wanted = (
        lines.filter(pl.col("seq").is_in(purchases["seq"].to_list())) if lines.height else lines
    )
    line_frame = wanted.select(
        "seq",
        "sku",
        "category",
        "quantity",
        pl.col("unit_price_minor").alias("unit_price"),
        pl.col("discount_minor").alias("discount"),
    )
    scored = score_frame(program, frame, line_frame, prior_usage=prior, purchase_key="seq")
    return scored.select("seq", pl.col("points").alias("score"), "base_points", "applied_rule_ids")


def _with_scores(purchases: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    joined = purchases.drop("score", "base_points", "applied_rule_ids", strict=False).join(
        scored, on="seq", how="left", maintain_order="left"
    )
    member_points = pl.when(pl.col("member_id").is_not_null()).then(pl.col("score")).otherwise(0)
    return joined.with_columns(member_points.alias("points"))


def _walked(
    program: Program, purchases: pl.DataFrame, standings: dict[int, Standing], now: datetime
) -> Walk:
    members = list(standings)
    own = purchases.filter(pl.col("member_id").is_in(members).fill_null(False)).select(
        "seq",
        "member_id",
        "at",
        "points",
        pl.col("total_minor").alias("total"),
        pl.col("shipping_minor").alias("shipping"),
    )
    return walk(program, own, standings, now)


def _changed(purchases: pl.DataFrame, tiers: dict[int, str | None]) -> pl.DataFrame:
    """(seq, member_id, tier_id) of the walked purchases whose tier differs from the one
    they were scored with."""
    walked = pl.DataFrame(
        {"seq": list(tiers), "walked": list(tiers.values())},
        schema={"seq": pl.Int64(), "walked": pl.String()},
    )
    joined = purchases.select("seq", "member_id", "tier_id").join(walked, on="seq", how="inner")
    return joined.filter(pl.col("tier_id").ne_missing(pl.col("walked")))


def _retiered(
    purchases: pl.DataFrame, tiers: dict[int, str | None], members: list[int]
) -> pl.DataFrame:
    """``purchases`` with the walked tiers of ``members``' purchases."""
    walked = pl.DataFrame(
        {"seq": list(tiers), "walked": list(tiers.values())},
        schema={"seq": pl.Int64(), "walked": pl.String()},
    )
    joined = purchases.join(walked, on="seq", how="left", maintain_order="left")
    moving = pl.col("member_id").is_in(members).fill_null(False)
    tier = pl.when(moving).then(pl.col("walked")).otherwise(pl.col("tier_id"))
    return joined.with_columns(tier.alias("tier_id")).drop("walked")


async def _standings(
    program: Program, purchases: pl.DataFrame, load_metrics: MetricsLoader
) -> dict[int, Standing]:
    """The members of the batch who might move up, with their figures before the batch."""
    members = purchases.filter(pl.col("member_id").is_not_null()).unique("member_id", keep="first")
    moving = candidates(program, members, purchases.select("member_id", "points"))
    if not moving:
        return {}
    metrics = await load_metrics(moving)
    rows = members.filter(pl.col("member_id").is_in(moving).fill_null(False))
    return {
        member_id: Standing(tier_id, lifetime, metrics.get(member_id, 0))
        for member_id, tier_id, lifetime in rows.select(
            "member_id", "tier_id", "lifetime_earned"
        ).iter_rows()
    }


async def _settle_tiers(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    prior: pl.DataFrame,
    load_metrics: MetricsLoader,
    now: datetime,
) -> tuple[pl.DataFrame, list[TierMove], list[int]]:
    """Rescore until every walked tier is the tier the purchase was scored with; returns
    the purchases, the moves of the settled members and the unsettled members."""
    standings = await _standings(program, purchases, load_metrics)
    moves: dict[int, list[TierMove]] = {}
    rounds = len(program.tiers.levels) + _EXTRA_ROUNDS if program.tiers is not None else 0
    for _round in range(rounds):
        if not standings:
            break
        result = _walked(program, purchases, standings, now)
        for member_id in standings:
            moves[member_id] = []
        for move in result.moves:
            moves[move.member_id].append(move)
        affected = _changed(purchases, result.tiers)["member_id"].unique().to_list()
        if not affected:
            standings = {}
            break
        purchases = _retiered(purchases, result.tiers, affected)
        subset = purchases.filter(pl.col("member_id").is_in(affected).fill_null(False))
        kept = purchases.filter(~pl.col("member_id").is_in(affected).fill_null(False))
        rescored = _with_scores(subset, _score(program, subset, lines, prior))
        purchases = pl.concat([kept, rescored.select(kept.columns)]).sort("seq")
        standings = {member: standings[member] for member in affected}
    settled = [move for member, found in moves.items() if member not in standings for move in found]
    return purchases, settled, list(standings)


async def score_batch(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    prior: pl.DataFrame,
    load_metrics: MetricsLoader,
    now: datetime,
) -> ScoredBatch:
    """Score the purchases of ``purchases`` (``seq`` order; ``member_id``, ``tier_id`` and
    ``lifetime_earned`` of the member before the batch) with their ``lines``."""
    scored = _with_scores(purchases, _score(program, purchases, lines, prior))
    scored, moves, unsettled = await _settle_tiers(program, scored, lines, prior, load_metrics, now)
    if unsettled:
        scored = scored.filter(~pl.col("member_id").is_in(unsettled).fill_null(False))
    positions = scored.select("seq").with_row_index("i")
    line_frame = (
        lines.join(positions, on="seq", how="inner")
        .sort("i", "line_no")
        .select(
            pl.col("i").cast(pl.Int64),
            "sku",
            "category",
            "quantity",
            pl.col("unit_price_minor").alias("unit_price"),
            pl.col("paid_minor").alias("amount"),
        )
    )
    facts = scored.select(
        "member_id",
        "at",
        pl.col("total_minor").alias("total"),
        pl.col("shipping_minor").alias("shipping"),
        "channel",
        "store",
        "tier_id",
    )
    texts = breakdowns(
        program,
        facts,
        line_frame,
        scored.select(pl.col("score").alias("points"), "base_points", "applied_rule_ids"),
        prior,
    )
    scored = with_lot_timing(scored.with_columns(texts.alias("breakdown")), program)
    return ScoredBatch(scored, moves, unsettled)
