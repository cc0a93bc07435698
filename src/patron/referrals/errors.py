"""Errors of the referrals."""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError


class ReferralCodeUnknownError(InvalidInputError):
    """No active member of the program has this referral code."""

    code = "referral_code_unknown"


class ReferralNotFoundError(NotFoundError):
    code = "referral_not_found"


class ReferralNotFlaggedError(ConflictError):
    """Only a flagged referral is approved or rejected."""

    code = "referral_not_flagged"
