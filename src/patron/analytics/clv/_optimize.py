"""Maximum likelihood over positive parameters, shared by the BG/NBD and Gamma-Gamma fits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from patron.analytics.clv._arrays import FloatArray
from patron.analytics.clv.errors import ClvFitError

# Newton's method stops when the gradient of the mean log-likelihood with respect to the log
# parameters is below _GRADIENT_TOLERANCE; a result above _ACCEPTED_GRADIENT is an error.
_GRADIENT_TOLERANCE = 1e-10
_ACCEPTED_GRADIENT = 1e-6
_POLISHING_STEPS = 3
NO_MAXIMUM = "the model cannot be fitted: the likelihood has no maximum"


@dataclass(frozen=True, slots=True)
class Derivatives:
    """log L and its gradient (and Hessian, when asked for) in the natural parameters."""

    value: float
    gradient: FloatArray
    hessian: FloatArray | None

    def __add__(self, other: Derivatives) -> Derivatives:
        hessian = None
        if self.hessian is not None and other.hessian is not None:
            hessian = self.hessian + other.hessian
        return Derivatives(self.value + other.value, self.gradient + other.gradient, hessian)


LogLikelihood = Callable[[FloatArray], Derivatives]


@dataclass(frozen=True, slots=True)
class Maximum:
    params: FloatArray
    log_likelihood: float
    iterations: int


class _MeanInLogSpace:
    """-log L(exp theta) / W with its gradient and Hessian in theta; one evaluation cached.

    d/dtheta = P g and d2/dtheta2 = P H P + diag(P g), with P = diag(params).
    """

    def __init__(self, log_likelihood: LogLikelihood, total_weight: float) -> None:
        self._log_likelihood = log_likelihood
        self._weight = total_weight
        self._theta: bytes = b""
        self._cached: tuple[float, FloatArray, FloatArray] | None = None

    def evaluate(self, theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        key = theta.tobytes()
        if self._cached is None or key != self._theta:
            self._theta, self._cached = key, self._compute(theta)
        return self._cached

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient, _ = self.evaluate(theta)
        return value, gradient

    def hessian(self, theta: FloatArray) -> FloatArray:
        return self.evaluate(theta)[2]

    def _compute(self, theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """A point where the likelihood is not a finite number (a parameter that overflowed
        to infinity or underflowed to 0 on the way to the edge of the parameter space) is
        worth -infinity, so the trust region steps back from it."""
        unusable = np.inf, np.zeros_like(theta), np.eye(theta.size)
        with np.errstate(all="ignore"):
            params = np.exp(theta)
            try:
                found = self._log_likelihood(params)
            except ArithmeticError:
                return unusable
            if found.hessian is None:
                raise ClvFitError("the likelihood gave no Hessian")
            gradient = found.gradient * params
            hessian = found.hessian * np.outer(params, params) + np.diag(gradient)
        if not np.isfinite(found.value) or not np.isfinite(found.gradient).all():
            return unusable
        if not np.isfinite(hessian).all():  # trust-exact refuses a Hessian with inf or NaN
            return unusable
        return -found.value / self._weight, -gradient / self._weight, -hessian / self._weight


def maximise_in_log_space(
    log_likelihood: LogLikelihood, start: FloatArray, *, total_weight: float
) -> Maximum:
    """Maximise ``log_likelihood`` by Newton's method in a trust region (``trust-exact``).

    The search runs over theta = log(params), which keeps every parameter positive without
    constraints, on the mean log-likelihood per customer, so that tolerances mean the same for
    2,000 customers as for a million. Near the optimum of a million-customer likelihood the
    change in value per step drowns in rounding, which stalls methods that compare values
    (L-BFGS-B used 15 to 57 evaluations and stopped on rounding, not on the gradient; Newton
    takes about 7 iterations); so the search ends with up to three plain Newton steps, kept
    while they shrink the gradient. A gradient above 1e-6 at the end raises
    :class:`ClvFitError`, and so does a search that ends where the likelihood is not a finite
    number: on a degenerate history (one repeat buyer, say) the likelihood grows without bound
    towards the edge of the parameter space and has no maximum. A search that breaks down on
    the way there (scipy's ValueError on a NaN) raises it too.
    """
    objective = _MeanInLogSpace(log_likelihood, total_weight)
    try:
        with np.errstate(all="ignore"):
            result = minimize(
                objective.value_and_gradient,
                np.log(start),
                jac=True,
                hess=objective.hessian,
                method="trust-exact",
                options={"maxiter": 200, "gtol": _GRADIENT_TOLERANCE},
            )
    except (ValueError, np.linalg.LinAlgError, UnboundLocalError) as error:
        # trust-exact's subproblem overflows on a Hessian of huge entries (parameters near
        # the edge of their space) and refuses the NaN it produced; on some such Hessians its
        # subproblem loop never assigns its step and scipy fails with UnboundLocalError
        # (scipy 1.x, _trustregion_exact.py: found by tests/cli/test_never_crash.py)
        raise ClvFitError(f"{NO_MAXIMUM} (the search broke down: {error})") from error
    theta = np.asarray(result.x, dtype=np.float64)
    value, gradient, hessian = objective.evaluate(theta)
    for _ in range(_POLISHING_STEPS):
        if np.abs(gradient).max() <= _GRADIENT_TOLERANCE or not np.isfinite(value):
            break
        try:
            candidate = theta - np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        next_value, next_gradient, next_hessian = objective.evaluate(candidate)
        if not np.abs(next_gradient).max() < np.abs(gradient).max():
            break
        theta, value, gradient, hessian = candidate, next_value, next_gradient, next_hessian
    if not np.isfinite(value):
        raise ClvFitError(NO_MAXIMUM)
    if np.abs(gradient).max() > _ACCEPTED_GRADIENT:
        raise ClvFitError(f"maximum likelihood did not converge: {result.message}")
    return Maximum(
        params=np.exp(theta),
        log_likelihood=float(-value * total_weight),
        iterations=int(result.nit),
    )
