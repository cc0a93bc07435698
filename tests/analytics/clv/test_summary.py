from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.clv import (
    ClvInputError,
    CustomerSummary,
    PurchaseColumns,
    TimeUnit,
    read_cdnow_sample,
    summarise_purchases,
)
from patron.analytics.clv._periods import period_totals, totals_by_hashing, totals_of_compact_ids
from tests.analytics.clv.data import DATA


def _log() -> pl.DataFrame:
    """Customer 7 buys twice on 1 January (one period), then on the 4th and the 11th, and once
    more after the observation end; customer 3 buys once on the 10th; customer 5 only after."""
    rows = [
        (7, datetime(2024, 1, 1, 10, tzinfo=UTC), 1000),
        (7, datetime(2024, 1, 1, 18, tzinfo=UTC), 500),
        (7, datetime(2024, 1, 4, 12, tzinfo=UTC), 2000),
        (3, datetime(2024, 1, 10, 9, tzinfo=UTC), 800),
        (7, datetime(2024, 1, 11, 23, 59, tzinfo=UTC), 3000),
        (7, datetime(2024, 1, 20, 8, tzinfo=UTC), 9900),
        (5, datetime(2024, 1, 16, 0, 0, tzinfo=UTC), 100),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "member_id": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
            "total": pl.Int64,
        },
        orient="row",
    )


COLUMNS = PurchaseColumns(customer_id="member_id", purchased_at="occurred_at", amount="total")
END = date(2024, 1, 15)


def test_daily_periods_in_days() -> None:
    summary = summarise_purchases(_log(), observation_end=END, columns=COLUMNS)

    assert summary.customer_id.tolist() == [3, 7]
    assert summary.frequency.tolist() == [0.0, 2.0]
    assert summary.recency.tolist() == [0.0, 10.0]
    assert summary.age.tolist() == [5.0, 14.0]
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [0.0, 2500.0]
    assert summary.time_unit is TimeUnit.DAYS


def test_daily_periods_in_weeks() -> None:
    summary = summarise_purchases(
        _log(), observation_end=END, time_unit=TimeUnit.WEEKS, columns=COLUMNS
    )

    assert summary.recency.tolist() == [0.0, 10 / 7]
    assert summary.age.tolist() == [5 / 7, 2.0]


def test_weekly_periods_collapse_purchases_of_one_week() -> None:
    # Weeks from the first purchase day (Monday 1 January): days 0 and 3 are week 0, day 10
    # is week 1, the end (day 14) is week 2.
    summary = summarise_purchases(
        _log(),
        observation_end=END,
        time_unit=TimeUnit.WEEKS,
        period=TimeUnit.WEEKS,
        columns=COLUMNS,
    )

    assert summary.frequency.tolist() == [0.0, 1.0]
    assert summary.recency.tolist() == [0.0, 1.0]
    assert summary.age.tolist() == [1.0, 2.0]
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [0.0, 3000.0]


def test_weekly_periods_from_an_explicit_origin() -> None:
    summary = summarise_purchases(
        _log(),
        observation_end=END,
        time_unit=TimeUnit.DAYS,
        period=TimeUnit.WEEKS,
        period_origin=date(2024, 1, 3),
        columns=COLUMNS,
    )

    # Weeks start on Wednesdays 27 Dec, 3 Jan, 10 Jan: 1 January is week -1, the 4th week 0,
    # the 10th, 11th and the end (the 15th) week 1.
    assert summary.frequency.tolist() == [0.0, 2.0]
    assert summary.recency.tolist() == [0.0, 14.0]
    assert summary.age.tolist() == [0.0, 14.0]


def test_calendar_day_is_taken_in_the_time_zone() -> None:
    log = pl.DataFrame(
        {
            "customer_id": [1, 1],
            "purchased_at": [datetime(2024, 3, 1, 23, 30), datetime(2024, 3, 2, 10, 0)],
            "amount": [1.0, 2.0],
        }
    )

    in_utc = summarise_purchases(log, observation_end=date(2024, 3, 5))
    in_warsaw = summarise_purchases(
        log, observation_end=date(2024, 3, 5), time_zone="Europe/Warsaw"
    )

    assert in_utc.frequency.tolist() == [1.0]
    assert in_warsaw.frequency.tolist() == [0.0]
    assert in_warsaw.age.tolist() == [3.0]


def test_log_without_spend_and_with_date_column() -> None:
    log = pl.DataFrame(
        {
            "customer_id": ["b", "a", "b"],
            "purchased_at": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 8)],
        }
    )

    summary = summarise_purchases(
        log, observation_end=date(2024, 1, 10), columns=PurchaseColumns(amount=None)
    )

    assert summary.customer_id.tolist() == ["a", "b"]
    assert summary.frequency.tolist() == [0.0, 1.0]
    assert summary.recency.tolist() == [0.0, 7.0]
    assert summary.age.tolist() == [8.0, 9.0]
    assert summary.monetary_value is None


