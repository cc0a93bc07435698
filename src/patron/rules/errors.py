"""Errors of the rules package: bad bulk input and programs too extreme for exact vectorised
scoring. Per-event evaluation never raises for a rule that does not apply: that is a result
with a reason (see :class:`patron.rules.engine.RuleTrace`)."""

from __future__ import annotations

from patron.kit.errors import InvalidInputError, PatronError


class ScoringInputError(InvalidInputError):
    """A purchases or lines frame given to :func:`patron.rules.vectorised.score_frame` is
    malformed (missing column, duplicate purchase key, non-positive quantity, ...)."""

    code = "invalid_scoring_input"


class ScoringOverflowError(PatronError):
    """The exact integer arithmetic of the vectorised evaluator could exceed 128 bits for this
    program and data (absurd multipliers or amounts); score such purchases one by one."""

    code = "scoring_overflow"
    status = 422
