"""Customer retention: churn and retention per period, and the cohort retention matrix.

Definitions (``docs/metrics.md``):
- Customers are members; a member is a **customer of period p** when they bought in p (periods
  are calendar weeks, months or quarters in UTC, counted inside the window only).
- For each period after the first: S = customers of the previous period, E = customers of p,
  N = customers of p who were not customers of the previous period (new and returning ones).
  **Customer retention rate** CRR = (E − N) / S; **churn rate** = 1 − CRR.
- **Cohort matrix**: a member's cohort is the month of their first purchase ever (before the
  window's end); cell (c, k) counts the members of cohort c who bought in month c + k, and its
  rate divides by the cohort's size (k = 0 is always 100 %). Cohorts starting in the window.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.sales import ratio


def _member_periods(sales: pl.DataFrame, window: Window, period: Period) -> pl.DataFrame:
    return (
        sales.lazy()
        .filter(pl.col("member_id").is_not_null() & window.contains("occurred_at"))
        .select("member_id", period=pl.col("occurred_at").dt.truncate(period.every).dt.date())
        .unique()
        .collect()
    )


def _period_starts(window: Window, period: Period) -> list[Any]:
    first = pl.select(pl.lit(window.start).dt.truncate(period.every).dt.date()).item()
    last = window.end.date()
    starts = pl.date_range(first, last, period.every, eager=True, closed="left").to_list()
    return starts or [first]


def retention_by_period(
    sales: pl.DataFrame, window: Window, period: Period
) -> list[dict[str, Any]]:
    """One row per period of the window (the first has no S, so no CRR)."""
    pairs = _member_periods(sales, window, period)
    customers = dict(pairs.group_by("period").len().iter_rows())
    following = pairs.select("member_id", period=pl.col("period").dt.offset_by(period.every))
    retained = dict(
        pairs.join(following, on=["member_id", "period"]).group_by("period").len().iter_rows()
    )
    first_purchase = (
        sales.filter(pl.col("member_id").is_not_null())
        .group_by("member_id")
        .agg(first=pl.col("occurred_at").min().dt.truncate(period.every).dt.date())
    )
    first_counts = dict(first_purchase.group_by("first").len().iter_rows())
    rows: list[dict[str, Any]] = []
    previous: int | None = None
    for start in _period_starts(window, period):
        end_count = customers.get(start, 0)
        row: dict[str, Any] = {
            "period": start.isoformat(),
            "customers": end_count,
            "first_time_customers": first_counts.get(start, 0),
        }
        if previous is not None:
            kept = retained.get(start, 0)
            acquired = end_count - kept
            crr = ratio(end_count - acquired, previous)
            row |= {
                "start_customers": previous,
                "end_customers": end_count,
                "acquired_customers": acquired,
                "retained_customers": kept,
                "retention_rate": crr,
                "churn_rate": None if crr is None else 1 - crr,
            }
        rows.append(row)
        previous = end_count
    return rows


def cohort_matrix(sales: pl.DataFrame, window: Window) -> list[dict[str, Any]]:
    """One row per cohort month: its size, and per month offset k the count and the rate."""
    members = sales.filter(pl.col("member_id").is_not_null()).select(
        "member_id", month=pl.col("occurred_at").dt.truncate("1mo").dt.date()
    )
    cohorts = members.group_by("member_id").agg(cohort=pl.col("month").min())
    start, end = window.start.date(), window.end.date()
    active = (
        members.unique()
        .join(cohorts, on="member_id")
        .filter((pl.col("cohort") >= start) & (pl.col("cohort") < end))
        .with_columns(
            offset=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("cohort").dt.month()
        )
        .group_by("cohort", "offset")
        .len()
        .sort("cohort", "offset")
    )
    rows: list[dict[str, Any]] = []
    for (cohort,), cells in active.group_by("cohort", maintain_order=True):
        counts = dict(zip(cells["offset"].to_list(), cells["len"].to_list(), strict=True))
        size = counts[0]
        width = max(counts) + 1
        members_by_offset = [counts.get(k, 0) for k in range(width)]
        rows.append(
            {
                "cohort": cohort.isoformat()[:7],
                "size": size,
                "members": members_by_offset,
                "rates": [count / size for count in members_by_offset],
            }
        )
    return rows
