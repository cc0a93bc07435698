"""Support tickets: open, read and list them, reply, assign, prioritise, move their status.

Every function takes the session first and never commits. Times come in as ``now``.
Opening is idempotent by ``(source, source_ref)``: the feedback loop (a detractor's survey
answer, a negative review) and API clients may retry safely and get the same ticket back.
The queue order is explained in :func:`~patron.support.repository.queue_order`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.outbox import emit
from patron.members import service as member_service
from patron.programs.schemas import ActiveProgram
from patron.programs.service import get_active_program
from patron.support import sla
from patron.support.errors import (
    InvalidTicketTransitionError,
    TicketClosedError,
    TicketNotFoundError,
)
from patron.support.events import TicketsCreated, TicketsResolved
from patron.support.links import Links, resolve_links
from patron.support.models import Ticket, TicketEvent, TicketMessage
from patron.support.repository import TicketRepository
from patron.support.schemas import (
    BreachReport,
    Opened,
    ResolvedTicket,
    TicketDetail,
    TicketFilter,
    TicketPage,
)
from patron.support.schemas import Goodwill as GoodwillSchema
from patron.support.schemas import Ticket as TicketSchema
from patron.support.schemas import TicketEvent as TicketEventSchema
from patron.support.schemas import TicketMessage as TicketMessageSchema
from patron.support.states import (
    AuthorKind,
    TicketChannel,
    TicketEventKind,
    TicketPriority,
    TicketSource,
    TicketStatus,
    can_move,
)

MAX_PAGE = 500


def to_schema(ticket: Ticket, now: datetime) -> TicketSchema:
    """The ticket with its breach flags as of ``now`` (recorded, or overdue right now)."""
    active = ticket.status in (TicketStatus.OPEN, TicketStatus.PENDING)
    first_missed = sla.missed(
        ticket.first_response_at, ticket.first_response_due_at, is_active=active, now=now
    )
    resolution_missed = sla.missed(
        ticket.resolved_at, ticket.resolution_due_at, is_active=active, now=now
    )
    schema = TicketSchema.model_validate(ticket)
    return schema.model_copy(
        update={
            "first_response_breached": first_missed
            or ticket.first_response_breached_at is not None,
            "resolution_breached": resolution_missed or ticket.resolution_breached_at is not None,
        }
    )


async def open_ticket(
    session: AsyncSession,
    *,
    member_id: int | None,
    channel: TicketChannel,
    category: str,
    subject: str,
    text: str,
    source: TicketSource,
    source_ref: str | None,
    now: datetime,
    contact: str | None = None,
    priority: TicketPriority = TicketPriority.NORMAL,
    store: str | None = None,
    purchase_id: int | None = None,
    return_id: int | None = None,
    created_by: str = "system",
    active: ActiveProgram | None = None,
) -> Opened:
    """Open a ticket, or return the one already opened with the same ``source_ref``.

    A member's ticket records the member's tier and whether it carries the
    ``priority_support`` perk (queue order and, when configured, shorter targets); a ticket
    without a member needs a ``contact``. The targets of the program now fix the due times.
    A repeated ``source_ref`` for another member raises ``idempotency_conflict``.
    ``active`` defaults to the active default program.
    """
    active = active or await get_active_program(session)
    repository = TicketRepository(session)
    if source_ref is not None:
        found = await repository.by_source_ref(active.program_id, source, source_ref)
        if found is not None:
            return Opened(_replayed(found, member_id, now), created=False)
    if member_id is None and not contact:
        raise InvalidInputError("give member_id or a contact for the ticket", field="contact")
    tier_id: str | None = None
    if member_id is not None:
        state = await member_service.get_member_state(
            session, program_id=active.program_id, member_id=member_id
        )
        tier_id = state.tier_id
    links = await resolve_links(repository, member_id, purchase_id, return_id)
    ticket = _new_ticket(active, member_id, tier_id, links, now)
    ticket.contact, ticket.channel, ticket.category = contact, channel, category
    ticket.subject, ticket.text, ticket.priority = subject, text, priority
    ticket.store = store if store is not None else links.store
    ticket.source, ticket.source_ref, ticket.created_by = source, source_ref, created_by
    if not await repository.try_insert(ticket):
        assert source_ref is not None  # only the source_ref is unique
        found = await repository.by_source_ref(active.program_id, source, source_ref)
        assert found is not None
        return Opened(_replayed(found, member_id, now), created=False)
    created = TicketsCreated(member_id=member_id, ticket_id=ticket.id)
    await emit(repository.session, created, program_id=active.program_id, occurred_at=now)
    return Opened(to_schema(ticket, now), created=True)


def _new_ticket(
    active: ActiveProgram, member_id: int | None, tier_id: str | None, links: Links, now: datetime
) -> Ticket:
    priority_support = sla.has_priority_support(active.program, tier_id)
    first_due, resolution_due = sla.due_times(
        now, sla.targets(active.program, priority_support=priority_support)
    )
    return Ticket(
        program_id=active.program_id,
        member_id=member_id,
        status=TicketStatus.OPEN,
        has_priority_support=priority_support,
        tier_id=tier_id,
        purchase_id=links.purchase_id,
        return_id=links.return_id,
        created_at=now,
        updated_at=now,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        reopened_count=0,
        goodwill_points=0,
    )


def _replayed(found: Ticket, member_id: int | None, now: datetime) -> TicketSchema:
    if found.member_id != member_id:
        raise IdempotencyConflictError(
            f"source_ref {found.source_ref!r} already opened ticket {found.id} for another member",
            field="source_ref",
            params={"ticket_id": found.id},
        )
    return to_schema(found, now)


async def _require(
    repository: TicketRepository, ticket_id: int, *, for_update: bool = False
) -> Ticket:
    ticket = await repository.get(ticket_id, for_update=for_update)
    if ticket is None:
        raise TicketNotFoundError(ticket_id)
    return ticket


async def get_ticket(session: AsyncSession, *, ticket_id: int, now: datetime) -> TicketDetail:
    """The ticket with its messages, status history and goodwill credits."""
    repository = TicketRepository(session)
    ticket = await _require(repository, ticket_id)
    return TicketDetail(
        **to_schema(ticket, now).model_dump(),
        messages=[
            TicketMessageSchema.model_validate(m) for m in await repository.messages(ticket.id)
        ],
        events=[TicketEventSchema.model_validate(e) for e in await repository.events(ticket.id)],
        goodwill=[GoodwillSchema.model_validate(g) for g in await repository.goodwill(ticket.id)],
    )


async def list_tickets(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    where: TicketFilter,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> TicketPage:
    """Tickets in queue order (see :func:`~patron.support.repository.queue_order`);
    ``breached`` filters on missed targets as of ``now``."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    if offset < 0:
        raise InvalidInputError("offset must not be negative", field="offset")
    rows = await TicketRepository(session).page(active.program_id, where, now, limit + 1, offset)
    items = [to_schema(row, now) for row in rows[:limit]]
    return TicketPage(items=items, next_offset=offset + limit if len(rows) > limit else None)


