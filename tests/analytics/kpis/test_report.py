"""The whole report of the small store: program figures, ROI against a baseline, per tier."""

from __future__ import annotations

import json

import pytest

from patron.analytics.kpis.breakdown import tier_groups
from patron.analytics.kpis.inputs import KpiSettings
from patron.analytics.kpis.report import compute_kpis, rounded
from tests.analytics.kpis.store import BASELINE, WINDOW, inputs

SETTINGS = KpiSettings(margin_rate=0.4, operating_cost=3000)


def test_program_figures() -> None:
    report = compute_kpis(inputs(), SETTINGS, WINDOW)
    program = report["program"]
    # Enrolled before April: 1, 2, 3, 5; active (bought in the window): 1, 2, 3.
    assert (program["enrolled"], program["newly_enrolled"], program["active"]) == (4, 2, 3)
    assert program["participation_rate"] == 0.75
    assert program["return_on_investment"]["roi"] == pytest.approx(-6200 / 15000)
    assert report["window"] == {
        "from": "2026-01-01",
        "to_exclusive": "2026-04-01",
        "period": "month",
    }
    assert report["baseline"] is None
    assert report["breakdown"] == {}


def test_roi_before_and_after() -> None:
    report = compute_kpis(inputs(), SETTINGS, WINDOW, baseline=BASELINE)
    roi = report["program"]["return_on_investment"]
    # (85000 / 90 − 10000 / 92) × 90 = 75217.39...; × 0.4 = 30086.96...
    assert roi["incremental_method"] == "before_after"
    assert roi["incremental_net_sales"] == 75217
    assert roi["incremental_gross_margin"] == 30087
    assert roi["roi"] == pytest.approx((0.4 * (85000 - 900000 / 92) - 15000) / 15000)


def test_per_tier() -> None:
    report = compute_kpis(
        inputs(), SETTINGS, WINDOW, groups={"tier": tier_groups(inputs().members)}
    )
    gold, silver, none = report["breakdown"]["tier"]
    assert [gold["group"], silver["group"], none["group"]] == ["gold", "silver", "(none)"]
    assert (gold["enrolled"], gold["active"], gold["participation_rate"]) == (1, 1, 1.0)
    assert gold["sales"]["orders"] == 2
    assert gold["sales"]["average_order_value"] == 19500.0
    assert gold["points"]["outstanding"] == 340
    assert gold["points"]["liability"] == 16320  # 340 × 48 × (150 / 150)
    assert gold["points"]["reward_cost"] == 7200
    assert gold["last_period"] == {"period": "2026-03-01", "retention_rate": 0.0, "churn_rate": 1.0}
    assert silver["points"]["liability"] == 0  # ERR 0 / (0 + 20)
    assert silver["last_period"]["retention_rate"] is None  # nobody in February: S = 0
    assert (none["enrolled"], none["active"], none["participation_rate"]) == (2, 1, 0.5)
    assert none["points"]["reward_cost"] == 4800
    assert none["points"]["outstanding"] == 0


def test_rounded_is_json_ready() -> None:
    report = rounded(compute_kpis(inputs(), SETTINGS, WINDOW, baseline=BASELINE))
    text = json.dumps(report)
    assert report["program"]["points"]["redemption_rate"] == 0.367647
    assert "NaN" not in text
    assert "Infinity" not in text


def test_trends_per_month() -> None:
    trends = compute_kpis(inputs(), SETTINGS, WINDOW)["customers"]["trends"]
    assert trends == [
        {"period": "2026-01-01", "member_orders": 2, "member_net_sales": 34000,
         "non_member_orders": 1, "non_member_net_sales": 12000},
        {"period": "2026-02-01", "member_orders": 2, "member_net_sales": 28000,
         "non_member_orders": 0, "non_member_net_sales": 0},
        {"period": "2026-03-01", "member_orders": 1, "member_net_sales": 5000,
         "non_member_orders": 1, "non_member_net_sales": 6000},
    ]  # fmt: skip
