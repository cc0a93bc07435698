from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from patron.analytics.clv import (
    BgNbdParams,
    ClvInputError,
    CustomerSummary,
    bgnbd_log_likelihood,
    bgnbd_log_likelihood_and_gradient,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
    purchase_growth,
)
from patron.analytics.clv._bgnbd_likelihood import BgNbdData, bgnbd_derivatives

CDNOW = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _assert_published(summary: CustomerSummary) -> None:
    fit = fit_bgnbd(summary.frequency, summary.recency, summary.age)

    assert round(fit.params.r, 3) == 0.243
    assert round(fit.params.alpha, 3) == 4.414
    assert round(fit.params.a, 3) == 0.793
    assert round(fit.params.b, 3) == 2.426
    assert round(fit.log_likelihood, 1) == -9582.4


def test_fit_reproduces_the_published_parameters(cdnow_summary: CustomerSummary) -> None:
    _assert_published(cdnow_summary)


def test_fit_from_the_raw_log_reproduces_the_published_parameters(
    cdnow_raw_summary: CustomerSummary,
) -> None:
    _assert_published(cdnow_raw_summary)


def test_fit_does_not_depend_on_the_time_unit(cdnow_summary: CustomerSummary) -> None:
    weeks = fit_bgnbd(cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary.age)
    days = fit_bgnbd(cdnow_summary.frequency, cdnow_summary.recency * 7, cdnow_summary.age * 7)

    assert days.params.alpha / 7 == pytest.approx(weeks.params.alpha, rel=1e-6)
    assert days.params.r == pytest.approx(weeks.params.r, rel=1e-6)
    assert days.params.b == pytest.approx(weeks.params.b, rel=1e-6)
    # Only alpha's unit changes; the density of each repeat purchase time gains 1 / 7.
    shift = cdnow_summary.frequency.sum() * np.log(7)
    assert days.log_likelihood == pytest.approx(weeks.log_likelihood - shift, rel=1e-9)


@pytest.mark.parametrize(
    "params",
    [CDNOW, BgNbdParams(r=0.6, alpha=9.0, a=1.4, b=0.8), BgNbdParams(r=2.0, alpha=1.5, a=0.3, b=5)],
)
def test_gradient_matches_central_differences(
    cdnow_summary: CustomerSummary, params: BgNbdParams
) -> None:
    data = (cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary.age)
    _, gradient = bgnbd_log_likelihood_and_gradient(params, *data)

    values = params.to_array()
    for index in range(4):
        step = np.zeros(4)
        step[index] = 1e-6 * values[index]
        upper = bgnbd_log_likelihood(BgNbdParams.from_array(values + step), *data)
        lower = bgnbd_log_likelihood(BgNbdParams.from_array(values - step), *data)
        numeric = (upper - lower) / (2 * step[index])
        assert gradient[index] == pytest.approx(numeric, rel=1e-6, abs=1e-4)


def test_likelihood_of_single_customers_by_hand() -> None:
    # r = alpha = a = b = 1. x = 0, T = 1: B(1, 1) / B(1, 1) * 1 / 2 = 1/2.
    # x = 1, t_x = 1, T = 3: Gamma(2) / Gamma(1) * [B(1, 2) / 4^2 + B(2, 1) / 2^2] = 1/32 + 1/8.
    ones = BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)

    new = bgnbd_log_likelihood(ones, np.array([0.0]), np.array([0.0]), np.array([1.0]))
    repeat = bgnbd_log_likelihood(ones, np.array([1.0]), np.array([1.0]), np.array([3.0]))

    assert new == pytest.approx(np.log(0.5), rel=1e-15)
    assert repeat == pytest.approx(np.log(1 / 32 + 1 / 8), rel=1e-15)


def test_customer_without_repeat_purchases_is_alive() -> None:
    alive = probability_alive(
        CDNOW, np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([1, 80.0])
    )

    assert alive.tolist() == [1.0, 1.0]


def test_probability_alive_by_hand() -> None:
    # 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)) = 1 / (1 + 1/2 * 2^2).
    params = BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=2.0)

    alive = probability_alive(params, np.array([1.0]), np.array([1.0]), np.array([3.0]))

    assert alive[0] == pytest.approx(1 / 3, rel=1e-15)


def test_expected_purchases_by_hand() -> None:
    # With r = a + b - 1 the 2F1 is (1 - z)^-(b + x), so growth = (a + b + x - 1) / (a - 1) * z
    # with z = t / (alpha + T + t) = 2 / 4. x = 2 with t_x = T has P(alive) = 1 / (1 + 1) here.
    params = BgNbdParams(r=2.0, alpha=1.0, a=2.0, b=1.0)
    frequency, recency, age = np.array([0.0, 2.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0])

    expected = expected_purchases(params, frequency, recency, age, 2.0)

    assert expected.tolist() == pytest.approx([1.0, 1.0], rel=1e-14)


