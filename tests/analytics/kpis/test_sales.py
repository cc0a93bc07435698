"""Sales figures of the small store, computed by hand (see store.py)."""

from __future__ import annotations

import polars as pl
import pytest

from patron.analytics.kpis.sales import (
    baseline_comparison,
    in_window,
    lift,
    members_versus_non_members,
    non_member_sales,
    ratio,
    refunds_by_purchase,
    sales_figures,
    window_figures,
    with_net_sales,
)
from tests.analytics.kpis.store import BASELINE, WINDOW, inputs


def sales() -> pl.DataFrame:
    data = inputs()
    return with_net_sales(data.purchases, data.returns, WINDOW.end)


def test_net_sales_subtract_shipping_and_returns_before_the_end() -> None:
    net = dict(sales().select("id", "net").iter_rows())
    # 2: 20000 − 1000 shipping; 3: 30000 − 10000 returned in February; 4: returned after the end.
    assert net == {1: 10000, 2: 19000, 3: 20000, 4: 15000, 5: 5000, 6: 8000, 7: 12000, 8: 6000}


def test_members_versus_non_members() -> None:
    figures = members_versus_non_members(in_window(sales(), WINDOW))
    assert figures["members"] == {
        "orders": 5,
        "net_sales": 67000,
        "refunded": 10000,
        "customers": 3,
        "repeat_customers": 2,
        "average_order_value": 13400.0,
        "purchase_frequency": pytest.approx(5 / 3),
        "repeat_purchase_rate": pytest.approx(2 / 3),
    }
    others = figures["non_members"]
    assert (others["orders"], others["net_sales"], others["average_order_value"]) == (
        2,
        18000,
        9000.0,
    )
    assert others["customers"] is None
    assert others["repeat_purchase_rate"] is None
    assert figures["member_share_of_sales"] == pytest.approx(67000 / 85000)
    assert figures["lift"] == {
        "average_order_value": pytest.approx(13400 / 9000 - 1),
        "purchase_frequency": None,
        "repeat_purchase_rate": None,
    }


def test_customer_keys_make_non_members_countable() -> None:
    keyed = in_window(sales(), WINDOW).with_columns(
        customer_key=pl.when(pl.col("member_id").is_null()).then(pl.lit("guest-a"))
    )
    others = non_member_sales(keyed)
    assert (others.customers, others.repeat_customers, others.purchase_frequency) == (1, 1, 2.0)


def test_window_figures_all_customers_and_per_day() -> None:
    figures = window_figures(sales(), WINDOW)
    assert figures["days"] == 90
    assert figures["all"]["orders"] == 7
    assert figures["all"]["net_sales"] == 85000
    assert figures["all"]["average_order_value"] == pytest.approx(85000 / 7)
    assert figures["net_sales_per_day"] == pytest.approx(85000 / 90)


def test_before_and_after_a_baseline() -> None:
    data = inputs()
    compared = baseline_comparison(
        with_net_sales(data.purchases, data.returns, WINDOW.end), WINDOW, BASELINE
    )
    assert compared["before"]["all"]["net_sales"] == 10000
    assert compared["before"]["days"] == 92
    assert compared["change"]["net_sales_per_day"] == pytest.approx((85000 / 90) / (10000 / 92) - 1)
    assert compared["change"]["members.average_order_value"] == pytest.approx(13400 / 10000 - 1)


def test_ratio_and_lift_of_unknowns() -> None:
    assert ratio(1, 0) is None
    assert ratio(None, 2) is None
    assert ratio(3, 4) == 0.75
    assert lift(6, 4) == 0.5
    assert lift(None, 4) is None


def test_no_purchases() -> None:
    figures = sales_figures(sales().clear(), "member_id")
    assert figures.to_dict() == {
        "orders": 0,
        "net_sales": 0,
        "refunded": 0,
        "customers": 0,
        "repeat_customers": 0,
        "average_order_value": None,
        "purchase_frequency": None,
        "repeat_purchase_rate": None,
    }


def test_refunds_with_sparse_purchase_ids_take_the_join_path() -> None:
    data = inputs()
    far = 10**12  # ids this sparse do not fit an array indexed by id
    purchases = data.purchases.with_columns(pl.col("id") + far)
    returns = data.returns.with_columns(pl.col("purchase_id") + far)
    refunded = refunds_by_purchase(purchases, returns, WINDOW.end)
    expected = refunds_by_purchase(data.purchases, data.returns, WINDOW.end)
    assert refunded.to_list() == expected.to_list() == [0, 0, 10000, 0, 0, 0, 0, 0, 0]
