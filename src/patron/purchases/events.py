"""The purchases domain's events (:mod:`patron.kit.outbox`); fields are a contract
(docs/events.md)."""

from __future__ import annotations

from typing import ClassVar

from patron.kit.outbox import DomainEvent


class PurchaseRecorded(DomainEvent):
    type: ClassVar[str] = "purchases.recorded"
    member_id: int | None
    """None for an anonymous purchase."""
    purchase_id: int
    external_id: str
    total: int
    """Minor units of ``currency``."""
    currency: str
    points: int
    occurred_at: str
    """ISO 8601 UTC."""


class PurchaseReturned(DomainEvent):
    type: ClassVar[str] = "purchases.returned"
    member_id: int | None
    purchase_id: int
    return_id: int
    amount: int
    """Minor units of the purchase's currency."""
    points_reversed: int
