"""Per-member summaries of the purchases, built in one pass (the expensive step at scale).

One group-by on (member, period) over every member purchase before the window's end gives
what the member-level KPIs need: orders, net sales and refunds in the window (``totals``), the
periods with a purchase in the window (``pairs``), and each member's first period
(``firsts``). Ten million purchases become at most one row per member and period.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.periods import period_of_day


@dataclass(frozen=True)
class MemberFrames:
    """``totals``: ``member_id``, ``orders``, ``net``, ``refunded`` (members who bought in the
    window); ``pairs``: ``member_id``, ``period`` (distinct, in the window); ``firsts``:
    ``member_id``, ``first`` (the period of the first purchase ever)."""

    totals: pl.DataFrame
    pairs: pl.DataFrame
    firsts: pl.DataFrame


KEY_SHIFT = 2**20  # period keys stay far below (months since year 0: about 24,300)


def member_frames(sales: pl.DataFrame, window: Window, period: Period) -> MemberFrames:
    """From the sales of :func:`.sales.with_net_sales`, limited to the window's end.

    The purchases are sorted once by (member, period) (an integer key: sorting is much
    cheaper than hashing millions of groups); the group-bys then run on sorted keys.
    """
    keyed = (
        sales.lazy()
        .filter(pl.col("member_id").is_not_null())
        .select(
            "net",
            "refunded",
            key=pl.col("member_id") * KEY_SHIFT + period_of_day(pl.col("day"), period),
            inside=window.contains("occurred_at"),
        )
        .sort("key")
        .select(
            "net",
            "refunded",
            "inside",
            pl.col("key").set_sorted(),
            member_id=(pl.col("key") // KEY_SHIFT).set_sorted(),
            period=(pl.col("key") % KEY_SHIFT).cast(pl.Int32),
        )
        .collect()
    )
    firsts = keyed.group_by("member_id", maintain_order=True).agg(first=pl.col("period").first())
    bought = keyed.filter("inside").with_columns(
        pl.col("member_id").set_sorted(), pl.col("key").set_sorted()
    )
    totals = bought.group_by("member_id", maintain_order=True).agg(
        orders=pl.len().cast(pl.Int64), net=pl.col("net").sum(), refunded=pl.col("refunded").sum()
    )
    pairs = bought.filter(pl.col("key") != pl.col("key").shift(fill_value=-1)).select(
        "member_id", "period"
    )
    return MemberFrames(totals=totals, pairs=pairs, firsts=firsts)
