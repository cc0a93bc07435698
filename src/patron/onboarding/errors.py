"""Errors and row problems of the onboarding imports."""

from __future__ import annotations

from enum import StrEnum

from patron.kit.errors import InvalidInputError


class RowProblem(StrEnum):
    """Why a member row was refused (``code`` of a :class:`~patron.purchases.bulk.report.
    RowError`)."""

    MISSING_VALUE = "missing_value"
    INVALID_VALUE = "invalid_value"
    INVALID_TIME = "invalid_time"
    INVALID_POINTS = "invalid_points"
    UNKNOWN_TIER = "unknown_tier"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"


class MemberBatchTooLargeError(InvalidInputError):
    code = "batch_too_large"
