"""Per-member summaries of the purchases (the expensive step at scale).

What the member-level KPIs need from every member purchase before the window's end: orders,
net sales and refunds in the window (``totals``), the periods with a purchase in the window
(``pairs``, sorted by member, then period), and each member's first period (``firsts``).

Member ids are dense (a sequence), so the usual path indexes NumPy arrays by id: sums with
``np.add.at``, a member × period bitmap for the pairs, ``np.minimum.at`` for the first day;
each is one linear pass, with no hashing and no sorting of ten million rows. When the ids are
too sparse or the bitmap too big, one sort by an integer (member, period) key does it instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.periods import keys_of, period_keys, period_of_day


@dataclass(frozen=True)
class MemberFrames:
    """``totals``: ``member_id``, ``orders``, ``net``, ``refunded`` (members who bought in the
    window); ``pairs``: ``member_id``, ``period`` (distinct, in the window); ``firsts``:
    ``member_id``, ``first`` (the period of the first purchase ever)."""

    totals: pl.DataFrame
    pairs: pl.DataFrame
    firsts: pl.DataFrame


KEY_SHIFT = 2**20  # period keys stay far below (months since year 0: about 24,300)
BITMAP_CELLS = 400_000_000  # the largest member × period bitmap (bytes)
NO_DAY = np.iinfo(np.int32).max


def member_frames(
    sales: pl.DataFrame, window: Window, period: Period, *, dense: bool | None = None
) -> MemberFrames:
    """From the sales of :func:`.sales.with_net_sales`, limited to the window's end.

    ``dense``: force (True) or forbid (False) the array path; None chooses by size.
    """
    members = (
        sales.lazy()
        .select("member_id", "net", "refunded", "day", "occurred_at")
        .filter(pl.col("member_id").is_not_null())
        .collect()
    )
    size = int(members.get_column("member_id").max() or 0) + 1  # type: ignore[arg-type]
    keys = keys_of(window.start, window.end, period)
    fits = size * len(keys) <= BITMAP_CELLS and size <= 4 * members.height + 1_000_000
    if dense if dense is not None else fits:
        return _dense_frames(members, window, period, size)
    return _sorted_frames(members, window, period)


def _dense_frames(members: pl.DataFrame, window: Window, period: Period, size: int) -> MemberFrames:
    keys = keys_of(window.start, window.end, period)
    columns = members.select(
        "member_id", "net", "refunded", "day", inside=window.contains("occurred_at")
    )
    member = columns.get_column("member_id").to_numpy()
    inside = columns.get_column("inside").to_numpy()
    bought = member[inside]
    sums = {}
    for name in ("net", "refunded"):
        total = np.zeros(size, dtype=np.int64)
        np.add.at(total, bought, columns.get_column(name).to_numpy()[inside])
        sums[name] = total
    orders = np.bincount(bought, minlength=size).astype(np.int64)
    ids = np.flatnonzero(orders)
    totals = pl.DataFrame(
        {"member_id": ids.astype(np.int64), "orders": orders[ids]}
        | {name: values[ids] for name, values in sums.items()}
    )
    bitmap = np.zeros((size, len(keys)), dtype=np.bool_)
    days = columns.get_column("day").to_numpy()
    bitmap[bought, period_keys(days[inside], period) - keys.start] = True
    rows, offsets = np.nonzero(bitmap)
    pairs = pl.DataFrame(
        {"member_id": rows.astype(np.int64), "period": (offsets + keys.start).astype(np.int32)}
    )
    first_day = np.full(size, NO_DAY, dtype=np.int32)
    np.minimum.at(first_day, member, days)
    seen = np.flatnonzero(first_day != NO_DAY)
    firsts = pl.DataFrame(
        {"member_id": seen.astype(np.int64), "first": period_keys(first_day[seen], period)}
    )
    return MemberFrames(totals=totals, pairs=pairs, firsts=firsts)


def _sorted_frames(sales: pl.DataFrame, window: Window, period: Period) -> MemberFrames:
    """The same by one sort on an integer (member, period) key and sorted group-bys."""
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
