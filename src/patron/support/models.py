"""Support tickets, their messages, status history and goodwill credits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime, value_enum
from patron.support.states import (
    AuthorKind,
    TicketChannel,
    TicketEventKind,
    TicketPriority,
    TicketSource,
    TicketStatus,
)


class Ticket(Base):
    """A support case. ``*_due_at`` are fixed when the ticket opens (the targets of the
    program then); ``*_breached_at`` record when a missed target was noticed."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("program_id", "source", "source_ref"),
        Index("ix_tickets_status_created_at", "status", "created_at"),
        CheckConstraint("goodwill_points >= 0", name="goodwill_not_negative"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    contact: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[TicketChannel] = mapped_column(value_enum(TicketChannel, "channel"))
    category: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(value_enum(TicketStatus, "status"))
    priority: Mapped[TicketPriority] = mapped_column(value_enum(TicketPriority, "priority"))
    has_priority_support: Mapped[bool] = mapped_column(Boolean)
    tier_id: Mapped[str | None] = mapped_column(String(64))
    store: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    source: Mapped[TicketSource] = mapped_column(value_enum(TicketSource, "source"))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_returns.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    goodwill_points: Mapped[int] = mapped_column(BigInteger, default=0)


class TicketMessage(Base):
    """A reply of staff or a message of the member; ``idempotency_key`` makes a retried
    post add the message once."""

    __tablename__ = "ticket_messages"
    __table_args__ = (UniqueConstraint("ticket_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    author_kind: Mapped[AuthorKind] = mapped_column(value_enum(AuthorKind, "author_kind"))
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketEvent(Base):
    """One change of a ticket's status, assignee or priority, and who made it."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[TicketEventKind] = mapped_column(value_enum(TicketEventKind, "kind"))
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GoodwillCredit(Base):
    """Points given to the member from a ticket; ``entry_id`` is the ledger entry."""

    __tablename__ = "goodwill_credits"
    __table_args__ = (
        UniqueConstraint("ticket_id", "idempotency_key"),
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_goodwill_credits_member_created", "member_id", "created_at"),
        Index("ix_goodwill_credits_key_created", "key_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    """The ledger entry; ``None`` while the credit waits for approval, or was rejected."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="credited")
    """``credited``, ``pending_approval`` or ``rejected`` (:class:`GoodwillStatus`)."""
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    """The API key that asked (the per-key daily cap); ``None`` from the CLI."""
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
