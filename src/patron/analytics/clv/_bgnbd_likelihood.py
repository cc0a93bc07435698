"""The BG/NBD log-likelihood with its gradient and Hessian, vectorised over customers.

For a customer with x repeat purchases, the last at t_x, observed for T,

    log L = log Gamma(r + x) - log Gamma(r) + r log alpha + log B(a, b + x) - log B(a, b)
            - (r + x) log(alpha + T) + [x > 0] log(1 + exp(D)),
    D = log a - log(b + x - 1) + (r + x) (log(alpha + T) - log(alpha + t_x)),

where exp(D) is the ratio of the "dropped out right after t_x" term of the likelihood to the
"still alive at T" term. With "dead" = expit(D) = 1 - P(alive) and A, B the logarithms of the
two terms, grad log L = alive grad A + dead grad B and the Hessian adds
alive dead (grad A - grad B)(grad A - grad B)^T to the weighted Hessians of A and B.

Terms of x alone are summed once per distinct x; customers without repeat purchases only
through T, merged by T; the logarithms of alpha + T and alpha + t_x once per distinct time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from patron.analytics.clv._arrays import FloatArray, Grouping, dot
from patron.analytics.clv._optimize import Derivatives


@dataclass(frozen=True, slots=True)
class BgNbdData:
    total: float
    all_frequency: Grouping
    new_age: FloatArray
    new_weight: FloatArray
    frequency: Grouping
    x: FloatArray
    recency: Grouping
    age: Grouping

    @classmethod
    def of(cls, frequency: FloatArray, recency: FloatArray, age: FloatArray) -> BgNbdData:
        repeat = frequency > 0
        new_age = Grouping.of(age[~repeat])
        x = frequency[repeat]
        return cls(
            total=float(frequency.size),
            all_frequency=Grouping.of(frequency),
            new_age=new_age.values,
            new_weight=new_age.counts,
            frequency=Grouping.of(x),
            x=x,
            recency=Grouping.of(recency[repeat]),
            age=Grouping.of(age[repeat]),
        )


def bgnbd_derivatives(values: FloatArray, data: BgNbdData, *, with_hessian: bool) -> Derivatives:
    """log L summed over customers, its gradient and (optionally) Hessian in (r, alpha, a, b)."""
    r, alpha, a, b = (float(value) for value in values)
    population = _population_terms(r, alpha, a, b, data, with_hessian)
    if not data.x.size:
        return population
    return population + _repeat_terms(r, alpha, a, b, data, with_hessian)


def _population_terms(
    r: float, alpha: float, a: float, b: float, data: BgNbdData, with_hessian: bool
) -> Derivatives:
    """Terms of the parameters and of x alone, and -r log(alpha + T) of one-time buyers."""
    total, counts, x = data.total, data.all_frequency.counts, data.all_frequency.values
    log_new = np.log(alpha + data.new_age)
    inverse_new = 1.0 / (alpha + data.new_age)
    value = (
        total * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
        + dot(counts, gammaln(r + x) + gammaln(b + x) - gammaln(a + b + x))
        - r * dot(data.new_weight, log_new)
    )
    gradient = np.array(
        [
            total * (np.log(alpha) - digamma(r))
            + dot(counts, digamma(r + x))
            - dot(data.new_weight, log_new),
            total * r / alpha - r * dot(data.new_weight, inverse_new),
            total * digamma(a + b) - dot(counts, digamma(a + b + x)),
            total * (digamma(a + b) - digamma(b))
            + dot(counts, digamma(b + x) - digamma(a + b + x)),
        ]
    )
    if not with_hessian:
        return Derivatives(float(value), gradient, None)
    hessian = np.zeros((4, 4))
    hessian[0, 0] = dot(counts, polygamma(1, r + x)) - total * polygamma(1, r)
    hessian[0, 1] = total / alpha - dot(data.new_weight, inverse_new)
    hessian[1, 1] = -total * r / alpha**2 + r * dot(data.new_weight, inverse_new**2)
    hessian[2, 2] = total * polygamma(1, a + b) - dot(counts, polygamma(1, a + b + x))
    hessian[2, 3] = hessian[2, 2]
    hessian[3, 3] = total * (polygamma(1, a + b) - polygamma(1, b)) + dot(
        counts, polygamma(1, b + x) - polygamma(1, a + b + x)
    )
    return Derivatives(float(value), gradient, _symmetric(hessian))


def _repeat_terms(
    r: float, alpha: float, a: float, b: float, data: BgNbdData, with_hessian: bool
) -> Derivatives:
    """-(r + x) log(alpha + T) + log(1 + exp(D)) of the repeat buyers."""
    group, age, recency = data.frequency, data.age, data.recency
    log_age = age.gather(np.log(alpha + age.values))
    gap = log_age - recency.gather(np.log(alpha + recency.values))
    rx = r + data.x
    log_odds = group.gather(np.log(a) - np.log(b + group.values - 1.0)) + rx * gap
    small = np.exp(-np.abs(log_odds))
    dead = np.where(log_odds > 0.0, 1.0, small) / (1.0 + small)
    value = float((np.maximum(log_odds, 0.0) + np.log1p(small)).sum()) - dot(rx, log_age)
    inverse_age = age.gather(1.0 / (alpha + age.values))
    inverse_recency = recency.gather(1.0 / (alpha + recency.values))
    by_b = 1.0 / (b + group.values - 1.0)
    dead_by_x = group.sum_by_group(dead)
    gradient = np.array(
        [
            dot(dead, gap) - float(log_age.sum()),
            -dot(rx, inverse_age + dead * (inverse_recency - inverse_age)),
            float(dead.sum()) / a,
            -dot(dead_by_x, by_b),
        ]
    )
    if not with_hessian:
        return Derivatives(value, gradient, None)
    alive = np.where(log_odds > 0.0, small, 1.0) / (1.0 + small)
    hessian = _repeat_hessian(
        a, data, rx, gap, alive, dead, dead_by_x, by_b, inverse_age, inverse_recency
    )
    return Derivatives(value, gradient, hessian)


def _repeat_hessian(
    a: float,
    data: BgNbdData,
    rx: FloatArray,
    gap: FloatArray,
    alive: FloatArray,
    dead: FloatArray,
    dead_by_x: FloatArray,
    by_b: FloatArray,
    inverse_age: FloatArray,
    inverse_recency: FloatArray,
) -> FloatArray:
    """alive H_A + dead H_B + alive dead u u^T with u = grad A - grad B
    = (-gap, (r + x) (1 / (alpha + t_x) - 1 / (alpha + T)), -1 / a, 1 / (b + x - 1))."""
    group = data.frequency
    mixed = alive * dead
    mixed_gap = mixed * gap
    u_alpha = rx * (inverse_recency - inverse_age)
    mixed_by_x = group.sum_by_group(mixed)
    hessian = np.zeros((4, 4))
    hessian[0, 0] = dot(mixed_gap, gap)
    hessian[0, 1] = -dot(alive, inverse_age) - dot(dead, inverse_recency) - dot(mixed_gap, u_alpha)
    hessian[1, 1] = dot(rx, alive * inverse_age**2 + dead * inverse_recency**2) + dot(
        mixed, u_alpha * u_alpha
    )
    hessian[0, 2] = float(mixed_gap.sum()) / a
    hessian[0, 3] = -dot(group.sum_by_group(mixed_gap), by_b)
    hessian[1, 2] = -dot(mixed, u_alpha) / a
    hessian[1, 3] = dot(group.sum_by_group(mixed * u_alpha), by_b)
    hessian[2, 2] = (float(mixed.sum()) - float(dead.sum())) / a**2
    hessian[2, 3] = -dot(mixed_by_x, by_b) / a
    hessian[3, 3] = dot(dead_by_x + mixed_by_x, by_b**2)
    return _symmetric(hessian)


def _symmetric(upper: FloatArray) -> FloatArray:
    full: FloatArray = upper + np.triu(upper, 1).T
    return full
