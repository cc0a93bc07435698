"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005), vectorised over customers.

While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each repeat purchase the customer drops out with probability p ~ Beta(a, b). For a customer
with x repeat purchases, the last at t_x, observed for T, the likelihood is

    L = Gamma(r + x) alpha^r / Gamma(r) / B(a, b)
        * [ B(a, b + x) / (alpha + T)^(r + x)
            + [x > 0] B(a + 1, b + x - 1) / (alpha + t_x)^(r + x) ]

The two terms are "still alive at T" and "dropped out right after t_x"; their shares of L are
P(alive) and 1 - P(alive), which is also how the analytic gradient is assembled. Terms that
depend on x alone are evaluated once per distinct x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from patron.analytics.clv._arrays import BoolArray, FloatArray, Grouping, group_pairs
from patron.analytics.clv._optimize import maximise_in_log_space
from patron.analytics.clv.errors import ClvInputError


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def to_array(self) -> FloatArray:
        return np.array([self.r, self.alpha, self.a, self.b], dtype=np.float64)

    @classmethod
    def from_array(cls, values: FloatArray) -> BgNbdParams:
        r, alpha, a, b = (float(value) for value in values)
        return cls(r=r, alpha=alpha, a=a, b=b)


@dataclass(frozen=True, slots=True)
class BgNbdFit:
    params: BgNbdParams
    log_likelihood: float
    iterations: int


@dataclass(frozen=True, slots=True)
class _Customers:
    """Customers with equal (x, t_x, T) merged into one row of weight ``weight``."""

    frequency: Grouping
    x: FloatArray
    recency: FloatArray
    age: FloatArray
    weight: FloatArray
    is_repeat: BoolArray

    @classmethod
    def of(cls, frequency: FloatArray, recency: FloatArray, age: FloatArray) -> _Customers:
        _check_arrays(frequency, recency, age)
        rows = np.stack([frequency, recency, age], axis=1)
        distinct, counts = np.unique(rows, axis=0, return_counts=True)
        x = np.ascontiguousarray(distinct[:, 0])
        return cls(
            frequency=Grouping.of(x),
            x=x,
            recency=np.ascontiguousarray(distinct[:, 1]),
            age=np.ascontiguousarray(distinct[:, 2]),
            weight=counts.astype(np.float64),
            is_repeat=x > 0,
        )


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> float:
    """The log-likelihood summed over customers."""
    return bgnbd_log_likelihood_and_gradient(params, frequency, recency, age)[0]


