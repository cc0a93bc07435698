"""Points, liability, reward cost and ROI of the small store, computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from patron.analytics.kpis.inputs import KpiSettings
from patron.analytics.kpis.points import (
    incremental_sales,
    member_points,
    points_figures,
    return_on_investment,
    valued_points,
    whole,
)
from tests.analytics.kpis.store import ENTRIES, WINDOW, at, entries, frame, inputs


def test_member_points_from_entries() -> None:
    rows = {row["member_id"]: row for row in member_points(entries(), WINDOW).to_dicts()}
    # Member 1: 190 + 300 − 100 reversed; redeemed 200 − 50 refunded; April's 99 is after the end.
    assert rows[1] == {"member_id": 1, "issued": 390, "redeemed": 150, "expired": 0,
                       "balance": 340, "redeemed_to_date": 150, "expired_to_date": 0,
                       "opening": 0}  # fmt: skip
    # Member 3: 80 + 10 (a positive adjustment); −5 is not issued; −100 leaves a debt of 15.
    assert rows[3]["issued"] == 90
    assert rows[3]["balance"] == -15
    assert rows[5] == {"member_id": 5, "issued": 0, "redeemed": 0, "expired": 30,
                       "balance": 0, "redeemed_to_date": 0, "expired_to_date": 30,
                       "opening": 0}  # fmt: skip


def test_points_figures() -> None:
    figures = points_figures(inputs().points)
    assert figures == {
        "issued": 680,
        "redeemed": 250,
        "expired": 50,
        "redemption_rate": pytest.approx(250 / 680),
        "breakage_rate": pytest.approx(50 / 680),
        "outstanding": 520,  # 340 + 180; member 3's debt is no liability
        "redeemed_to_date": 250,
        "expired_to_date": 50,
        "opening": 0,
    }


def test_opening_balances_count_apart_from_points_issued() -> None:
    imported = [
        (7, "opening", 1000, at(1, 5)),
        (7, "earn", 40, at(1, 9)),
        (8, "opening", 3, at(12, 1, 2025)),
    ]
    rows = {
        row["member_id"]: row
        for row in member_points(
            pl.concat([entries(), frame(imported, ENTRIES)]), WINDOW
        ).to_dicts()
    }
    assert (rows[7]["issued"], rows[7]["opening"], rows[7]["balance"]) == (40, 1000, 1040)
    assert (rows[8]["issued"], rows[8]["opening"], rows[8]["balance"]) == (
        0,
        0,
        3,
    )  # before the window


def test_liability_and_reward_cost() -> None:
    data = inputs()
    valued = valued_points(points_figures(data.points), data, KpiSettings())
    # 60000 minor units for 1250 points = 48 per point; ERR = 250 / (250 + 50).
    assert valued == {
        "point_value": 48.0,
        "point_value_source": "coupons",
        "expected_redemption_rate": pytest.approx(5 / 6),
        "expected_redemption_rate_source": "settled_points",
        "liability": 20800,  # 520 × 48 × 5/6
        "reward_cost": 12000,  # 250 × 48
    }


def test_settings_override_point_value_and_expected_redemption() -> None:
    data = inputs()
    settings = KpiSettings(point_value=10.5, expected_redemption_rate=0.6)
    valued = valued_points(points_figures(data.points), data, settings)
    assert (valued["liability"], valued["reward_cost"]) == (3276, 2625)  # 520 × 10.5 × 0.6
    assert valued["point_value_source"] == valued["expected_redemption_rate_source"] == "settings"


def test_nothing_settled_means_full_expected_redemption() -> None:
    data = inputs()
    figures = points_figures(data.points) | {"redeemed_to_date": 0, "expired_to_date": 0}
    assert valued_points(figures, data, KpiSettings())["expected_redemption_rate"] == 1.0


def test_roi_with_member_aov_uplift() -> None:
    current = {
        "members": {"orders": 5, "average_order_value": 13400.0},
        "non_members": {"average_order_value": 9000.0},
    }
    incremental = incremental_sales(current, None)
    assert incremental == {"net_sales": 22000.0, "method": "member_aov_uplift"}
    roi = return_on_investment(
        incremental, 12000, KpiSettings(margin_rate=0.4, operating_cost=3000)
    )
    assert roi == {
        "margin_rate": 0.4,
        "incremental_net_sales": 22000,
        "incremental_method": "member_aov_uplift",
        "incremental_gross_margin": 8800,
        "operating_cost": 3000,
        "program_cost": 15000,
        "roi": pytest.approx((8800 - 15000) / 15000),
    }


def test_roi_needs_a_margin_rate() -> None:
    roi = return_on_investment({"net_sales": 100.0, "method": "x"}, 50, KpiSettings())
    assert roi["roi"] is None
    assert roi["incremental_gross_margin"] is None


def test_whole_rounds_half_up() -> None:
    assert (whole(2.5), whole(3.5), whole(-0.4), whole(None)) == (3, 4, 0, None)
