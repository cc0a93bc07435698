"""One call from a customer summary to fitted models, CLV and churn risk per customer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from patron.analytics.clv._arrays import AnyArray, BoolArray, FloatArray, group_pairs
from patron.analytics.clv.bgnbd import BgNbdFit, fit_bgnbd, probability_alive, purchase_growth
from patron.analytics.clv.errors import ClvInputError
from patron.analytics.clv.gamma_gamma import (
    GammaGammaFit,
    expected_average_spend,
    fit_gamma_gamma,
)
from patron.analytics.clv.lifetime_value import (
    DAYS_PER_MONTH,
    DEFAULT_P_ALIVE_THRESHOLD,
    DEFAULT_TOP_SHARE,
    flag_at_risk,
    historic_value,
    horizon_purchases,
)
from patron.analytics.clv.summary import CustomerSummary, TimeUnit

MAX_HORIZON_MONTHS = 1200
"""100 years: a horizon of 10^23 days ran the monthly sum for ever."""


@dataclass(frozen=True, slots=True)
class ClvResult:
    """Fitted models and per-customer arrays, aligned with ``customer_id``.

    ``expected_purchases`` is undiscounted over the horizon; ``clv`` is the discounted
    expected spend. Without spend in the summary ``gamma_gamma``, ``expected_spend`` and ``clv``
    are None.
    """

    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    customer_id: AnyArray
    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_spend: FloatArray | None
    clv: FloatArray | None
    at_risk: BoolArray
    horizon_months: int
    discount_rate: float
    time_unit: TimeUnit

    def to_json_dict(self) -> dict[str, Any]:
        params = self.bgnbd.params
        document: dict[str, Any] = {
            "bgnbd": {
                "r": params.r,
                "alpha": params.alpha,
                "a": params.a,
                "b": params.b,
                "log_likelihood": self.bgnbd.log_likelihood,
            }
        }
        if self.gamma_gamma is not None:
            spend = self.gamma_gamma.params
            document["gamma_gamma"] = {"p": spend.p, "q": spend.q, "gamma": spend.gamma}
        clv = self.clv.tolist() if self.clv is not None else [None] * len(self.p_alive)
        document["customers"] = [
            {"id": identifier, "p_alive": alive, "expected_purchases": purchases, "clv": value}
            for identifier, alive, purchases, value in zip(
                self.customer_id.tolist(),
                self.p_alive.tolist(),
                self.expected_purchases.tolist(),
                clv,
                strict=True,
            )
        ]
        return document


def fit_clv(
    summary: CustomerSummary,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    top_share: float = DEFAULT_TOP_SHARE,
    p_alive_threshold: float = DEFAULT_P_ALIVE_THRESHOLD,
    horizon: float | None = None,
) -> ClvResult:
    """Fit BG/NBD (and Gamma-Gamma when the summary has spend) and score every customer.

    CLV_i = E[spend per purchase]_i * sum over months m = 1..H of E[purchases in month m]_i /
    (1 + discount_rate)^m, months of 30 days. ``at_risk`` marks the top ``top_share`` of
    customers by historic repeat value whose P(alive) is below ``p_alive_threshold``
    (see :func:`patron.analytics.clv.lifetime_value.flag_at_risk`).

    ``horizon``, when given, is in the summary's own time unit: ``expected_purchases`` is then
    E[purchases in (T, T + horizon]] and the CLV covers ``round(horizon in days / 30)``
    months (at least one); otherwise both use ``horizon_months``.
    """
    if horizon is not None:
        if not math.isfinite(horizon) or horizon <= 0:  # NaN and infinity answered a traceback
            raise ClvInputError("the horizon must be a number above 0", field="horizon")
        horizon_months = max(1, round(horizon * summary.time_unit.days / DAYS_PER_MONTH))
    if horizon_months > MAX_HORIZON_MONTHS:  # the CLV sums month by month
        raise ClvInputError("the horizon must be at most 100 years", field="horizon")
    frequency, recency, age = summary.frequency, summary.recency, summary.age
    bgnbd = fit_bgnbd(frequency, recency, age)
    p_alive = probability_alive(bgnbd.params, frequency, recency, age)
    purchases = horizon_purchases(
        bgnbd.params,
        summary,
        p_alive,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
    )
    expected = purchases.expected
    if horizon is not None:
        distinct_x, distinct_age, inverse = group_pairs(frequency, age)
        expected = (
            purchase_growth(bgnbd.params, distinct_x, distinct_age, horizon)[inverse] * p_alive
        )
    gamma_gamma = None
    spend = None
    clv = None
    if summary.monetary_value is not None:
        gamma_gamma = fit_gamma_gamma(frequency, summary.monetary_value)
        spend = expected_average_spend(gamma_gamma.params, frequency, summary.monetary_value)
        clv = spend * purchases.discounted
    at_risk = flag_at_risk(
        historic_value(summary),
        p_alive,
        top_share=top_share,
        p_alive_threshold=p_alive_threshold,
    )
    return ClvResult(
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        customer_id=summary.customer_id,
        p_alive=p_alive,
        expected_purchases=expected,
        expected_spend=spend,
        clv=clv,
        at_risk=at_risk,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        time_unit=summary.time_unit,
    )
