"""The purchases domain's events (:mod:`patron.kit.outbox`); fields are a contract
(docs/events.md).

Every way a purchase is written emits ``purchases.recorded`` and, when the member earned
points, ``ledger.credited`` (kind ``earn``, source ``purchase``) in the purchase's own unit of
work: the step-by-step path (:func:`patron.purchases.earn.record_purchase`, one
``emit_many``), the fused PostgreSQL statement (:mod:`patron.purchases.fused`: the outbox
rows are parts of the same ``WITH`` statement) and the bulk import's vectorised batches
(:mod:`patron.purchases.bulk.events`). A return emits ``purchases.returned`` and, when it
took points back, ``ledger.debited`` (kind ``reverse``, source ``return``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from patron.kit.outbox import DomainEvent
from patron.ledger.events import LedgerCredited
from patron.ledger.kinds import EntryKind
from patron.ledger.sources import LedgerSource

EMIT = True
"""Off only for the baseline of ``bench/events.py`` (purchases written without their
events); nothing else turns it off."""


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
    occurred_at: datetime
    """The purchase's time (ISO 8601 UTC in the payload)."""


class PurchaseReturned(DomainEvent):
    type: ClassVar[str] = "purchases.returned"
    member_id: int | None
    purchase_id: int
    return_id: int
    amount: int
    """Minor units of the purchase's currency."""
    points_reversed: int


def recorded(purchase_id: int, values: dict[str, Any]) -> PurchaseRecorded:
    """The event of a purchase written with ``values`` (keyed by the ``purchases`` columns)."""
    return PurchaseRecorded(
        member_id=values["member_id"],
        purchase_id=purchase_id,
        external_id=values["external_id"],
        total=values["total"],
        currency=values["currency"],
        points=values["points_earned"],
        occurred_at=values["occurred_at"],
    )


def earned(member_id: int, entry_id: int, points: int) -> LedgerCredited:
    """The ``ledger.credited`` of a purchase's earn entry."""
    return LedgerCredited(
        member_id=member_id,
        entry_id=entry_id,
        kind=EntryKind.EARN.value,
        points=points,
        source=LedgerSource.PURCHASE.value,
    )
