"""The ledger's events (a contract: never renamed; see docs/events.md).

``ledger.credited`` and ``ledger.debited`` are emitted by the purchase paths (the outbox
work) and by the award service (:mod:`patron.awards`) for bonuses and goodwill;
``points.expiring`` and ``points.expired`` by the daily job.
"""

from __future__ import annotations

from datetime import datetime

from patron.kit.outbox import DomainEvent


class LedgerCredited(DomainEvent):
    type = "ledger.credited"
    member_id: int
    entry_id: int
    kind: str
    points: int
    """Positive."""
    source: str


class LedgerDebited(DomainEvent):
    type = "ledger.debited"
    member_id: int
    entry_id: int
    kind: str
    points: int
    """Positive: the points taken."""
    source: str


class PointsExpiring(DomainEvent):
    type = "points.expiring"
    member_id: int
    points: int
    expires_at: datetime
    days: int


class PointsExpired(DomainEvent):
    type = "points.expired"
    member_id: int
    points: int
