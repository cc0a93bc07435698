"""RFM: recency, frequency and monetary value per member, their quintile scores, and the named
segment of each (R, F) cell. Pure functions over Polars frames; `docs/segments.md` has the
definitions and the worked examples.

A purchase frame has the columns ``member_id`` (Int64), ``occurred_at`` (UTC Datetime) and
``total`` (Int64, money for goods net of shipping and refunds, in minor units).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import polars as pl

PURCHASE_SCHEMA = pl.Schema(
    [("member_id", pl.Int64), ("occurred_at", pl.Datetime("us", "UTC")), ("total", pl.Int64)]
)
_DAY_MICROSECONDS = 86_400_000_000


def empty_purchases() -> pl.DataFrame:
    return pl.DataFrame(schema=PURCHASE_SCHEMA)


def rfm_values(purchases: pl.DataFrame, *, as_of: datetime) -> pl.DataFrame:
    """Per member with a purchase at or before ``as_of`` (sorted by member id):

    - ``recency_days``: whole days from the last purchase to ``as_of`` (rounded down);
    - ``frequency``: the number of purchases;
    - ``monetary``: the sum of their totals (minor units).

    Purchases after ``as_of`` and purchases with a total of 0 (fully refunded) are left out.
    """
    return (
        purchases.lazy()
        .filter((pl.col("occurred_at") <= as_of) & (pl.col("total") > 0))
        .group_by("member_id")
        .agg(
            pl.col("occurred_at").max().alias("last_at"),
            pl.len().cast(pl.Int64).alias("frequency"),
            pl.col("total").sum().cast(pl.Int64).alias("monetary"),
        )
        .with_columns(
            ((pl.lit(as_of) - pl.col("last_at")).dt.total_microseconds() // _DAY_MICROSECONDS)
            .cast(pl.Int64)
            .alias("recency_days")
        )
        .select("member_id", "recency_days", "frequency", "monetary")
        .sort("member_id")
        .collect()
    )


def quintile_scores(values: pl.Series) -> pl.Series:
    """Scores 1-5 by quintile of ``values`` (larger is better), ties sharing one score.

    Average-rank midpoint binning: with the values ranked 1..n ascending, a tied group of
    values holding ranks lo..hi stands at position p = ((lo + hi) / 2 - 1/2) / n, and its
    score is floor(5 p) + 1, computed in integers as 5 (lo + hi - 1) // (2 n) + 1. Distinct
    values fill the five quintiles evenly (n = 10: two members per score); equal values
    always score the same, whatever their member ids or their order in the frame.
    """
    n = values.len()
    if n == 0:
        return pl.Series(values.name, [], dtype=pl.Int8)
    frame = pl.DataFrame({"value": values})
    low = pl.col("value").rank("min").cast(pl.Int64)
    high = pl.col("value").rank("max").cast(pl.Int64)
    scores = frame.select(((5 * (low + high - 1)) // (2 * n) + 1).cast(pl.Int8).alias("score"))
    return scores.get_column("score").alias(values.name)


def grid_frame(segment_of: Mapping[tuple[int, int], str]) -> pl.DataFrame:
    """The (R, F) -> segment map as a frame of 25 rows."""
    cells = sorted(segment_of.items())
    return pl.DataFrame(
        {
            "recency_score": [r for (r, _f), _name in cells],
            "frequency_score": [f for (_r, f), _name in cells],
            "rfm_segment": [name for _cell, name in cells],
        },
        schema={"recency_score": pl.Int8, "frequency_score": pl.Int8, "rfm_segment": pl.String},
    )


def score_rfm(values: pl.DataFrame, segment_of: Mapping[tuple[int, int], str]) -> pl.DataFrame:
    """Add ``recency_score`` (fewer days scores higher), ``frequency_score``,
    ``monetary_score`` and the ``rfm_segment`` of the (R, F) cell to :func:`rfm_values`."""
    scored = values.with_columns(
        quintile_scores(-values.get_column("recency_days")).alias("recency_score"),
        quintile_scores(values.get_column("frequency")).alias("frequency_score"),
        quintile_scores(values.get_column("monetary")).alias("monetary_score"),
    )
    return scored.join(
        grid_frame(segment_of), on=["recency_score", "frequency_score"], how="left"
    ).sort("member_id")


def rfm(
    purchases: pl.DataFrame, *, as_of: datetime, segment_of: Mapping[tuple[int, int], str]
) -> pl.DataFrame:
    """:func:`rfm_values` scored by :func:`score_rfm`."""
    return score_rfm(rfm_values(purchases, as_of=as_of), segment_of)
