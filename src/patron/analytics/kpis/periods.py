"""Integer keys of days, weeks, months and quarters (UTC), so that 10 million purchases are
bucketed with integer arithmetic instead of calendar functions per row.

- day: days since 1970-01-01; week: ISO weeks (Monday first), ``(day + 3) // 7`` (1970-01-01
  was a Thursday); month: ``year × 12 + month − 1``; quarter: ``month // 3``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import Period

EPOCH = date(1970, 1, 1)


def day_of(column: str = "occurred_at") -> pl.Expr:
    return pl.col(column).dt.epoch("d").cast(pl.Int32)


def month_of_day(day: pl.Expr) -> pl.Expr:
    calendar = day.cast(pl.Date)
    return (calendar.dt.year().cast(pl.Int32) * 12 + calendar.dt.month().cast(pl.Int32) - 1).cast(
        pl.Int32
    )


def period_of_day(day: pl.Expr, period: Period) -> pl.Expr:
    if period is Period.WEEK:
        return ((day + 3) // 7).cast(pl.Int32)
    month = month_of_day(day)
    return month if period is Period.MONTH else (month // 3).cast(pl.Int32)


def period_keys(days: np.ndarray, period: Period) -> np.ndarray:
    """:func:`period_of_day` for an array of days, through a table of the distinct days (a
    purchase history spans a few thousand days, not millions)."""
    if days.size == 0:
        return days.astype(np.int32)
    first, last = int(days.min()), int(days.max())
    table = pl.select(
        period_of_day(pl.int_range(first, last + 1, dtype=pl.Int32), period)
    ).to_series()
    keys: np.ndarray = table.to_numpy()[days - first]
    return keys


def key_of(moment: datetime, period: Period) -> int:
    day = moment.date()
    if period is Period.WEEK:
        return ((day - EPOCH).days + 3) // 7
    month = day.year * 12 + day.month - 1
    return month if period is Period.MONTH else month // 3


def start_of(key: int, period: Period) -> date:
    """The first day of the period ``key``."""
    if period is Period.WEEK:
        return EPOCH + timedelta(days=key * 7 - 3)
    month = key if period is Period.MONTH else key * 3
    return date(month // 12, month % 12 + 1, 1)


def keys_of(start: datetime, end: datetime, period: Period) -> range:
    """The keys of the periods that meet ``[start, end)``."""
    last = key_of(end - timedelta(microseconds=1), period) if end > start else key_of(start, period)
    return range(key_of(start, period), last + 1)
