"""Everything a refresh computes, as pure functions: RFM and groups from the purchase history,
then the stored rows once the churn scores (from the CLV models) are known."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from patron.programs.segmentation import SegmentSettings
from patron.segments.churn import CHURN_SCHEMA, PREVIOUS_SCHEMA, at_risk, previous_p_alive
from patron.segments.groups import category_lovers, high_value, regular_buyers
from patron.segments.rfm import rfm


def score_members(
    purchases: pl.DataFrame, lines: pl.DataFrame, *, settings: SegmentSettings, as_of: datetime
) -> pl.DataFrame:
    """One row per member with a purchase (total above 0) at or before ``as_of``: the RFM
    values, scores and segment, ``is_high_value``, ``is_regular``, ``favourite_category``,
    ``favourite_category_share`` and ``is_category_lover``; sorted by member id."""
    counted = purchases.filter((pl.col("occurred_at") <= as_of) & (pl.col("total") > 0))
    scored = rfm(counted, as_of=as_of, segment_of=settings.segment_of())
    scored = scored.with_columns(
        high_value(scored.get_column("monetary"), share=settings.high_value_share)
    )
    regular = regular_buyers(counted, settings.regular)
    lovers = category_lovers(lines, share=settings.category_lover_share)
    return (
        scored.join(regular, on="member_id", how="left")
        .join(lovers, on="member_id", how="left")
        .with_columns(
            pl.col("is_regular").fill_null(False), pl.col("is_category_lover").fill_null(False)
        )
        .sort("member_id")
    )


def segment_rows(
    scores: pl.DataFrame,
    churn: pl.DataFrame | None,
    previous: pl.DataFrame,
    *,
    settings: SegmentSettings,
    program_id: int,
    currency: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The ``member_segments`` rows of one refresh at ``now``.

    ``churn`` (:data:`~patron.segments.churn.CHURN_SCHEMA`) holds the model scores, None when
    the models could not be fitted; ``previous`` (:data:`~patron.segments.churn.PREVIOUS_SCHEMA`)
    the rows stored before, from which ``previous_p_alive`` is carried.
    """
    churn = churn if churn is not None else pl.DataFrame(schema=CHURN_SCHEMA)
    carried = previous_p_alive(previous.cast(PREVIOUS_SCHEMA), now=now)
    frame = (
        scores.join(churn, on="member_id", how="left")
        .join(carried, on="member_id", how="left")
        .with_columns(
            at_risk(
                pl.col("is_high_value"),
                pl.col("p_alive"),
                pl.col("previous_p_alive"),
                threshold=settings.at_risk_p_alive,
            ).alias("is_at_risk"),
            pl.lit(program_id, dtype=pl.Int64).alias("program_id"),
            pl.lit(currency).alias("currency"),
            pl.lit(settings.clv_horizon_days, dtype=pl.Int64).alias("horizon_days"),
        )
    )
    columns = [
        "member_id", "program_id", "currency", "recency_days", "frequency", "monetary",
        "recency_score", "frequency_score", "monetary_score", "rfm_segment", "is_high_value",
        "is_regular", "is_category_lover", "favourite_category", "favourite_category_share",
        "p_alive", "previous_p_alive", "expected_purchases", "horizon_days", "clv",
        "is_at_risk",
    ]  # fmt: skip
    rows = frame.select(columns).to_dicts()
    for row in rows:
        row["computed_at"] = now
    return rows
