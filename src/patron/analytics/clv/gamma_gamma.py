"""The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, note 025).

Each purchase of a customer is worth z ~ Gamma(p, nu), with the customer's nu ~ Gamma(q,
gamma). For a repeat buyer with x repeat purchases of mean value zbar the density of zbar is

    f(zbar | x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) gamma^q zbar^(p x - 1) x^(p x)
                  / (gamma + x zbar)^(p x + q)

and the expected spend per purchase is E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1), a
weighted average of the population mean p gamma / (q - 1) and the customer's own zbar. The
model is fitted on repeat buyers with zbar > 0 only: a single first purchase carries no
information the summary keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from patron.analytics.clv._arrays import FloatArray, Grouping, dot
from patron.analytics.clv._optimize import Derivatives, maximise_in_log_space
from patron.analytics.clv.errors import ClvFitError, ClvInputError


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def to_array(self) -> FloatArray:
        return np.array([self.p, self.q, self.gamma], dtype=np.float64)

    @classmethod
    def from_array(cls, values: FloatArray) -> GammaGammaParams:
        p, q, gamma = (float(value) for value in values)
        return cls(p=p, q=q, gamma=gamma)


@dataclass(frozen=True, slots=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    iterations: int
    customers: int


@dataclass(frozen=True, slots=True)
class _Spenders:
    frequency: Grouping
    x: FloatArray
    spend: FloatArray
    total_spend: FloatArray
    sum_log_spend: float
    sum_x_log_spend_x: float

    @classmethod
    def of(cls, frequency: FloatArray, monetary_value: FloatArray) -> _Spenders:
        if frequency.shape != monetary_value.shape or frequency.ndim != 1:
            raise ClvInputError("frequency and monetary value must be 1-d arrays of equal length")
        fitted = (frequency > 0) & (monetary_value > 0)
        if not fitted.any():
            raise ClvInputError("no repeat buyer with a positive spend", field="monetary_value")
        x, spend = frequency[fitted], monetary_value[fitted]
        return cls(
            frequency=Grouping.of(x),
            x=x,
            spend=spend,
            total_spend=x * spend,
            sum_log_spend=float(np.log(spend).sum()),
            sum_x_log_spend_x=dot(x, np.log(spend) + np.log(x)),
        )


def gamma_gamma_log_likelihood_and_gradient(
    params: GammaGammaParams, frequency: FloatArray, monetary_value: FloatArray
) -> tuple[float, FloatArray]:
    """Log-likelihood over repeat buyers with positive spend, and its gradient in (p, q, gamma)."""
    found = _derivatives(
        params.to_array(), _Spenders.of(frequency, monetary_value), with_hessian=False
    )
    return found.value, found.gradient


def fit_gamma_gamma(
    frequency: FloatArray,
    monetary_value: FloatArray,
    *,
    initial: GammaGammaParams | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood fit on the repeat buyers (x > 0) with positive mean spend.

    The default start p = 1, q = 2, gamma = mean(zbar) puts the population mean spend
    p gamma / (q - 1) at the sample mean, whatever the currency unit.
    """
    spenders = _Spenders.of(frequency, monetary_value)
    start = initial or GammaGammaParams(p=1.0, q=2.0, gamma=float(spenders.spend.mean()))
    result = maximise_in_log_space(
        lambda values: _derivatives(values, spenders, with_hessian=True),
        start.to_array(),
        total_weight=float(spenders.x.size),
    )
    return GammaGammaFit(
        params=GammaGammaParams.from_array(result.params),
        log_likelihood=result.log_likelihood,
        iterations=result.iterations,
        customers=int(spenders.x.size),
    )


def expected_average_spend(
    params: GammaGammaParams, frequency: FloatArray, monetary_value: FloatArray
) -> FloatArray:
    """E[spend per purchase | x, zbar] = p (gamma + x zbar) / (p x + q - 1).

    Customers without repeat purchases get the population mean p gamma / (q - 1); with q <= 1
    that mean is infinite and :class:`ClvFitError` is raised.
    """
    if params.q <= 1.0:
        raise ClvFitError("Gamma-Gamma q <= 1: the mean spend per purchase is unbounded")
    x = np.where(frequency > 0, frequency, 0.0)
    spend = np.where(frequency > 0, monetary_value, 0.0)
    expected: FloatArray = params.p * (params.gamma + x * spend) / (params.p * x + params.q - 1.0)
    return expected


def _derivatives(values: FloatArray, spenders: _Spenders, *, with_hessian: bool) -> Derivatives:
    p, q, gamma = (float(value) for value in values)
    group, x = spenders.frequency, spenders.x
    counts, x_distinct, total = group.counts, group.values, float(x.size)
    px_q = p * x_distinct + q
    log_total = np.log(gamma + spenders.total_spend)
    inverse_total = 1.0 / (gamma + spenders.total_spend)
    x_log_total, sum_log_total = dot(x, log_total), float(log_total.sum())
    x_inverse, sum_inverse = dot(x, inverse_total), float(inverse_total.sum())
    value = (
        dot(counts, gammaln(px_q) - gammaln(p * x_distinct))
        + total * (q * np.log(gamma) - gammaln(q))
        + p * (spenders.sum_x_log_spend_x - x_log_total)
        - q * sum_log_total
        - spenders.sum_log_spend
    )
    gradient = np.array(
        [
            dot(counts, x_distinct * (digamma(px_q) - digamma(p * x_distinct)))
            + spenders.sum_x_log_spend_x
            - x_log_total,
            dot(counts, digamma(px_q)) + total * (np.log(gamma) - digamma(q)) - sum_log_total,
            total * q / gamma - p * x_inverse - q * sum_inverse,
        ]
    )
    if not with_hessian:
        return Derivatives(float(value), gradient, None)
    trigamma_px_q = polygamma(1, px_q)
    squared = inverse_total * inverse_total
    pp = dot(counts, x_distinct**2 * (trigamma_px_q - polygamma(1, p * x_distinct)))
    pq = dot(counts, x_distinct * trigamma_px_q)
    qq = dot(counts, trigamma_px_q) - total * polygamma(1, q)
    q_gamma = total / gamma - sum_inverse
    gamma_gamma = -total * q / gamma**2 + p * dot(x, squared) + q * float(squared.sum())
    hessian = np.array(
        [[pp, pq, -x_inverse], [pq, qq, q_gamma], [-x_inverse, q_gamma, gamma_gamma]],
        dtype=np.float64,
    )
    return Derivatives(float(value), gradient, hessian)
