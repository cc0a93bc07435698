from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError


class PurchaseNotFoundError(NotFoundError):
    code = "purchase_not_found"


class CurrencyMismatchError(InvalidInputError):
    code = "currency_mismatch"


class InvalidAmountError(InvalidInputError):
    code = "invalid_amount"


class TotalMismatchError(InvalidInputError):
    """The total is above what the lines (less their discounts) and the shipping come to."""

    code = "total_mismatch"


class LimitExceededError(InvalidInputError):
    """The purchase is above one of the program's ``limits`` (``max_purchase_total``,
    ``max_points_per_purchase``); the message names the limit."""

    code = "limit_exceeded"


class OccurredInFutureError(InvalidInputError):
    """The purchase is dated later than the program's ``purchases.max_future_minutes`` allow."""

    code = "occurred_in_future"


class ReturnExceedsPurchaseError(ConflictError):
    code = "return_exceeds_purchase"


class PointsAlreadySpentError(ConflictError):
    """A return would take back points the member has already spent and the program's
    return policy is ``refuse``."""

    code = "points_already_spent"
