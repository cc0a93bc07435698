"""Maximum likelihood over positive parameters, shared by the BG/NBD and Gamma-Gamma fits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from patron.analytics.clv._arrays import FloatArray
from patron.analytics.clv.errors import ClvFitError

LogLikelihood = Callable[[FloatArray], tuple[float, FloatArray]]

# The optimiser stops when the gradient of the mean log-likelihood with respect to the log
# parameters is below this; the tests then hold the published figures to their last digit.
_GRADIENT_TOLERANCE = 1e-9
_ACCEPTED_GRADIENT = 1e-5
_LOG_SPAN = 25.0


@dataclass(frozen=True, slots=True)
class Maximum:
    params: FloatArray
    log_likelihood: float
    iterations: int


def maximise_in_log_space(
    log_likelihood: LogLikelihood, start: FloatArray, *, total_weight: float
) -> Maximum:
    """Maximise ``log_likelihood`` (value and gradient in the natural parameters) by L-BFGS-B.

    The search runs over theta = log(params), which keeps every parameter positive without
    constraints; the objective is the mean negative log-likelihood per customer, so that the
    tolerances mean the same for 2,000 customers as for a million. Each log parameter may move
    at most 25 (a factor of 7e10) from its start. A fit that ends with a gradient above
    1e-5 raises :class:`ClvFitError`.
    """

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        value, gradient = log_likelihood(params)
        if not np.isfinite(value) or not np.isfinite(gradient).all():
            return np.inf, np.zeros_like(theta)
        return -value / total_weight, -(gradient * params) / total_weight

    theta0 = np.log(start)
    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[
            (low, high) for low, high in zip(theta0 - _LOG_SPAN, theta0 + _LOG_SPAN, strict=True)
        ],
        options={"maxiter": 2000, "ftol": 0.0, "gtol": _GRADIENT_TOLERANCE},
    )
    _, gradient = objective(result.x)
    if not np.isfinite(result.fun) or np.abs(gradient).max() > _ACCEPTED_GRADIENT:
        raise ClvFitError(f"maximum likelihood did not converge: {result.message}")
    return Maximum(
        params=np.exp(result.x),
        log_likelihood=float(-result.fun * total_weight),
        iterations=int(result.nit),
    )
