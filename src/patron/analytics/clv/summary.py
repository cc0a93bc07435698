"""From a purchase log to the per-customer summary that the CLV models read.

The summary follows Fader, Hardie & Lee (2005): purchases are first collapsed to periods (a
customer who buys twice on one day bought once that day), then per customer

- ``frequency`` (x): repeat purchase periods, i.e. distinct periods with a purchase minus one;
- ``recency`` (t_x): time from the first to the last purchase period;
- ``age`` (T): time from the first purchase period to the observation end;
- ``monetary_value`` (zbar): mean spend of the repeat periods (the first period is left out),
  0 for a customer without repeat purchases.

Times are counted in whole periods and reported in ``time_unit``: with daily periods and weekly
units a recency of 213 days is 30.43 weeks, as in the CDNOW summary of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import polars as pl

from patron.analytics.clv._arrays import AnyArray, BoolArray, FloatArray
from patron.analytics.clv._periods import period_totals
from patron.analytics.clv.errors import ClvInputError

_EPOCH = date(1970, 1, 1)


class TimeUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"

    @property
    def days(self) -> int:
        return 7 if self is TimeUnit.WEEKS else 1


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """Per-customer arrays of equal length; ``monetary_value`` is None when spend is unknown."""

    customer_id: AnyArray
    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary_value: FloatArray | None
    time_unit: TimeUnit

    def __post_init__(self) -> None:
        _check_summary(self)

    def __len__(self) -> int:
        return int(self.frequency.size)

    @property
    def is_repeat_buyer(self) -> BoolArray:
        return self.frequency > 0

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, *, time_unit: TimeUnit) -> CustomerSummary:
        """Read the columns ``customer_id, frequency, recency, age[, monetary_value]``."""
        monetary = frame.get_column("monetary_value") if "monetary_value" in frame.columns else None
        return cls(
            customer_id=frame.get_column("customer_id").to_numpy(),
            frequency=_floats(frame.get_column("frequency")),
            recency=_floats(frame.get_column("recency")),
            age=_floats(frame.get_column("age")),
            monetary_value=None if monetary is None else _floats(monetary),
            time_unit=time_unit,
        )

    def to_frame(self) -> pl.DataFrame:
        columns: dict[str, AnyArray] = {
            "customer_id": self.customer_id,
            "frequency": self.frequency,
            "recency": self.recency,
            "age": self.age,
        }
        if self.monetary_value is not None:
            columns["monetary_value"] = self.monetary_value
        return pl.DataFrame(columns)


@dataclass(frozen=True, slots=True)
class PurchaseColumns:
    """Names of the purchase log's columns; ``amount`` None when the log has no spend."""

    customer_id: str = "customer_id"
    purchased_at: str = "purchased_at"
    amount: str | None = "amount"


def summarise_purchases(
    purchases: pl.DataFrame | pl.LazyFrame,
    *,
    observation_end: date,
    time_unit: TimeUnit = TimeUnit.DAYS,
    period: TimeUnit = TimeUnit.DAYS,
    period_origin: date | None = None,
    columns: PurchaseColumns = PurchaseColumns(),
    time_zone: str = "UTC",
) -> CustomerSummary:
    """Summarise a purchase log up to and including the day ``observation_end``.

    ``purchased_at`` is a Date or a Datetime column; datetimes are read in ``time_zone`` (naive
    ones are taken as UTC) and cut to their calendar day. Weekly periods are counted from
    ``period_origin`` (default: the first purchase day in the log), so that week 1 of the CDNOW
    study is 1997-01-01 to 1997-01-07. Purchases after the observation end are ignored;
    customers are returned sorted by id.
    """
    frame = purchases.lazy()
    day = _day_number(frame.collect_schema(), columns.purchased_at, time_zone)
    end_day = (observation_end - _EPOCH).days
    frame = frame.select(
        pl.col(columns.customer_id).alias("customer_id"),
        day.alias("day"),
        (pl.col(columns.amount) if columns.amount else pl.lit(0.0))
        .cast(pl.Float64)
        .alias("amount"),
    ).filter(pl.col("day") <= end_day)
    end_period = end_day
    if period is TimeUnit.WEEKS:
        origin = _origin_day(frame, period_origin)
        frame = frame.with_columns((pl.col("day") - origin) // 7)
        end_period = (end_day - origin) // 7
    collected = frame.rename({"day": "period"}).collect()
    if collected.height == 0:
        raise ClvInputError("no purchases on or before the observation end")
    totals = period_totals(collected)
    del collected
    frequency = totals.periods - 1.0
    monetary = None
    if columns.amount:
        monetary = np.divide(
            totals.repeat_spend, frequency, out=np.zeros_like(frequency), where=frequency > 0
        )
    return CustomerSummary(
        customer_id=totals.customer_id,
        frequency=frequency,
        recency=(totals.last - totals.first) * period.days / time_unit.days,
        age=(end_period - totals.first) * period.days / time_unit.days,
        monetary_value=monetary,
        time_unit=time_unit,
    )


def _day_number(schema: pl.Schema, column: str, time_zone: str) -> pl.Expr:
    """Days since 1970-01-01 of the calendar day of each purchase."""
    dtype = schema.get(column)
    expression = pl.col(column)
    if dtype == pl.Date:
        return expression.cast(pl.Int32)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            expression = expression.dt.replace_time_zone("UTC")
        return expression.dt.convert_time_zone(time_zone).dt.date().cast(pl.Int32)
    raise ClvInputError(
        f"column {column!r} must be a Date or Datetime, not {dtype}",
        field=column,
        params={"column": column, "dtype": str(dtype)},
    )


def _origin_day(frame: pl.LazyFrame, period_origin: date | None) -> int:
    if period_origin is not None:
        return (period_origin - _EPOCH).days
    first = frame.select(pl.col("day").min()).collect().item()
    if first is None:
        raise ClvInputError("no purchases on or before the observation end")
    return int(first)


def _floats(series: pl.Series) -> FloatArray:
    return series.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)


def _check_summary(summary: CustomerSummary) -> None:
    arrays = [summary.customer_id, summary.frequency, summary.recency, summary.age]
    if summary.monetary_value is not None:
        arrays.append(summary.monetary_value)
    if len({array.shape for array in arrays}) != 1 or summary.frequency.ndim != 1:
        raise ClvInputError("summary arrays must be one-dimensional and of equal length")
    numbers = arrays[1:]
    if not all(np.isfinite(array).all() for array in numbers):
        raise ClvInputError("summary values must be finite")
    frequency, recency, age = summary.frequency, summary.recency, summary.age
    if (frequency < 0).any() or (frequency != np.floor(frequency)).any():
        raise ClvInputError("frequency must be a whole number >= 0", field="frequency")
    if (recency < 0).any() or (recency > age).any():
        raise ClvInputError("recency must lie between 0 and age", field="recency")
    if (recency[frequency == 0] != 0).any():
        raise ClvInputError("recency must be 0 without repeat purchases", field="recency")
