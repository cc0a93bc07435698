"""Errors of the points ledger."""

from __future__ import annotations

from patron.kit.errors import ConflictError, NotFoundError


class InsufficientPointsError(ConflictError):
    """A debit asked for more points than the member has available (nothing was changed)."""

    code = "insufficient_points"

    def __init__(self, *, requested: int, available: int) -> None:
        super().__init__(
            f"{requested} points requested but only {max(available, 0)} available",
            field="amount",
            params={"requested": requested, "available": max(available, 0)},
        )
        self.requested = requested
        self.available = available


class AccountNotFoundError(NotFoundError):
    code = "account_not_found"

    def __init__(self, member_id: int) -> None:
        super().__init__(f"member {member_id} has no points account", field="member_id")
        self.member_id = member_id


class LotNotFoundError(NotFoundError):
    code = "lot_not_found"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="lot_id")


class ReversalExceedsEarningError(ConflictError):
    """A reversal would take back more than the earning it refers to ever credited."""

    code = "reversal_exceeds_earning"

    def __init__(self, *, lot_id: int, requested: int, reversible: int) -> None:
        super().__init__(
            f"cannot reverse {requested} points of lot {lot_id}: only {reversible} left to reverse",
            field="amount",
        )
        self.lot_id = lot_id
        self.requested = requested
        self.reversible = reversible
