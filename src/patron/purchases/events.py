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

from collections.abc import Sequence
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


class PurchaseEffectsDue(DomainEvent):
    """A member's purchase made rules or campaigns apply that have deferred effects (issue a
    reward, credit a wallet, send a message): the ``campaigns.apply_deferred`` handler applies
    them. Emitted in the purchase's unit of work, after ``purchases.recorded``, only when there
    are such effects (so that the purchases of a program without any cost the dispatcher
    nothing). ``effects``: one object per effect in evaluation order, ``source_id`` (an earn
    rule's id, or ``campaign:<key>``), ``index`` (its place in that ``deferred`` list) and
    ``type``."""

    type: ClassVar[str] = "purchases.effects_due"
    member_id: int
    purchase_id: int
    effects: list[dict[str, str | int]]


def effects_due(
    member_id: int, purchase_id: int, deferred: Sequence[tuple[str, str]]
) -> PurchaseEffectsDue:
    """The event of a purchase whose applied rules and campaigns have the deferred effects
    ``deferred``: ``(source id, effect type)`` in evaluation order."""
    seen: dict[str, int] = {}
    effects: list[dict[str, str | int]] = []
    for source_id, kind in deferred:
        index = seen.get(source_id, 0)
        seen[source_id] = index + 1
        effects.append({"source_id": source_id, "index": index, "type": kind})
    return PurchaseEffectsDue(member_id=member_id, purchase_id=purchase_id, effects=effects)


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
