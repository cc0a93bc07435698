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
from scipy.special import digamma, gammaln

from patron.analytics.clv._arrays import FloatArray, Grouping
from patron.analytics.clv._optimize import maximise_in_log_space
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
            sum_log_spend=float(np.log(spend).sum()),
            sum_x_log_spend_x=float(x @ (np.log(spend) + np.log(x))),
        )


def gamma_gamma_log_likelihood_and_gradient(
    params: GammaGammaParams, frequency: FloatArray, monetary_value: FloatArray
) -> tuple[float, FloatArray]:
    """Log-likelihood over repeat buyers with positive spend, and its gradient in (p, q, gamma)."""
    return _value_and_gradient(params.to_array(), _Spenders.of(frequency, monetary_value))


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
        lambda values: _value_and_gradient(values, spenders),
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


def _value_and_gradient(values: FloatArray, spenders: _Spenders) -> tuple[float, FloatArray]:
    p, q, gamma = (float(value) for value in values)
    group = spenders.frequency
    counts, x_distinct = group.counts, group.values
    total = float(spenders.x.size)
    px_q = p * x_distinct + q
    log_total = np.log(gamma + spenders.x * spenders.spend)
    shape = p * spenders.x + q
    value = (
        counts @ (gammaln(px_q) - gammaln(p * x_distinct))
        + total * (q * np.log(gamma) - gammaln(q))
        + p * spenders.sum_x_log_spend_x
        - spenders.sum_log_spend
        - shape @ log_total
    )
    gradient = np.array(
        [
            counts @ (x_distinct * (digamma(px_q) - digamma(p * x_distinct)))
            + spenders.sum_x_log_spend_x
            - spenders.x @ log_total,
            counts @ digamma(px_q) + total * (np.log(gamma) - digamma(q)) - log_total.sum(),
            total * q / gamma - (shape / (gamma + spenders.x * spenders.spend)).sum(),
        ]
    )
    return float(value), gradient
