"""The ledger's events (:mod:`patron.kit.outbox`); fields are a contract (docs/events.md)."""

from __future__ import annotations

from typing import ClassVar

from patron.kit.outbox import DomainEvent


class LedgerCredited(DomainEvent):
    type: ClassVar[str] = "ledger.credited"
    member_id: int
    entry_id: int
    kind: str
    points: int
    """Positive."""
    source: str | None


class LedgerDebited(DomainEvent):
    type: ClassVar[str] = "ledger.debited"
    member_id: int
    entry_id: int
    kind: str
    points: int
    """Positive: the points taken."""
    source: str | None
