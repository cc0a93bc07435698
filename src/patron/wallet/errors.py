"""Errors of the cashback wallet."""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError


class InsufficientWalletError(InvalidInputError):
    """A purchase asked the wallet to pay more than its balance (nothing was changed)."""

    code = "wallet_insufficient"

    def __init__(self, *, requested: int, balance: int, field: str = "wallet_amount") -> None:
        super().__init__(
            f"the wallet was asked to pay {requested} (minor units) but holds {balance}",
            field=field,
        )
        self.requested = requested
        self.balance = balance


class WalletAmountInvalidError(InvalidInputError):
    """A wallet amount the purchase cannot take: above its total, or with no member."""

    code = "wallet_amount_invalid"


class WalletAlreadySpentError(ConflictError):
    """A return would take back cashback the member has already spent from the wallet and the
    program's return policy is ``refuse``."""

    code = "wallet_already_spent"


class WalletEntryConflictError(ConflictError):
    """An idempotency key of a wallet entry came back with another amount or member."""

    code = "wallet_entry_conflict"


class WalletAdjustmentBelowZeroError(ConflictError):
    """An admin's correction would take the wallet below 0 (a wallet has no debt); nothing
    was changed."""

    code = "wallet_adjustment_below_zero"

    def __init__(self, *, balance: str, amount: str, currency: str) -> None:
        super().__init__(
            f"the wallet holds {balance} {currency}: an adjustment of {amount} would take it "
            "below 0",
            field="amount",
            params={"balance": balance, "amount": amount, "currency": currency},
        )
