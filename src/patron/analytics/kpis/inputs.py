"""What the KPI functions read: the input frames, the reporting window and the settings.

Every frame is a plain Polars frame; the loader (:mod:`.repository`) fills them from the
database, tests build them by hand. Money is integer minor units of the program currency,
points are integers, times are UTC.

- ``purchases``: ``id``, ``member_id`` (null for a purchase without a member), ``occurred_at``,
  ``total``, ``shipping``; optionally ``customer_key`` (a shop's own key for any buyer, member
  or not, when the source has one: it makes non-members' repeat rate and frequency computable).
- ``returns``: ``purchase_id``, ``amount``, ``occurred_at``.
- ``members``: ``member_id``, ``enrolled_at``, ``tier`` (the current tier id, null for none).
- ``points``: one row per member: ``member_id``, ``issued``, ``redeemed``, ``expired`` (within
  the window), ``balance`` (at the window's end), ``redeemed_to_date`` and ``expired_to_date``
  (from the start of the program to the window's end). :func:`.points.member_points` builds it
  from ledger entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")

PURCHASES = {
    "id": pl.Int64,
    "member_id": pl.Int64,
    "occurred_at": UTC_TIME,
    "total": pl.Int64,
    "shipping": pl.Int64,
}
RETURNS = {"purchase_id": pl.Int64, "amount": pl.Int64, "occurred_at": UTC_TIME}
MEMBERS = {"member_id": pl.Int64, "enrolled_at": UTC_TIME, "tier": pl.String}
POINTS = {
    "member_id": pl.Int64,
    "issued": pl.Int64,
    "redeemed": pl.Int64,
    "expired": pl.Int64,
    "balance": pl.Int64,
    "redeemed_to_date": pl.Int64,
    "expired_to_date": pl.Int64,
    "opening": pl.Int64,
}


class Period(StrEnum):
    """The granularity of the per-period figures (churn, retention, trends)."""

    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"  # calendar months
    QUARTER = "quarter"

    @property
    def every(self) -> str:
        return {"week": "1w", "month": "1mo", "quarter": "1q"}[self.value]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A half-open interval of UTC instants ``[start, end)``."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Window:
        """From the start of day ``first`` to the end of day ``last`` (both included)."""
        return cls(day_start(first), day_start(last) + timedelta(days=1))

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def contains(self, column: str) -> pl.Expr:
        return (pl.col(column) >= self.start) & (pl.col(column) < self.end)


@dataclass(frozen=True)
class KpiSettings:
    """The business's own figures that the data cannot give (the "configuration").

    - ``margin_rate``: gross margin as a share of net sales (0.35 = 35 %); without it there
      is no ROI.
    - ``point_value``: what one point costs the business, in minor units; None: derived
      (:func:`.points.point_value`).
    - ``expected_redemption_rate``: the share of outstanding points expected to be redeemed
      one day; None: derived from the points settled so far.
    - ``operating_cost``: the program's running cost within the window (minor units), added
      to the reward cost.
    """

    margin_rate: float | None = None
    point_value: float | None = None
    expected_redemption_rate: float | None = None
    operating_cost: int = 0
    period: Period = Period.MONTH


@dataclass(frozen=True)
class KpiInputs:
    purchases: pl.DataFrame
    returns: pl.DataFrame
    members: pl.DataFrame
    points: pl.DataFrame
    # Per money-valued coupon issued (or catalogue reward): value in minor units and points.
    reward_values: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"value": pl.Int64, "cost_points": pl.Int64})
    )
    reward_values_source: str = "none"


def empty(schema: dict[str, pl.DataType] | dict[str, type[pl.DataType]]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
