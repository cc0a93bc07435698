from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import hyp2f1

from patron.analytics.clv import (
    BgNbdParams,
    ClvInputError,
    CustomerSummary,
    TimeUnit,
    fit_clv,
    flag_at_risk,
    historic_value,
    horizon_purchases,
    probability_alive,
)


def _direct_expected(params: BgNbdParams, x: float, t_x: float, age: float, t: float) -> float:
    """Fader, Hardie & Lee (2005) eq. 10 as printed, for one customer."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    growth = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + age) / (alpha + age + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, z)
        )
    )
    odds = a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return float(growth / (1 + odds))


def _summary(time_unit: TimeUnit = TimeUnit.WEEKS) -> CustomerSummary:
    return CustomerSummary(
        customer_id=np.array([11, 12, 13, 14]),
        frequency=np.array([0.0, 2.0, 7.0, 2.0]),
        recency=np.array([0.0, 30.43, 12.0, 30.43]),
        age=np.array([38.86, 38.86, 35.0, 38.86]),
        monetary_value=np.array([0.0, 22.35, 40.0, 22.35]),
        time_unit=time_unit,
    )


def test_discounted_purchases_equal_a_month_by_month_sum() -> None:
    params = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    summary = _summary()
    alive = probability_alive(params, summary.frequency, summary.recency, summary.age)

    result = horizon_purchases(params, summary, alive, horizon_months=12, discount_rate=0.01)

    month = 30 / 7
    for index in range(4):
        one = (summary.frequency[index], summary.recency[index], summary.age[index])
        cumulative = [_direct_expected(params, *one, m * month) if m else 0.0 for m in range(13)]
        discounted = sum((cumulative[m] - cumulative[m - 1]) / 1.01**m for m in range(1, 13))
        assert result.discounted[index] == pytest.approx(discounted, rel=1e-10)
        assert result.expected[index] == pytest.approx(cumulative[12], rel=1e-10)
    # Customers 12 and 14 have the same history, so the same figures.
    assert result.discounted[1] == result.discounted[3]


def test_zero_horizon_and_bad_rates() -> None:
    params = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    summary = _summary()
    alive = np.ones(4)

    nothing = horizon_purchases(params, summary, alive, horizon_months=0, discount_rate=0.01)

    assert nothing.expected.tolist() == [0.0] * 4
    assert nothing.discounted.tolist() == [0.0] * 4
    with pytest.raises(ClvInputError):
        horizon_purchases(params, summary, alive, horizon_months=-1, discount_rate=0.01)
    with pytest.raises(ClvInputError):
        horizon_purchases(params, summary, alive, horizon_months=1, discount_rate=-1.0)


def test_at_risk_flags_the_top_share_that_probably_left() -> None:
    value = np.array([0.0, 100.0, 90.0, 90.0, 10.0, 5.0, 80.0, 0.0, 1.0, 2.0])
    p_alive = np.array([0.1, 0.9, 0.2, 0.49, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1])

    # Top 20 % of ten customers: rank 2, value 90; both customers at 90 are in (a tie).
    flags = flag_at_risk(value, p_alive)

    assert np.flatnonzero(flags).tolist() == [2, 3]
    assert np.flatnonzero(flag_at_risk(value, p_alive, p_alive_threshold=0.25)).tolist() == [2]
    wider = flag_at_risk(value, p_alive, top_share=0.4)
    assert np.flatnonzero(wider).tolist() == [2, 3, 6]


def test_customers_without_value_are_never_at_risk() -> None:
    flags = flag_at_risk(np.zeros(5), np.zeros(5), top_share=1.0)

    assert not flags.any()
    with pytest.raises(ClvInputError):
        flag_at_risk(np.zeros(5), np.zeros(5), top_share=0.0)


def test_historic_value() -> None:
    summary = _summary()

    assert historic_value(summary).tolist() == [0.0, 44.7, 280.0, 44.7]


def test_fit_clv_on_cdnow(cdnow_spend_summary: CustomerSummary) -> None:
    result = fit_clv(cdnow_spend_summary, horizon_months=12, discount_rate=0.01)

    assert result.gamma_gamma is not None
    assert result.expected_spend is not None
    assert result.clv is not None
    params = result.bgnbd.params
    assert (round(params.r, 3), round(params.alpha, 3)) == (0.243, 4.414)
    assert (round(params.a, 3), round(params.b, 3)) == (0.793, 2.426)
    assert round(result.gamma_gamma.params.p, 2) == 6.25
    # Customer 1: x = 2, t_x = 30.43, T = 38.86, zbar = 22.35.
    cumulative = [
        _direct_expected(params, 2.0, 30.43, 38.86, m * 30 / 7) if m else 0.0 for m in range(13)
    ]
    discounted = sum((cumulative[m] - cumulative[m - 1]) / 1.01**m for m in range(1, 13))
    spend = result.gamma_gamma.params
    expected_spend = spend.p * (spend.gamma + 2 * 22.35) / (spend.p * 2 + spend.q - 1)
    assert result.expected_spend[0] == pytest.approx(expected_spend, rel=1e-12)
    assert result.clv[0] == pytest.approx(expected_spend * discounted, rel=1e-10)
    assert result.expected_purchases[0] == pytest.approx(cumulative[12], rel=1e-10)
    # One-time buyers are alive by the model and never at risk.
    one_timers = cdnow_spend_summary.frequency == 0
    assert (result.p_alive[one_timers] == 1.0).all()
    assert not result.at_risk[one_timers].any()
    assert result.at_risk.sum() == np.sum(
        (result.p_alive < 0.5)
        & (
            historic_value(cdnow_spend_summary)
            >= np.sort(historic_value(cdnow_spend_summary))[-472]
        )
    )


def test_json_document(cdnow_spend_summary: CustomerSummary) -> None:
    document = fit_clv(cdnow_spend_summary).to_json_dict()

    assert set(document) == {"bgnbd", "gamma_gamma", "customers"}
    assert set(document["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(document["gamma_gamma"]) == {"p", "q", "gamma"}
    assert len(document["customers"]) == 2357
    first = document["customers"][0]
    assert set(first) == {"id", "p_alive", "expected_purchases", "clv"}
    assert first["id"] == 1
    assert round(document["bgnbd"]["log_likelihood"], 1) == -9582.4
    json.dumps(document, allow_nan=False)


def test_without_spend_there_is_no_clv(cdnow_summary: CustomerSummary) -> None:
    result = fit_clv(cdnow_summary)
    document = result.to_json_dict()

    assert result.gamma_gamma is None
    assert result.clv is None
    assert "gamma_gamma" not in document
    assert {customer["clv"] for customer in document["customers"]} == {None}
    # Without spend, the historic value is the number of repeat purchases.
    assert result.at_risk.sum() == np.sum(
        (result.p_alive < 0.5)
        & (cdnow_summary.frequency >= np.sort(cdnow_summary.frequency)[-472])
        & (cdnow_summary.frequency > 0)
    )