def test_no_purchase_before_the_end_is_refused() -> None:
    with pytest.raises(ClvInputError):
        summarise_purchases(_log(), observation_end=date(2023, 12, 31), columns=COLUMNS)


def test_text_time_column_is_refused() -> None:
    log = pl.DataFrame({"customer_id": [1], "purchased_at": ["2024-01-01"], "amount": [1.0]})

    with pytest.raises(ClvInputError) as raised:
        summarise_purchases(log, observation_end=END)

    assert raised.value.field == "purchased_at"


@pytest.mark.parametrize(
    ("frequency", "recency", "age"),
    [
        ([-1.0], [0.0], [1.0]),
        ([1.5], [1.0], [2.0]),
        ([1.0], [3.0], [2.0]),
        ([0.0], [1.0], [2.0]),
        ([1.0], [np.nan], [2.0]),
    ],
)
def test_inconsistent_summaries_are_refused(
    frequency: list[float], recency: list[float], age: list[float]
) -> None:
    with pytest.raises(ClvInputError):
        CustomerSummary(
            customer_id=np.array([1]),
            frequency=np.array(frequency),
            recency=np.array(recency),
            age=np.array(age),
            monetary_value=None,
            time_unit=TimeUnit.DAYS,
        )


def test_cdnow_sample_reader() -> None:
    log = read_cdnow_sample(DATA / "CDNOW_sample.txt")

    assert log.height == 6919
    assert log.row(0) == (1, 4, date(1997, 1, 1), 2, 29.33)
    assert log.get_column("customer_id").n_unique() == 2357


def test_raw_cdnow_log_gives_the_published_summary(
    cdnow_raw_summary: CustomerSummary, cdnow_spend_summary: CustomerSummary
) -> None:
    ours, published = cdnow_raw_summary, cdnow_spend_summary
    assert ours.monetary_value is not None
    assert published.monetary_value is not None

    assert ours.customer_id.tolist() == published.customer_id.tolist()
    assert ours.frequency.tolist() == published.frequency.tolist()
    # The published file rounds to cents and hundredths of a week.
    assert np.abs(ours.recency - published.recency).max() <= 0.005
    assert np.abs(ours.age - published.age).max() <= 0.005
    assert np.abs(ours.monetary_value - published.monetary_value).max() <= 0.005 + 1e-9
    assert (ours.recency[:1] * 7).tolist() == [213.0]


def _frame(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"customer_id": pl.Int64, "period": pl.Int64, "amount": pl.Float64},
        orient="row",
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-5, 40), st.integers(-3, 60), st.integers(0, 10_000).map(float)),
        min_size=1,
        max_size=80,
    )
)
def test_sorting_and_hashing_totals_agree(rows: list[tuple[int, int, float]]) -> None:
    frame = _frame([(customer, period, int(amount)) for customer, period, amount in rows])

    by_sorting = totals_of_compact_ids(frame)
    by_hashing = totals_by_hashing(frame)

    assert by_sorting is not None
    for name in ("customer_id", "first", "last", "periods", "repeat_spend"):
        assert getattr(by_sorting, name).tolist() == getattr(by_hashing, name).tolist()


def test_sparse_ids_take_the_hashing_path_with_the_same_result() -> None:
    rows = [(10**15, 3, 5), (7, 1, 2), (10**15, 3, 6), (10**15, 9, 4), (7, 2, 1)]

    frame = _frame(rows)
    totals = period_totals(frame)

    assert totals_of_compact_ids(frame) is None

    assert totals.customer_id.tolist() == [7, 10**15]
    assert totals.first.tolist() == [1.0, 3.0]
    assert totals.last.tolist() == [2.0, 9.0]
    assert totals.periods.tolist() == [2.0, 2.0]
    assert totals.repeat_spend.tolist() == [1.0, 4.0]


def test_wide_keys_take_64_bits_with_the_same_result() -> None:
    # 1,001 ids times 10^7 periods do not fit 32-bit keys.
    rows = [(1000, 10_000_000, 5), (0, 0, 2), (1000, 3, 6), (0, 0, 4), (1000, 10_000_000, 1)]
    frame = _frame(rows)

    by_sorting = totals_of_compact_ids(frame)
    by_hashing = totals_by_hashing(frame)

    assert by_sorting is not None
    assert by_sorting.customer_id.tolist() == [0, 1000]
    assert by_sorting.last.tolist() == [0.0, 10_000_000.0]
    assert by_sorting.repeat_spend.tolist() == [0.0, 6.0]
    for name in ("customer_id", "first", "last", "periods", "repeat_spend"):
        assert getattr(by_sorting, name).tolist() == getattr(by_hashing, name).tolist()
