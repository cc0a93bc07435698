"""The tier each member holds at given moments of a replay (a campaign on another trigger
whose audience or ``tier_in`` reads the tier, checked at its occurrence's moment).

Each moment is walked as a purchase of nothing (no spend, no points) after the member's
purchases of that instant, with the replay's settled points for the real purchases: such a
purchase changes no metric, so the walk (:func:`patron.simulator.walk.walk`) gives the real
purchases their walked tiers again, and the moment the tier the member holds then (the
upgrades of their earlier purchases, the month-end reviews before it). A member with no
purchase before the moment has no tier.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime

import numpy as np
import polars as pl

from patron.programs.schema import Program
from patron.simulator.replay import walk_input
from patron.simulator.walk import walk


def tiers_at(
    program: Program,
    purchases: pl.DataFrame,
    month_ends: list[datetime],
    queries: Sequence[tuple[Hashable, datetime]],
) -> list[str | None]:
    """The tier of each ``(member, moment)`` of ``queries``; ``purchases``: the replay's
    member purchases (``seq``, ``member``, ``at``, ``points``)."""
    if not queries:
        return []
    levels = [level.id for level in program.tiers.levels] if program.tiers is not None else []
    if not levels:
        return [None] * len(queries)
    dtype = purchases.schema["member"]
    stamp = pl.Datetime("us", "UTC")
    real = purchases.select(
        "member",
        pl.col("at").cast(stamp),
        pl.col("points").cast(pl.Int64),
        pl.col("total").cast(pl.Int64),
        pl.col("shipping").cast(pl.Int64),
        pl.lit(-1, dtype=pl.Int64).alias("query"),
    )
    count = len(queries)
    asked = pl.DataFrame(
        {
            "member": pl.Series([member for member, _ in queries], dtype=dtype),
            "at": pl.Series([moment for _, moment in queries], dtype=stamp),
            "points": pl.Series([0] * count, dtype=pl.Int64),
            "total": pl.Series([0] * count, dtype=pl.Int64),
            "shipping": pl.Series([0] * count, dtype=pl.Int64),
            "query": pl.Series(range(count), dtype=pl.Int64),
        }
    )
    frame = (
        pl.concat([real, asked])
        .with_columns(pl.col("member").rank("dense").cast(pl.Int64).alias("member_index"))
        .sort(
            "member_index", "at", "query", maintain_order=True
        )  # a moment after the purchases of its instant
    )
    data = walk_input(program, frame, month_ends)
    points = frame["points"].to_numpy().astype(np.int64)
    table = np.repeat(points[np.newaxis, :], len(levels) + 1, axis=0)
    ranks = walk(program, data, table).ranks
    names: list[str | None] = [None, *levels]
    found: list[str | None] = [None] * count
    query = frame["query"].to_numpy()
    for row in np.flatnonzero(query >= 0).tolist():
        found[int(query[row])] = names[int(ranks[row])]
    return found
