"""The support events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from patron.kit.outbox import DomainEvent


class TicketsCreated(DomainEvent):
    type = "tickets.created"
    member_id: int | None
    ticket_id: int


class TicketsResolved(DomainEvent):
    type = "tickets.resolved"
    member_id: int | None
    ticket_id: int
