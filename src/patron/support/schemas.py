"""What the support services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.pages import Page
from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL
from patron.support.states import (
    AuthorKind,
    GoodwillStatus,
    TicketChannel,
    TicketEventKind,
    TicketPriority,
    TicketSource,
    TicketStatus,
)

Key = Annotated[str, Field(min_length=1, max_length=128)]


class Ticket(BaseModel):
    """A ticket as staff see it. ``first_response_breached`` / ``resolution_breached`` are
    true once a target was missed (recorded, or overdue as of the moment of reading)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    member_id: int | None
    contact: str | None
    channel: TicketChannel
    category: str
    subject: str
    text: str
    status: TicketStatus
    priority: TicketPriority
    has_priority_support: bool
    tier_id: str | None
    store: str | None
    assignee: str | None
    source: TicketSource
    source_ref: str | None
    purchase_id: int | None
    return_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    first_response_breached: bool = False
    resolution_breached: bool = False
    reopened_count: int
    goodwill_points: int


class TicketMessage(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    ticket_id: int
    author_kind: AuthorKind
    author: str
    text: str
    created_at: datetime


class TicketEvent(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    kind: TicketEventKind
    from_value: str | None
    to_value: str | None
    actor: str
    occurred_at: datetime


class Goodwill(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    ticket_id: int
    member_id: int
    points: int
    reason: str
    idempotency_key: str
    entry_id: int | None
    """The ledger entry; ``null`` while waiting for approval or when rejected."""
    created_by: str
    created_at: datetime
    status: GoodwillStatus
    decided_by: str | None
    """The admin who approved or rejected it (or credited above the approval size)."""
    decided_at: datetime | None


class TicketDetail(Ticket):
    messages: list[TicketMessage]
    events: list[TicketEvent]
    goodwill: list[Goodwill]


class TicketPage(Page[Ticket]):
    """Tickets in queue order; ``next_offset`` (and ``next_cursor``) is None on the last
    page."""

    cursor_scope = "tickets"
    cursor_from = "next_offset"
    legacy_fields = ("next_offset",)

    next_offset: int | None


@dataclass(frozen=True, slots=True)
class Opened:
    """The ticket and whether this call created it (False: found by ``source_ref``)."""

    ticket: Ticket
    created: bool


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: TicketStatus | None = None
    active_only: bool = False  # open or waiting for the member (``status`` is then not given)
    assignee: str | None = None
    member_id: int | None = None
    breached: bool | None = None
    has_priority_support: bool | None = None


@dataclass(frozen=True, slots=True)
class ResolvedTicket:
    """A resolved ticket for the CSAT follow-up of the feedback loop."""

    ticket_id: int
    member_id: int | None
    assignee: str | None
    channel: TicketChannel
    category: str
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class BreachReport:
    first_response: int
    resolution: int


_RowId = Annotated[int, Field(gt=0, le=2**53)]
_Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
_RequestKey = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]


class TicketCreate(BaseModel):
    member_id: _RowId | None = None
    contact: _Name | None = None
    channel: TicketChannel
    category: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
    subject: _Name
    text: Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)]
    priority: TicketPriority = TicketPriority.NORMAL
    store: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    purchase_id: _RowId | None = None
    return_id: _RowId | None = None
    source: TicketSource = TicketSource.MEMBER
    source_ref: _RequestKey | None = None


class MessageCreate(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)]
    author_kind: AuthorKind = AuthorKind.STAFF
    author: _Name | None = None
    idempotency_key: _RequestKey | None = None


class AssignRequest(BaseModel):
    assignee: _Name | None = None


class PriorityRequest(BaseModel):
    priority: TicketPriority


class StatusRequest(BaseModel):
    status: TicketStatus


class GoodwillCreate(BaseModel):
    points: Annotated[int, Field(gt=0, le=1_000_000_000, strict=True), WHOLE]
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
    idempotency_key: _RequestKey
