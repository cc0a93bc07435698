"""The wallet's events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from patron.kit.outbox import DomainEvent


class WalletCredited(DomainEvent):
    """Money came into a member's wallet: cashback (``kind`` ``credit``)."""

    type = "wallet.credited"
    member_id: int
    entry_id: int
    kind: str
    amount: int
    """Positive, minor units of ``currency``."""
    currency: str
    balance: int
    """The wallet's balance after the entry."""
    source: str
    purchase_id: int | None


class WalletDebited(DomainEvent):
    """Money left a member's wallet: paid part of a purchase (``kind`` ``spend``), or a return
    took back cashback (``kind`` ``reverse``)."""

    type = "wallet.debited"
    member_id: int
    entry_id: int
    kind: str
    amount: int
    """Positive: what left the wallet, minor units of ``currency``."""
    currency: str
    balance: int
    source: str
    purchase_id: int | None