def bgnbd_log_likelihood_and_gradient(
    params: BgNbdParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> tuple[float, FloatArray]:
    """The log-likelihood and its gradient with respect to (r, alpha, a, b)."""
    return _value_and_gradient(params.to_array(), _Customers.of(frequency, recency, age))


def fit_bgnbd(
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
    *,
    initial: BgNbdParams | None = None,
) -> BgNbdFit:
    """Maximum-likelihood fit, by L-BFGS-B on the logarithms of the four parameters.

    The default start is r = a = b = 1 and alpha = max(T) / 10, so that the start does not
    depend on the time unit of the summary.
    """
    customers = _Customers.of(frequency, recency, age)
    start = initial or BgNbdParams(r=1.0, alpha=max(float(age.max()) / 10.0, 1e-3), a=1.0, b=1.0)
    result = maximise_in_log_space(
        lambda values: _value_and_gradient(values, customers),
        start.to_array(),
        total_weight=float(customers.weight.sum()),
    )
    return BgNbdFit(
        params=BgNbdParams.from_array(result.params),
        log_likelihood=result.log_likelihood,
        iterations=result.iterations,
    )


def probability_alive(
    params: BgNbdParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive at T | x, t_x, T).

    1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)). A customer
    without repeat purchases cannot have dropped out yet, so gets exactly 1.
    """
    _check_arrays(frequency, recency, age)
    result = np.ones_like(frequency)
    repeat = frequency > 0
    x, t_x, t = frequency[repeat], recency[repeat], age[repeat]
    log_odds_dead = (
        np.log(params.a)
        - np.log(params.b + x - 1.0)
        + (params.r + x) * (np.log(params.alpha + t) - np.log(params.alpha + t_x))
    )
    result[repeat] = expit(-log_odds_dead)
    return result


def expected_purchases(
    params: BgNbdParams,
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
    horizon: float,
) -> FloatArray:
    """E[purchases in (T, T + horizon] | x, t_x, T] = growth(x, T, horizon) * P(alive)."""
    alive = probability_alive(params, frequency, recency, age)
    distinct_x, distinct_age, inverse = group_pairs(frequency, age)
    return purchase_growth(params, distinct_x, distinct_age, horizon)[inverse] * alive


def purchase_growth(
    params: BgNbdParams, frequency: FloatArray, age: FloatArray, horizon: float
) -> FloatArray:
    """Expected purchases in (T, T + horizon] of a customer known to be alive at T.

    Fader, Hardie & Lee (2005, eq. 10) without its P(alive) factor:
    (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x;
    a + b + x - 1; z)] with z = t / (alpha + T + t). Euler's transformation
    2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z) turns the bracket into
    1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z), whose series stays small
    for large x instead of multiplying a huge 2F1 by a tiny power.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if horizon == 0:
        return np.zeros_like(frequency)
    if a == 1.0:
        raise ClvInputError("expected purchases need a != 1", field="a")
    remaining = (alpha + age) / (alpha + age + horizon)
    series = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + frequency - 1.0, 1.0 - remaining)
    growth: FloatArray = (
        (a + b + frequency - 1.0) / (a - 1.0) * (1.0 - remaining ** (a - 1.0) * series)
    )
    return growth


def _value_and_gradient(values: FloatArray, customers: _Customers) -> tuple[float, FloatArray]:
    r, alpha, a, b = (float(value) for value in values)
    group, weight = customers.frequency, customers.weight
    total = float(weight.sum())
    counts = group.sum_by_group(weight)
    x_distinct = group.values
    rx = r + customers.x
    log_alpha_age = np.log(alpha + customers.age)
    log_alpha_recency = np.log(alpha + customers.recency)
    alive_term = -rx * log_alpha_age
    log_b_x = np.full_like(x_distinct, -np.inf)
    repeat_distinct = x_distinct > 0
    log_b_x[repeat_distinct] = np.log(b + x_distinct[repeat_distinct] - 1.0)
    dead_term = np.where(
        customers.is_repeat,
        np.log(a) - log_b_x[group.inverse] - rx * log_alpha_recency,
        -np.inf,
    )
    mixture = np.logaddexp(alive_term, dead_term)
    alive_share = weight * np.exp(alive_term - mixture)
    dead_share = weight * np.exp(dead_term - mixture)
    value = (
        total * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
        + counts @ (gammaln(r + x_distinct) + gammaln(b + x_distinct) - gammaln(a + b + x_distinct))
        + weight @ mixture
    )
    dead_by_x = group.sum_by_group(dead_share)
    gradient = np.array(
        [
            total * (np.log(alpha) - digamma(r))
            + counts @ digamma(r + x_distinct)
            - alive_share @ log_alpha_age
            - dead_share @ log_alpha_recency,
            total * r / alpha
            - alive_share @ (rx / (alpha + customers.age))
            - dead_share @ (rx / (alpha + customers.recency)),
            total * digamma(a + b) - counts @ digamma(a + b + x_distinct) + dead_share.sum() / a,
            total * (digamma(a + b) - digamma(b))
            + counts @ (digamma(b + x_distinct) - digamma(a + b + x_distinct))
            - dead_by_x[repeat_distinct] @ (1.0 / (b + x_distinct[repeat_distinct] - 1.0)),
        ]
    )
    return float(value), gradient


def _check_arrays(frequency: FloatArray, recency: FloatArray, age: FloatArray) -> None:
    if not frequency.shape == recency.shape == age.shape or frequency.ndim != 1:
        raise ClvInputError("frequency, recency and age must be 1-d arrays of equal length")
    if frequency.size == 0:
        raise ClvInputError("no customers")
