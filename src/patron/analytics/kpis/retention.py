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

The functions take the sales frame of :func:`.sales.with_net_sales` (its ``day`` column).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.periods import keys_of, period_of_day, start_of
from patron.analytics.kpis.sales import ratio


def member_periods(sales: pl.DataFrame, window: Window, period: Period) -> pl.DataFrame:
    """The distinct (``member_id``, ``period``) pairs of the members' purchases in the window,
    sorted by member, then period."""
    return (
        sales.lazy()
        .filter(pl.col("member_id").is_not_null() & window.contains("occurred_at"))
        .select("member_id", period=period_of_day(pl.col("day"), period))
        .unique()
        .sort("member_id", "period")
        .collect()
    )


def first_periods(sales: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Each member's first purchase period (``member_id``, ``first``)."""
    return (
        sales.lazy()
        .filter(pl.col("member_id").is_not_null())
        .group_by("member_id")
        .agg(first=period_of_day(pl.col("day").min(), period))
        .collect()
    )


def retention_rows(
    pairs: pl.DataFrame, firsts: pl.DataFrame, window: Window, period: Period
) -> list[dict[str, Any]]:
    """One row per period of the window from :func:`member_periods` (sorted by member, then
    period) and :func:`first_periods` (the first period has no S, so no CRR).

    A member is retained into period p when their previous row is period p − 1.
    """
    member, period_key = pl.col("member_id"), pl.col("period")
    returning = (member == member.shift()) & (period_key == period_key.shift() + 1)
    counts = (
        pairs.with_columns(returning=returning.fill_null(False))
        .group_by("period")
        .agg(customers=pl.len(), retained=pl.col("returning").sum())
    )
    customers = dict(counts.select("period", "customers").iter_rows())
    kept = dict(counts.select("period", "retained").iter_rows())
    first_counts = dict(firsts.group_by("first").len().iter_rows())
    rows: list[dict[str, Any]] = []
    previous: int | None = None
    for key in keys_of(window.start, window.end, period):
        end_count = customers.get(key, 0)
        row: dict[str, Any] = {
            "period": start_of(key, period).isoformat(),
            "customers": end_count,
            "first_time_customers": first_counts.get(key, 0),
        }
        if previous is not None:
            retained = kept.get(key, 0)
            acquired = end_count - retained
            crr = ratio(end_count - acquired, previous)
            row |= {
                "start_customers": previous,
                "end_customers": end_count,
                "acquired_customers": acquired,
                "retained_customers": retained,
                "retention_rate": crr,
                "churn_rate": None if crr is None else 1 - crr,
            }
        rows.append(row)
        previous = end_count
    return rows


def retention_by_period(
    sales: pl.DataFrame, window: Window, period: Period
) -> list[dict[str, Any]]:
    """Churn and retention of every period of the window."""
    return retention_rows(
        member_periods(sales, window, period), first_periods(sales, period), window, period
    )


def _cohort_counts(months: pl.DataFrame, cohorts: pl.DataFrame, keys: range) -> np.ndarray:
    """counts[c, k]: members of cohort ``keys[c]`` who bought in month ``keys[c] + k``.

    The first month is gathered by member id from an array (ids are a sequence); sparse ids
    take a join instead.
    """
    width = len(keys)
    member = months.get_column("member_id").to_numpy()
    size = int(cohorts.get_column("member_id").max() or 0) + 1  # type: ignore[arg-type]
    if size <= 4 * cohorts.height + 1_000_000 and (member.size == 0 or member.max() < size):
        first_by_id = np.full(size, -1, dtype=np.int64)
        first_by_id[cohorts.get_column("member_id").to_numpy()] = cohorts.get_column("first")
        first = first_by_id[member]
    else:
        joined = months.join(cohorts, on="member_id", how="left", maintain_order="left")
        first = joined.get_column("first").fill_null(-1).to_numpy().astype(np.int64)
    month = months.get_column("period").to_numpy().astype(np.int64)
    chosen = (first >= keys.start) & (first < keys.stop)
    cell = (first[chosen] - keys.start) * width + (month[chosen] - first[chosen])
    return np.bincount(cell, minlength=width * width).reshape(width, width)


def cohort_rows(
    months: pl.DataFrame, cohorts: pl.DataFrame, window: Window
) -> list[dict[str, Any]]:
    """The cohort matrix from the members' distinct purchase months (``member_id``,
    ``period``: month keys, those in the window suffice) and their first months
    (``member_id``, ``first``)."""
    keys = keys_of(window.start, window.end, Period.MONTH)
    counts = _cohort_counts(months, cohorts, keys)
    rows: list[dict[str, Any]] = []
    for index, key in enumerate(keys):
        line = counts[index]
        if line[0] == 0:
            continue
        members = [int(count) for count in line[: int(np.flatnonzero(line).max()) + 1]]
        rows.append(
            {
                "cohort": start_of(key, Period.MONTH).isoformat()[:7],
                "size": members[0],
                "members": members,
                "rates": [count / members[0] for count in members],
            }
        )
    return rows


def cohort_matrix(sales: pl.DataFrame, window: Window) -> list[dict[str, Any]]:
    """One row per cohort month: its size, and per month offset k the count and the rate."""
    return cohort_rows(
        member_periods(sales, window, Period.MONTH), first_periods(sales, Period.MONTH), window
    )
