"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005), vectorised over customers.

While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each repeat purchase the customer drops out with probability p ~ Beta(a, b). For a customer
with x repeat purchases, the last at t_x, observed for T, the likelihood is

    L = Gamma(r + x) alpha^r / Gamma(r) / B(a, b)
        * [ B(a, b + x) / (alpha + T)^(r + x)
            + [x > 0] B(a + 1, b + x - 1) / (alpha + t_x)^(r + x) ]

The two terms are "still alive at T" and "dropped out right after t_x"; their shares of L are
P(alive) and 1 - P(alive). The log-likelihood with its analytic gradient and Hessian is in
``_bgnbd_likelihood``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, hyp2f1

from patron.analytics.clv._arrays import FloatArray, group_pairs
from patron.analytics.clv._bgnbd_likelihood import BgNbdData, bgnbd_derivatives
from patron.analytics.clv._optimize import maximise_in_log_space
from patron.analytics.clv.errors import ClvFitError, ClvInputError

_SERIES_TERMS = 100_000


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


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> float:
    """The log-likelihood summed over customers."""
    return bgnbd_log_likelihood_and_gradient(params, frequency, recency, age)[0]


def bgnbd_log_likelihood_and_gradient(
    params: BgNbdParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> tuple[float, FloatArray]:
    """The log-likelihood and its gradient with respect to (r, alpha, a, b)."""
    _check_arrays(frequency, recency, age)
    found = bgnbd_derivatives(
        params.to_array(), BgNbdData.of(frequency, recency, age), with_hessian=False
    )
    return found.value, found.gradient


def fit_bgnbd(
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
    *,
    initial: BgNbdParams | None = None,
) -> BgNbdFit:
    """Maximum-likelihood fit, by Newton's method on the logarithms of the four parameters.

    The default start is r = a = b = 1 and alpha = max(T) / 10, so that the start does not
    depend on the time unit of the summary.
    """
    _check_arrays(frequency, recency, age)
    if not (frequency > 0).any():
        raise ClvInputError("BG/NBD needs at least one repeat buyer", field="frequency")
    data = BgNbdData.of(frequency, recency, age)
    start = initial or BgNbdParams(r=1.0, alpha=max(float(age.max()) / 10.0, 1e-3), a=1.0, b=1.0)
    result = maximise_in_log_space(
        lambda values: bgnbd_derivatives(values, data, with_hessian=True),
        start.to_array(),
        total_weight=data.total,
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
    with np.errstate(all="ignore"):
        remaining = (alpha + age) / (alpha + age + horizon)
        series = _hypergeometric(a + b - 1.0 - r, a - 1.0, a + b + frequency - 1.0, 1.0 - remaining)
        growth: FloatArray = (
            (a + b + frequency - 1.0) / (a - 1.0) * (1.0 - remaining ** (a - 1.0) * series)
        )
        ceiling = (r + frequency) / (alpha + age) * horizon
    _check_growth(params, growth, ceiling)
    return growth


def _check_growth(params: BgNbdParams, growth: FloatArray, ceiling: FloatArray) -> None:
    """A customer alive at T buys at most at the posterior mean rate (r + x) / (alpha + T),
    since dropping out only stops buying: 0 <= growth <= (r + x) / (alpha + T) * horizon.

    Parameters at the edge of their space (r and alpha near infinity, a near 0: a fit to a
    handful of customers) make the series lose every digit; the answer is then refused
    rather than passed on as an expected count of -1e47. A growth that is not a number is
    left as it is: callers treat it as unknown (the segments store it as empty).
    """
    finite = np.isfinite(growth)
    sane = (growth[finite] >= -1e-9 * ceiling[finite]) & (
        growth[finite] <= ceiling[finite] * (1 + 1e-6)
    )
    if not sane.all():
        raise ClvFitError(
            "the model cannot be fitted: its expected purchases cannot be computed with "
            f"r={params.r:.3g}, alpha={params.alpha:.3g}, a={params.a:.3g}, b={params.b:.3g}"
        )


def _hypergeometric(first: float, second: float, third: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(first, second; third; z) for 0 <= z < 1, by scipy and, where scipy gives NaN, by
    summing Gauss's series.

    scipy's hyp2f1 returns NaN for some large third parameters with z near 1 (x = 266, z =
    0.92 for one), where the series still converges: its terms shrink like z^k.
    """
    values = np.asarray(hyp2f1(first, second, third, z), dtype=np.float64)
    failed = np.flatnonzero(~np.isfinite(values))
    if failed.size:
        values[failed] = _gauss_series(first, second, third[failed], z[failed])
    return values


def _gauss_series(first: float, second: float, third: FloatArray, z: FloatArray) -> FloatArray:
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(_SERIES_TERMS):
        term *= (first + k) * (second + k) / ((third + k) * (k + 1.0)) * z
        total += term
        if (np.abs(term) <= 1e-17 * np.abs(total)).all():
            return total
    raise ClvFitError("the hypergeometric series of expected purchases did not converge")


def _check_arrays(frequency: FloatArray, recency: FloatArray, age: FloatArray) -> None:
    if not frequency.shape == recency.shape == age.shape or frequency.ndim != 1:
        raise ClvInputError("frequency, recency and age must be 1-d arrays of equal length")
    if frequency.size == 0:
        raise ClvInputError("no customers")
