"""Churn risk: the win-back list of high-value members whose P(alive) is low and falling.

P(alive), expected purchases and CLV come from the BG/NBD and Gamma-Gamma models of
:mod:`patron.analytics.clv`; the refresh job fits them and hands the scores in as a frame
(:data:`CHURN_SCHEMA`), so that this domain never depends on analytics.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl

CHURN_SCHEMA = pl.Schema(
    [
        ("member_id", pl.Int64),
        ("p_alive", pl.Float64),
        ("expected_purchases", pl.Float64),
        ("clv", pl.Int64),
    ]
)
PREVIOUS_SCHEMA = pl.Schema(
    [
        ("member_id", pl.Int64),
        ("p_alive", pl.Float64),
        ("previous_p_alive", pl.Float64),
        ("computed_at", pl.Datetime("us", "UTC")),
    ]
)


def previous_p_alive(previous: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """``member_id`` and the ``previous_p_alive`` a refresh at ``now`` keeps.

    A refresh on a later UTC day than the stored row moves the stored P(alive) to
    ``previous_p_alive``; a refresh on the same UTC day keeps the stored
    ``previous_p_alive``, so that running the job twice a day changes nothing.
    """
    same_day = pl.col("computed_at").dt.date() == now.date()
    return previous.select(
        "member_id",
        pl.when(same_day)
        .then(pl.col("previous_p_alive"))
        .otherwise(pl.col("p_alive"))
        .alias("previous_p_alive"),
    )


def at_risk(
    is_high_value: pl.Expr, p_alive: pl.Expr, previous: pl.Expr, *, threshold: Decimal
) -> pl.Expr:
    """High value, P(alive) below ``threshold`` and falling.

    Falling: below the P(alive) of the previous refresh; a member without one (scored for the
    first time) counts as falling, since P(alive) only drops while a customer does not buy.
    A member without a P(alive) (the models could not be fitted) is never at risk.
    """
    falling = previous.is_null() | (p_alive < previous)
    flagged = is_high_value & p_alive.is_not_null() & (p_alive < float(threshold)) & falling
    return flagged.fill_null(False)