def test_growth_equals_the_untransformed_formula() -> None:
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    x = np.repeat(np.arange(0.0, 30.0), 4)
    age = np.tile([0.5, 10.0, 38.86, 120.0], 30)
    for horizon in (1.0, 39.0, 52.0):
        z = horizon / (alpha + age + horizon)
        direct = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + age) / (alpha + age + horizon)) ** (r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
        )

        assert purchase_growth(CDNOW, x, age, horizon) == pytest.approx(direct, rel=1e-10)


def test_customer_one_against_lifetimes(cdnow_summary: CustomerSummary) -> None:
    # Customer 1 of the sample: x = 2, t_x = 30.43, T = 38.86, the next 52 weeks. Reference:
    # lifetimes 0.11.3 (BetaGeoFitter on the same file) gives P(alive) 0.72660914 and
    # 1.55858376 expected purchases; its fit differs from ours in the sixth digit.
    fit = fit_bgnbd(cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary.age)
    one = (np.array([2.0]), np.array([30.43]), np.array([38.86]))

    alive = probability_alive(fit.params, *one)
    expected = expected_purchases(fit.params, *one, 52.0)

    assert alive[0] == pytest.approx(0.72660914, rel=1e-6)
    assert expected[0] == pytest.approx(1.55858376, rel=1e-6)


@pytest.mark.parametrize(
    "params",
    [CDNOW, BgNbdParams(r=0.6, alpha=9.0, a=1.4, b=0.8), BgNbdParams(r=2.0, alpha=1.5, a=0.3, b=5)],
)
def test_hessian_matches_central_differences_of_the_gradient(
    cdnow_summary: CustomerSummary, params: BgNbdParams
) -> None:
    data = BgNbdData.of(cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary.age)
    hessian = bgnbd_derivatives(params.to_array(), data, with_hessian=True).hessian
    assert hessian is not None

    values = params.to_array()
    for index in range(4):
        step = np.zeros(4)
        step[index] = 1e-6 * values[index]
        upper = bgnbd_derivatives(values + step, data, with_hessian=False).gradient
        lower = bgnbd_derivatives(values - step, data, with_hessian=False).gradient
        numeric_row = (upper - lower) / (2 * step[index])
        assert hessian[index] == pytest.approx(numeric_row, rel=1e-5, abs=1e-3)


def test_fit_without_repeat_buyers_is_refused() -> None:
    with pytest.raises(ClvInputError):
        fit_bgnbd(np.zeros(3), np.zeros(3), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ClvInputError):
        fit_bgnbd(np.zeros(0), np.zeros(0), np.zeros(0))


@settings(max_examples=150, deadline=None)
@given(
    x=st.integers(0, 300),
    share=st.floats(0.0, 1.0),
    age=st.floats(0.1, 500.0),
    horizon=st.floats(0.1, 400.0),
    params=st.tuples(*(st.floats(0.05, 20.0) for _ in range(4))).filter(
        lambda values: abs(values[2] - 1.0) > 1e-3
    ),
)
def test_probability_and_expectation_are_coherent(
    x: int, share: float, age: float, horizon: float, params: tuple[float, ...]
) -> None:
    model = BgNbdParams(*params)
    frequency = np.array([float(x)])
    recency = np.array([share * age if x else 0.0])
    ages = np.array([age])

    alive = probability_alive(model, frequency, recency, ages)[0]
    sooner, later = (
        expected_purchases(model, frequency, recency, ages, t)[0] for t in (horizon, 2 * horizon)
    )

    assert 0.0 <= alive <= 1.0
    assert 0.0 <= sooner <= later * (1 + 1e-9) + 1e-12


def test_growth_where_scipy_hyp2f1_gives_nan() -> None:
    # scipy's hyp2f1(19.00001, 18; 286.00001; 0.9245) is NaN; the series converges.
    params = BgNbdParams(r=1.0, alpha=1.05, a=19.0, b=2.00001)
    x, age, horizon = 266.0, 2.00001, 37.370724667218816
    z = horizon / (params.alpha + age + horizon)
    first, second, third = (
        params.a + params.b - 1 - params.r,
        params.a - 1,
        params.a + params.b + x - 1,
    )
    term = total = 1.0
    for k in range(5000):
        term *= (first + k) * (second + k) / ((third + k) * (k + 1)) * z
        total += term
    expected = third / (params.a - 1) * (1 - (1 - z) ** (params.a - 1) * total)

    growth = purchase_growth(params, np.array([x]), np.array([age]), horizon)

    assert np.isnan(hyp2f1(first, second, third, z))
    assert growth[0] == pytest.approx(expected, rel=1e-12)
