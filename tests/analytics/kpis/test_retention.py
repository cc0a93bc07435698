"""Churn, retention (CRR = (E − N) / S) and the cohort matrix of the small store."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.retention import cohort_matrix, retention_by_period
from patron.analytics.kpis.sales import with_net_sales
from tests.analytics.kpis.store import WINDOW, inputs


def sales():  # type: ignore[no-untyped-def]
    data = inputs()
    return with_net_sales(data.purchases, data.returns, WINDOW.end)


def test_monthly_retention() -> None:
    january, february, march = retention_by_period(sales(), WINDOW, Period.MONTH)
    # January {1, 2}; February {1, 3}; March {2}. Member 1 first bought in December.
    assert january == {"period": "2026-01-01", "customers": 2, "first_time_customers": 1}
    assert february == {
        "period": "2026-02-01",
        "customers": 2,
        "first_time_customers": 1,
        "start_customers": 2,
        "end_customers": 2,
        "acquired_customers": 1,
        "retained_customers": 1,
        "retention_rate": 0.5,
        "churn_rate": 0.5,
    }
    assert (march["start_customers"], march["end_customers"], march["acquired_customers"]) == (
        2,
        1,
        1,
    )
    assert (march["retention_rate"], march["churn_rate"]) == (0.0, 1.0)


def test_quarterly_retention_has_one_period() -> None:
    (quarter,) = retention_by_period(sales(), WINDOW, Period.QUARTER)
    assert quarter == {"period": "2026-01-01", "customers": 3, "first_time_customers": 2}


def test_weekly_periods_start_on_monday() -> None:
    window = Window.of_days(date(2026, 1, 7), date(2026, 1, 20))
    rows = retention_by_period(sales(), window, Period.WEEK)
    assert [row["period"] for row in rows] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    # Member 1 bought on the 10th (week of the 5th), member 2 on the 20th (week of the 19th).
    assert [row["customers"] for row in rows] == [1, 0, 1]
    assert rows[1]["retention_rate"] == 0.0
    assert rows[2]["retention_rate"] is None


def test_cohort_matrix_by_month_of_first_purchase() -> None:
    # Member 1's cohort is December 2025 (outside the window); member 2: January, bought in
    # January and March; member 3: February.
    assert cohort_matrix(sales(), WINDOW) == [
        {"cohort": "2026-01", "size": 1, "members": [1, 0, 1], "rates": [1.0, 0.0, 1.0]},
        {"cohort": "2026-02", "size": 1, "members": [1], "rates": [1.0]},
    ]


def test_retention_rate_formula_on_a_bigger_period() -> None:
    rows = retention_by_period(
        sales(), Window.of_days(date(2025, 12, 1), date(2026, 1, 31)), Period.MONTH
    )
    # December {1}; January {1, 2}: S = 1, E = 2, N = 1, CRR = (2 − 1) / 1.
    assert rows[1]["retention_rate"] == pytest.approx(1.0)


def test_cohorts_with_sparse_member_ids_take_the_join_path() -> None:
    shifted = sales().with_columns(pl.col("member_id") + 10**12)
    assert cohort_matrix(shifted, WINDOW) == cohort_matrix(sales(), WINDOW)
