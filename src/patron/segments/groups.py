"""Behavioural groups: high-value customers, regular buyers, category lovers. Pure functions
over Polars frames; the thresholds come from the program's ``segments:`` section."""

from __future__ import annotations

import math
from decimal import Decimal

import polars as pl

from patron.programs.segmentation import RegularBuyers

LINE_SCHEMA = pl.Schema({"member_id": pl.Int64, "category": pl.String, "amount": pl.Int64})
_DAY_SECONDS = 86_400.0


def empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=LINE_SCHEMA)


def high_value(monetary: pl.Series, *, share: Decimal) -> pl.Series:
    """True for the top ``share`` of members by monetary value.

    The cut-off is the value of the member ranked ceil(share x n) from the top; every member
    at or above it (ties at the cut-off are all in) with a value above 0 is high value.
    """
    n = monetary.len()
    if n == 0:
        return pl.Series("is_high_value", [], dtype=pl.Boolean)
    rank = max(1, math.ceil(share * n))
    cut_off = monetary.sort(descending=True)[rank - 1]
    flags: pl.Series = (monetary >= cut_off) & (monetary > 0)
    return flags.alias("is_high_value")


def regular_buyers(purchases: pl.DataFrame, rule: RegularBuyers) -> pl.DataFrame:
    """``member_id`` and ``is_regular`` for every member in ``purchases``.

    Intervals are the times between a member's consecutive purchases, in days with
    fractions. Regular: at least ``rule.min_purchases`` purchases, a mean interval above 0
    and at most ``rule.max_mean_interval_days``, and a coefficient of variation of the
    intervals (population standard deviation / mean) of at most
    ``rule.max_interval_variation``.
    """
    intervals = (
        purchases.lazy()
        .sort("member_id", "occurred_at")
        .with_columns(
            (pl.col("occurred_at").diff().over("member_id").dt.total_seconds() / _DAY_SECONDS)
            .cast(pl.Float64)
            .alias("interval")
        )
        .group_by("member_id")
        .agg(
            pl.len().alias("purchases"),
            pl.col("interval").mean().alias("mean"),
            pl.col("interval").std(ddof=0).alias("deviation"),
        )
    )
    mean = pl.col("mean")
    is_regular = (
        (pl.col("purchases") >= rule.min_purchases)
        & (mean > 0)
        & (mean <= rule.max_mean_interval_days)
        & (pl.col("deviation") <= mean * float(rule.max_interval_variation))
    )
    return (
        intervals.select("member_id", is_regular.fill_null(False).alias("is_regular"))
        .sort("member_id")
        .collect()
    )


def category_lovers(lines: pl.DataFrame, *, share: Decimal) -> pl.DataFrame:
    """Per member with line spend above 0: ``favourite_category``, its
    ``favourite_category_share`` of the member's line spend, and ``is_category_lover``.

    Spend is the lines' net amounts (minor units, returned quantities left out); lines
    without a category count in the member's total but are never a favourite. The favourite
    is the category with the most spend, ties going to the first name in alphabetical order.
    A category lover's favourite holds at least ``share`` of the spend (compared exactly, in
    integers).
    """
    numerator, denominator = share.as_integer_ratio()
    totals = lines.group_by("member_id").agg(pl.col("amount").sum().alias("spend"))
    favourites = (
        lines.filter(pl.col("category").is_not_null())
        .group_by("member_id", "category")
        .agg(pl.col("amount").sum().alias("category_spend"))
        .sort(["member_id", "category_spend", "category"], descending=[False, True, False])
        .group_by("member_id", maintain_order=True)
        .first()
    )
    joined = totals.filter(pl.col("spend") > 0).join(favourites, on="member_id", how="left")
    spend = pl.col("category_spend").fill_null(0)
    return joined.select(
        "member_id",
        pl.col("category").alias("favourite_category"),
        pl.when(pl.col("category").is_not_null())
        .then(spend / pl.col("spend"))
        .alias("favourite_category_share"),
        (spend * denominator >= pl.col("spend") * numerator).alias("is_category_lover"),
    ).sort("member_id")