async def add_message(
    session: AsyncSession,
    *,
    ticket_id: int,
    author_kind: AuthorKind,
    author: str,
    text: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> TicketMessageSchema:
    """Add a message. The first staff reply is the ticket's first response (late if at or
    after its due time). A member's message brings a pending or resolved ticket back to
    ``open`` (resolved: a reopening). A closed ticket takes no messages. With an
    ``idempotency_key`` a retry returns the message written the first time."""
    repository = TicketRepository(session)
    ticket = await _require(repository, ticket_id, for_update=True)
    if idempotency_key is not None:
        found = await repository.message_by_key(ticket.id, idempotency_key)
        if found is not None:
            if (found.author_kind, found.text) != (author_kind, text):
                raise IdempotencyConflictError(
                    f"idempotency key {idempotency_key!r} was used for another message",
                    field="idempotency_key",
                    params={"idempotency_key": idempotency_key},
                )
            return TicketMessageSchema.model_validate(found)
    if ticket.status is TicketStatus.CLOSED:
        raise TicketClosedError(ticket.id)
    message = TicketMessage(
        ticket_id=ticket.id,
        member_id=ticket.member_id,
        author_kind=author_kind,
        author=author,
        text=text,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    await repository.add(message)
    if author_kind is AuthorKind.STAFF:
        _record_first_response(ticket, now)
    elif ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        await _move(repository, ticket, TicketStatus.OPEN, actor=author, now=now)
    ticket.updated_at = now
    await session.flush()
    return TicketMessageSchema.model_validate(message)


def _record_first_response(ticket: Ticket, now: datetime) -> None:
    if ticket.first_response_at is not None:
        return
    ticket.first_response_at = now
    if sla.is_late(now, ticket.first_response_due_at) and ticket.first_response_breached_at is None:
        ticket.first_response_breached_at = now


async def transition(
    session: AsyncSession, *, ticket_id: int, status: TicketStatus, actor: str, now: datetime
) -> TicketSchema:
    """Move the ticket along the status machine (:mod:`patron.support.states`).

    The same status again changes nothing. A refused move raises
    ``invalid_ticket_transition`` (409) before anything is written.
    """
    repository = TicketRepository(session)
    ticket = await _require(repository, ticket_id, for_update=True)
    if ticket.status is not status:
        await _move(repository, ticket, status, actor=actor, now=now)
        ticket.updated_at = now
        await session.flush()
    return to_schema(ticket, now)


async def _move(
    repository: TicketRepository,
    ticket: Ticket,
    target: TicketStatus,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Resolving stamps ``resolved_at`` (and counts as the first response if there was none);
    reopening clears ``resolved_at`` and counts the reopening; closing stamps ``closed_at``."""
    current = ticket.status
    if not can_move(current, target):
        raise InvalidTicketTransitionError(current, target)
    if target is TicketStatus.RESOLVED:
        _record_first_response(ticket, now)
        ticket.resolved_at = now
        if sla.is_late(now, ticket.resolution_due_at) and ticket.resolution_breached_at is None:
            ticket.resolution_breached_at = now
    elif target is TicketStatus.CLOSED:
        ticket.closed_at = now
    elif current is TicketStatus.RESOLVED:
        ticket.resolved_at = None
        ticket.reopened_count += 1
    ticket.status = target
    await repository.add(_event(ticket, TicketEventKind.STATUS, current, target, actor, now))
    if target is TicketStatus.RESOLVED:
        resolved = TicketsResolved(member_id=ticket.member_id, ticket_id=ticket.id)
        await emit(repository.session, resolved, program_id=ticket.program_id, occurred_at=now)


def _event(
    ticket: Ticket,
    kind: TicketEventKind,
    before: str | None,
    after: str | None,
    actor: str,
    now: datetime,
) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        from_value=before,
        to_value=after,
        actor=actor,
        occurred_at=now,
    )


async def assign(
    session: AsyncSession, *, ticket_id: int, assignee: str | None, actor: str, now: datetime
) -> TicketSchema:
    """Give the ticket to ``assignee`` (a staff name or an API key's name; None: nobody).
    The same assignee again changes nothing; a closed ticket cannot be reassigned."""
    repository = TicketRepository(session)
    ticket = await _require(repository, ticket_id, for_update=True)
    if ticket.assignee != assignee:
        if ticket.status is TicketStatus.CLOSED:
            raise TicketClosedError(ticket.id)
        event = _event(ticket, TicketEventKind.ASSIGNEE, ticket.assignee, assignee, actor, now)
        ticket.assignee, ticket.updated_at = assignee, now
        await repository.add(event)
    return to_schema(ticket, now)


async def set_priority(
    session: AsyncSession,
    *,
    ticket_id: int,
    priority: TicketPriority,
    actor: str,
    now: datetime,
) -> TicketSchema:
    """Change the explicit priority (the same priority again changes nothing)."""
    repository = TicketRepository(session)
    ticket = await _require(repository, ticket_id, for_update=True)
    if ticket.priority is not priority:
        if ticket.status is TicketStatus.CLOSED:
            raise TicketClosedError(ticket.id)
        event = _event(ticket, TicketEventKind.PRIORITY, ticket.priority, priority, actor, now)
        ticket.priority, ticket.updated_at = priority, now
        await repository.add(event)
    return to_schema(ticket, now)


async def detect_breaches(session: AsyncSession, *, now: datetime) -> BreachReport:
    """Record every missed target as of ``now`` (the daily job; idempotent)."""
    first, resolution = await TicketRepository(session).mark_breaches(now)
    return BreachReport(first_response=first, resolution=resolution)


async def tickets_resolved_since(
    session: AsyncSession, *, since: datetime, until: datetime | None = None, limit: int = 1000
) -> list[ResolvedTicket]:
    """Tickets resolved at or after ``since`` (and before ``until``), oldest first: those
    whose CSAT survey is due. A reopened ticket drops out until it is resolved again, then
    comes back with its new ``resolved_at``; the caller sends one survey per ticket."""
    return await TicketRepository(session).resolved_between(since, until, limit)
