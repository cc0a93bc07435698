"""Closed sets of values of support tickets and the state machine of a ticket's status.

A ticket moves between four states::

    open ──> pending ──> open          (pending: waiting for the member)
    open | pending ──> resolved ──> open   (a resolved ticket may be reopened)
    open | pending | resolved ──> closed   (closed is final)

A transition to the state the ticket is already in changes nothing (a retried request is
harmless); any other move not drawn above is refused.
"""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketChannel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    STORE = "store"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher comes first in the queue: urgent 3, high 2, normal 1, low 0."""
        return list(TicketPriority).index(self)


class TicketSource(StrEnum):
    """Who or what opened the ticket; ``survey`` and ``review`` are opened by the feedback
    loop (an NPS detractor, a negative review) with the answer's id as ``source_ref``."""

    MEMBER = "member"
    STAFF = "staff"
    SURVEY = "survey"
    REVIEW = "review"


class AuthorKind(StrEnum):
    STAFF = "staff"
    MEMBER = "member"


class TicketEventKind(StrEnum):
    STATUS = "status"
    ASSIGNEE = "assignee"
    PRIORITY = "priority"


TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING: frozenset(
        {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

ACTIVE_STATUSES = frozenset({TicketStatus.OPEN, TicketStatus.PENDING})


def can_move(current: TicketStatus, target: TicketStatus) -> bool:
    return target in TRANSITIONS[current]


class GoodwillStatus(StrEnum):
    """A goodwill credit: given at once, waiting for an admin (above the program's approval
    size), or refused by one."""

    CREDITED = "credited"
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
