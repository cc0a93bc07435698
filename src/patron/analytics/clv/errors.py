"""Errors of the CLV models."""

from __future__ import annotations

from patron.kit.errors import InvalidInputError, PatronError


class ClvInputError(InvalidInputError):
    """The purchase log or customer summary cannot be fed to the models (shape, sign, order)."""

    code = "invalid_clv_input"


class ClvFitError(PatronError):
    """The maximum-likelihood fit did not converge, or gave parameters with no finite answer."""

    code = "clv_fit_failed"
    status = 422
