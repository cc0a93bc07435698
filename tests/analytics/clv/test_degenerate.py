"""The models on degenerate histories: a result with sane scores, or a Patron error, never an
arithmetic exception or nonsense (a negative expected count, a CLV beyond any bound)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.clv import (
    ClvFitError,
    ClvInputError,
    CustomerSummary,
    TimeUnit,
    fit_bgnbd,
    fit_clv,
)
from patron.kit.errors import PatronError


def summary(rows: list[tuple[int, int, int, float]]) -> CustomerSummary:
    """(frequency, recency, age, mean repeat spend) per customer, in days."""
    columns = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return CustomerSummary(
        customer_id=np.arange(1, len(rows) + 1),
        frequency=columns[:, 0],
        recency=columns[:, 1],
        age=columns[:, 2],
        monetary_value=columns[:, 3],
        time_unit=TimeUnit.DAYS,
    )


def test_one_repeat_buyer_one_day_apart_is_no_fit() -> None:
    """x = 1, t_x = 1, T = 101: the search drives a to 0; today's main divides by zero."""
    one = summary([(1, 1, 101, 5.0)])
    with pytest.raises(ClvFitError, match="the likelihood has no maximum"):
        fit_bgnbd(one.frequency, one.recency, one.age)


def test_a_fit_with_nonsense_growth_is_refused() -> None:
    """r and alpha run to infinity and a to 0 here; today's main answers expected purchases of
    -1.7e47 and a CLV of 3.6e46 instead of refusing."""
    three = summary([(2, 2, 3, 3.0), (0, 0, 1, 0.0), (1, 2, 2, 1.0)])
    with pytest.raises(ClvFitError):
        fit_clv(three, horizon=365.0)


def test_no_repeat_buyer_is_an_input_error() -> None:
    with pytest.raises(ClvInputError, match="at least one repeat buyer"):
        fit_clv(summary([(0, 0, 5, 0.0), (0, 0, 0, 0.0)]), horizon=365.0)


@st.composite
def customers(draw: st.DrawFn) -> tuple[int, int, int, float]:
    age = draw(st.integers(0, 400))
    frequency = draw(st.integers(0, min(age, 4)))
    recency = draw(st.integers(frequency, age)) if frequency else 0
    spend = draw(st.sampled_from([1.0, 5.0, 500.0, 10_000.0])) if frequency else 0.0
    return frequency, recency, age, spend


@settings(max_examples=150, deadline=None)
@given(st.lists(customers(), min_size=1, max_size=50))
def test_small_summaries_give_sane_scores_or_a_patron_error(
    rows: list[tuple[int, int, int, float]],
) -> None:
    data = summary(rows)
    try:
        result = fit_clv(data, horizon=365.0)
    except PatronError:
        return
    assert ((result.p_alive >= 0) & (result.p_alive <= 1)).all()
    # a customer alive at T buys at most at the posterior mean rate (r + x) / (alpha + T);
    # a count that is not a number is unknown (stored as empty), never a wrong number
    params = result.bgnbd.params
    ceiling = (params.r + data.frequency) / (params.alpha + data.age) * 365.0
    known = np.isfinite(result.expected_purchases)
    assert (result.expected_purchases[known] >= 0).all()
    assert (result.expected_purchases[known] <= ceiling[known] * (1 + 1e-6)).all()
    assert result.clv is not None
    assert (result.clv[np.isfinite(result.clv)] >= 0).all()
