"""Discounted customer lifetime value over a horizon, and the "high value at risk" flag."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from patron.analytics.clv._arrays import BoolArray, FloatArray, group_pairs
from patron.analytics.clv.bgnbd import BgNbdParams, purchase_growth
from patron.analytics.clv.errors import ClvInputError
from patron.analytics.clv.summary import CustomerSummary

DAYS_PER_MONTH = 30
DEFAULT_TOP_SHARE = 0.2
DEFAULT_P_ALIVE_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class HorizonPurchases:
    """Per customer: expected purchases over the horizon, plain and discounted by month."""

    expected: FloatArray
    discounted: FloatArray


def horizon_purchases(
    params: BgNbdParams,
    summary: CustomerSummary,
    p_alive: FloatArray,
    *,
    horizon_months: int,
    discount_rate: float,
) -> HorizonPurchases:
    """Expected purchases in the next ``horizon_months`` months, and their discounted sum.

    A month is 30 days (30/7 weeks in a weekly summary). With E[Y(t)] the BG/NBD expected
    purchases in (T, T + t], month m holds E[Y(m)] - E[Y(m - 1)] purchases, and

        discounted = sum over m = 1..H of (E[Y(m)] - E[Y(m - 1)]) / (1 + discount_rate)^m,

    which, times the expected spend per purchase, is the CLV (the definition of
    ``customer_lifetime_value`` in the ``lifetimes`` package). ``expected`` is E[Y(H)].
    E[Y(t)] = growth(x, T, t) * P(alive); growth is evaluated once per distinct (x, T).
    """
    if horizon_months < 0:
        raise ClvInputError("the horizon must be >= 0 months", field="horizon_months")
    if not math.isfinite(discount_rate) or discount_rate <= -1.0:  # NaN made every CLV NaN
        raise ClvInputError("the monthly discount rate must be > -1", field="discount_rate")
    month = DAYS_PER_MONTH / summary.time_unit.days
    distinct_x, distinct_age, inverse = group_pairs(summary.frequency, summary.age)
    discounted = np.zeros_like(distinct_x)
    previous = np.zeros_like(distinct_x)
    for step in range(1, horizon_months + 1):
        current = purchase_growth(params, distinct_x, distinct_age, step * month)
        discounted += (current - previous) / (1.0 + discount_rate) ** step
        previous = current
    return HorizonPurchases(
        expected=previous[inverse] * p_alive, discounted=discounted[inverse] * p_alive
    )


def historic_value(summary: CustomerSummary) -> FloatArray:
    """What a customer brought in the observation window beyond the first purchase.

    Repeat spend x * zbar when spend is known; otherwise the number of repeat purchases x.
    """
    if summary.monetary_value is None:
        return summary.frequency.copy()
    value: FloatArray = summary.frequency * summary.monetary_value
    return value


def flag_at_risk(
    value: FloatArray,
    p_alive: FloatArray,
    *,
    top_share: float = DEFAULT_TOP_SHARE,
    p_alive_threshold: float = DEFAULT_P_ALIVE_THRESHOLD,
) -> BoolArray:
    """High-value customers who have probably stopped buying.

    High value: ``value`` > 0 and at least the value of the customer ranked
    ceil(top_share * n) by value (the top 20 % by default; ties at the cut-off are all in).
    At risk: high value and P(alive) < ``p_alive_threshold`` (0.5 by default), i.e. the model
    finds it more likely than not that the customer has left.
    """
    if not 0.0 < top_share <= 1.0:
        raise ClvInputError("top_share must be in (0, 1]", field="top_share")
    if value.size == 0:
        return np.zeros(0, dtype=np.bool_)
    rank = int(np.ceil(top_share * value.size))
    cut_off = np.partition(value, value.size - rank)[value.size - rank]
    high_value = (value >= cut_off) & (value > 0)
    at_risk: BoolArray = high_value & (p_alive < p_alive_threshold)
    return at_risk
