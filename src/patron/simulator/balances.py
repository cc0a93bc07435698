"""Month by month: points issued, pending, available and expired, as the ledger would hold
them at each month end if nobody redeemed (the expected redemptions are applied in money,
see :mod:`patron.simulator.service`).

Months are local months of the program's time zone; a month end is the first instant of the
next local month. At a month end ``M`` a lot earned at ``at < M`` is pending while
``pending_until > M``, expired once ``expires_at <= M``, available in between (the ledger's
reading of a balance "as of now").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from patron.kit.time import local, start_of_local_day


@dataclass(frozen=True, slots=True)
class Month:
    label: str  # YYYY-MM, local
    end: datetime  # UTC, the first instant of the next local month


def month_grid(timezone: str, first: datetime, last: datetime) -> list[Month]:
    """Every local month from ``first``'s to ``last``'s, with its end."""
    start, stop = local(first, timezone).date(), local(last, timezone).date()
    months: list[Month] = []
    year, month = start.year, start.month
    while (year, month) <= (stop.year, stop.month):
        following = date(year + month // 12, month % 12 + 1, 1)
        months.append(Month(f"{year:04d}-{month:02d}", start_of_local_day(following, timezone)))
        year, month = following.year, following.month
    return months


@dataclass(frozen=True, slots=True)
class PointSeries:
    """Per month (arrays of one value per month): ``issued``, ``expired`` in the month;
    ``pending``, ``available`` at its end. ``expiring_later``: points still outstanding at
    the last month end that have an expiry date."""

    issued: np.ndarray
    expired: np.ndarray
    pending: np.ndarray
    available: np.ndarray
    expiring_later: int


def _month_index(frame: pl.DataFrame, column: str, ends: np.ndarray, side: str) -> np.ndarray:
    values = frame[column].dt.epoch("us").to_numpy()
    return np.searchsorted(ends, values, side=side)  # type: ignore[call-overload,no-any-return]


def _per_month(index: np.ndarray, points: np.ndarray, months: int) -> np.ndarray:
    found = np.zeros(months + 1, dtype=np.int64)
    np.add.at(found, np.minimum(index, months), points)
    return found[:months]


def point_series(purchases: pl.DataFrame, ends_us: list[int]) -> PointSeries:
    """``purchases``: ``at``, ``points``, ``pending_until``, ``expires_at`` (as
    :class:`~patron.simulator.replay.Replay` gives them); ``ends_us``: month ends in
    microseconds since the epoch, ascending."""
    lots = purchases.filter(pl.col("points") > 0).select(
        "points",
        "at",
        pl.coalesce("pending_until", "at").alias("active_from"),
        pl.col("expires_at").fill_null(pl.datetime(9999, 1, 1, time_zone="UTC")),
        pl.col("expires_at").is_not_null().alias("expires"),
    )
    ends = np.asarray(ends_us, dtype=np.int64)
    months = len(ends_us)
    points = lots["points"].to_numpy().astype(np.int64)
    issued_at = _month_index(lots, "at", ends, "right")
    active_at = np.maximum(_month_index(lots, "active_from", ends, "left"), issued_at)
    expired_at = np.maximum(_month_index(lots, "expires_at", ends, "left"), active_at)
    issued = _per_month(issued_at, points, months)
    active = _per_month(active_at, points, months)
    expired = _per_month(expired_at, points, months)
    issued_sum, active_sum, expired_sum = (np.cumsum(a) for a in (issued, active, expired))
    later = lots["expires"].to_numpy() & (expired_at >= months)
    return PointSeries(
        issued=issued,
        expired=expired,
        pending=issued_sum - active_sum,
        available=active_sum - expired_sum,
        expiring_later=int(points[later].sum()),
    )


def added(first: PointSeries, second: PointSeries) -> PointSeries:
    """The two series of the same months, added (purchases' lots and campaign credits)."""
    return PointSeries(
        issued=first.issued + second.issued,
        expired=first.expired + second.expired,
        pending=first.pending + second.pending,
        available=first.available + second.available,
        expiring_later=first.expiring_later + second.expiring_later,
    )
