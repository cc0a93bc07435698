"""Per-customer totals over purchase periods, the heavy step of the summary.

Two implementations give the same result. Integer customer ids in a compact range (member
ids are) take the NumPy path: one sort of a combined (customer, period) key, then counts and
sums by ``bincount``. Every other id type takes a hash grouping by (customer, period) and then
by customer in Polars. On 9.6 million purchases of a million customers the NumPy path took
0.7-1.5 s against 10-11 s for the Polars one (2 busy shared cores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from patron.analytics.clv._arrays import AnyArray, FloatArray

_I64 = np.int64
_Integers: TypeAlias = npt.NDArray[np.integer[Any]]
# The NumPy path allocates arrays as long as the id range; it is taken while that range is
# at most this many times the number of purchases.
_MAX_ID_SPREAD = 4


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """Per customer (sorted by id): first and last period, periods with a purchase, and the
    spend of all periods after the first."""

    customer_id: AnyArray
    first: FloatArray
    last: FloatArray
    periods: FloatArray
    repeat_spend: FloatArray


def period_totals(purchases: pl.DataFrame) -> PeriodTotals:
    """Totals of a frame with columns customer_id, period (integer), amount (Float64)."""
    return totals_of_compact_ids(purchases) or totals_by_hashing(purchases)


def totals_of_compact_ids(purchases: pl.DataFrame) -> PeriodTotals | None:
    """The NumPy path, or None when the ids are not integers in a compact range."""
    ids = purchases.get_column("customer_id")
    if not ids.dtype.is_integer() or purchases.height == 0:
        return None
    bounds = purchases.select(
        pl.col("customer_id").min().alias("low_id"),
        pl.col("customer_id").max().alias("high_id"),
        pl.col("period").min().alias("low_period"),
        pl.col("period").max().alias("high_period"),
    ).row(0)
    low_id, high_id, low_period, high_period = (int(bound) for bound in bounds)
    id_range, span = high_id - low_id + 1, high_period - low_period + 1
    compact = id_range <= _MAX_ID_SPREAD * purchases.height + 1024
    if not compact or id_range > np.iinfo(_I64).max // span:
        return None
    # 32-bit keys sort three times faster; they fit while id_range * span <= 2^32.
    key_type = pl.UInt32 if id_range * span <= 1 << 32 else pl.Int64
    offset = pl.col("customer_id").cast(pl.Int64) - low_id
    keyed = purchases.select(
        offset.alias("offset"),
        (offset * span + pl.col("period").cast(pl.Int64) - low_period).cast(key_type).alias("key"),
        pl.col("amount"),
    )
    totals = _totals_by_sorting(
        keyed.get_column("offset").to_numpy(),
        keyed.get_column("key").to_numpy(),
        keyed.get_column("amount").to_numpy(),
        id_range=id_range,
        span=span,
    )
    return PeriodTotals(
        customer_id=(totals.customer_id + low_id).astype(ids.to_numpy().dtype),
        first=totals.first + low_period,
        last=totals.last + low_period,
        periods=totals.periods,
        repeat_spend=totals.repeat_spend,
    )


def _totals_by_sorting(
    offset: npt.NDArray[np.int64],
    key: _Integers,
    amount: FloatArray,
    *,
    id_range: int,
    span: int,
) -> PeriodTotals:
    """Totals from key = offset * span + period, with offset = id - lowest id, period >= 0.

    Sorting the keys lists each customer's distinct periods in order; a purchase is a repeat
    purchase when its key is above the customer's first key.
    """
    distinct = np.sort(key)  # np.unique would hash first, which is ten times slower here
    distinct = distinct[_first_of_runs(distinct)]
    distinct_customer = distinct // span
    starts = np.flatnonzero(_first_of_runs(distinct_customer))
    ends = np.append(starts[1:], distinct.size) - 1
    customers = distinct_customer[starts].astype(_I64)
    first_key = np.zeros(id_range, dtype=key.dtype)
    first_key[customers] = distinct[starts]
    repeat = np.where(key > first_key[offset], amount, 0.0)
    repeat_spend = np.bincount(offset, weights=repeat, minlength=id_range)[customers]
    return PeriodTotals(
        customer_id=customers,
        first=(distinct[starts] - customers * span).astype(np.float64),
        last=(distinct[ends] - customers * span).astype(np.float64),
        periods=np.diff(np.append(starts, distinct.size)).astype(np.float64),
        repeat_spend=repeat_spend.astype(np.float64, copy=False),
    )


def _first_of_runs(
    values: _Integers,
) -> npt.NDArray[np.bool_]:
    """True where a sorted array's element differs from the one before it."""
    first = np.empty(values.size, dtype=np.bool_)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return first


def totals_by_hashing(purchases: pl.DataFrame) -> PeriodTotals:
    totals = (
        purchases.lazy()
        .group_by("customer_id", "period")
        .agg(pl.col("amount").sum())
        .group_by("customer_id")
        .agg(
            pl.col("period").min().alias("first"),
            pl.col("period").max().alias("last"),
            pl.len().alias("periods"),
            pl.col("amount")
            .filter(pl.col("period") > pl.col("period").min())
            .sum()
            .alias("repeat"),
        )
        .sort("customer_id")
        .collect()
    )
    return PeriodTotals(
        customer_id=totals.get_column("customer_id").to_numpy(),
        first=_floats(totals.get_column("first")),
        last=_floats(totals.get_column("last")),
        periods=_floats(totals.get_column("periods")),
        repeat_spend=_floats(totals.get_column("repeat")),
    )


def _floats(series: pl.Series) -> FloatArray:
    return series.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
