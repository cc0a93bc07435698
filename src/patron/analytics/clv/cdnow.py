"""Readers for the CDNOW data of Fader, Hardie & Lee (2005), the reference data of the models.

``CDNOW_sample.txt`` holds every purchase of a 1/10 sample (2,357 customers) of the customers
who first bought in the first quarter of 1997. Each line has five whitespace-separated fields:
the customer's id in the master file, the id in the sample (1..2357, the ``ID`` of the summary
files), the date (YYYYMMDD), the number of CDs and the dollar value. The study's calibration
period is weeks 1-39, that is 1997-01-01 to 1997-09-30.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from patron.analytics.clv.errors import ClvInputError
from patron.analytics.clv.summary import (
    CustomerSummary,
    PurchaseColumns,
    TimeUnit,
    summarise_purchases,
)

CDNOW_START = date(1997, 1, 1)
CDNOW_CALIBRATION_WEEKS = 39
CDNOW_CALIBRATION_END = CDNOW_START + timedelta(weeks=CDNOW_CALIBRATION_WEEKS, days=-1)


def read_cdnow_sample(path: Path) -> pl.DataFrame:
    """The purchase log with columns customer_id, master_id, purchased_at (Date), cds, amount."""
    fields = path.read_text(encoding="ascii").split()
    if len(fields) % 5:
        raise ClvInputError(f"{path.name}: expected five fields per purchase")
    master, sample, day, cds, dollars = (fields[index::5] for index in range(5))
    return pl.DataFrame(
        {
            "customer_id": pl.Series(sample).cast(pl.Int64),
            "master_id": pl.Series(master).cast(pl.Int64),
            "purchased_at": pl.Series(day).str.to_date("%Y%m%d"),
            "cds": pl.Series(cds).cast(pl.Int64),
            "amount": pl.Series(dollars).cast(pl.Float64),
        }
    )


def cdnow_calibration_summary(purchases: pl.DataFrame) -> CustomerSummary:
    """The paper's calibration summary: daily periods, times in weeks, up to 1997-09-30."""
    return summarise_purchases(
        purchases,
        observation_end=CDNOW_CALIBRATION_END,
        time_unit=TimeUnit.WEEKS,
        period=TimeUnit.DAYS,
        columns=PurchaseColumns(),
    )


def read_cdnow_summary(path: Path) -> CustomerSummary:
    """``cdnow_customers_summary.csv``: columns ID, frequency, recency, T (weeks)."""
    frame = pl.read_csv(path).select(
        pl.col("ID").alias("customer_id"),
        pl.col("frequency"),
        pl.col("recency"),
        pl.col("T").alias("age"),
    )
    return CustomerSummary.from_frame(frame, time_unit=TimeUnit.WEEKS)


def read_cdnow_summary_with_transactions(path: Path) -> CustomerSummary:
    """``cdnow_customers_summary_with_transactions.csv``: columns ID, x, t_x, T, zbar."""
    frame = pl.read_csv(path).select(
        pl.col("ID").alias("customer_id"),
        pl.col("x").alias("frequency"),
        pl.col("t_x").alias("recency"),
        pl.col("T").alias("age"),
        pl.col("zbar").alias("monetary_value"),
    )
    return CustomerSummary.from_frame(frame, time_unit=TimeUnit.WEEKS)
