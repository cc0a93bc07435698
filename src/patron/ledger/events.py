"""The ledger's events (a contract: never renamed; see docs/events.md).

``ledger.credited`` and ``ledger.debited`` are emitted by the purchase paths (the outbox
work) and by the award service (:mod:`patron.awards`) for bonuses and goodwill;
``points.expiring`` and ``points.expired`` by the daily job.
"""

from __future__ import annotations

from datetime import date, datetime

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
    """Points that expire on one date, announced ``notice_days`` (or fewer) days before it by
    the daily job (:mod:`patron.ledger.expiring`): once per member and date."""

    type = "points.expiring"
    member_id: int
    points: int
    """Positive: what is left, when announced, of the active lots expiring that date."""
    expires_at: datetime
    """The first moment of ``expires_on`` at which some of these points expire."""
    days: int
    """``expires_on`` minus the local date of the announcement (0: later today)."""
    external_id: str
    """The shop's id of the member (replaced by ``erased-<id>`` when the member is erased)."""
    expires_on: date
    """The local date (program time zone) on which the points expire."""


class PointsExpired(DomainEvent):
    type = "points.expired"
    member_id: int
    points: int
