"""``/tickets``: support tickets, their queue, replies, status, goodwill points and KPIs.

Staff work tickets (read, reply, assign, prioritise, move the status, credit goodwill); a POS
opens tickets for members and adds the member's messages; admin may do everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import Field

from patron.access.errors import RoleForbiddenError
from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.deps import Admin, Now, ReadSession, Staff, WriteSession, allow
from patron.api.paging import PageCursor
from patron.api.params import IsoMoment, PathId, QueryBool
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.feedback import service as feedback_service
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.strict import DIGITS
from patron.kit.text import NO_NUL
from patron.kit.time import period
from patron.members.errors import MemberBlockedError, MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.purchases.errors import PurchaseNotFoundError
from patron.support import goodwill as goodwill_service
from patron.support import kpis as kpi_service
from patron.support import returns as returns_service
from patron.support import service as ticket_service
from patron.support.errors import (
    GoodwillAlreadyDecidedError,
    GoodwillCapExceededError,
    GoodwillNotFoundError,
    InvalidTicketTransitionError,
    ReturnNotFoundError,
    TicketClosedError,
    TicketHasNoMemberError,
    TicketLinkError,
    TicketNotFoundError,
)
from patron.support.kpis import TicketKpis
from patron.support.returns import ReturnsStats
from patron.support.schemas import (
    AssignRequest,
    Goodwill,
    GoodwillCreate,
    MessageCreate,
    PriorityRequest,
    StatusRequest,
    Ticket,
    TicketCreate,
    TicketDetail,
    TicketFilter,
    TicketMessage,
)
from patron.support.schemas import TicketPage as TicketPageSchema
from patron.support.states import (
    AuthorKind,
    TicketStatus,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])

StaffOrPos = Annotated[Principal, Depends(allow(Role.STAFF, Role.POS))]
TicketId = PathId
RowId = Annotated[int, Field(gt=0, le=2**53)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Key = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]


@router.post(
    "",
    response_model=Ticket,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Ticket, "description": "The ticket already opened by source_ref"}},
)
@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    PurchaseNotFoundError,
    ReturnNotFoundError,
    TicketLinkError,
    InvalidInputError,
    IdempotencyConflictError,
)
async def open_ticket(
    data: TicketCreate,
    session: WriteSession,
    response: Response,
    caller: StaffOrPos,
    till: TillIdentityDep,
    now: Now,
) -> Ticket:
    """Open a ticket (201). With a ``source_ref`` a retry answers 200 with the same ticket.
    A ticket needs ``member_id`` or a ``contact``; ``return_id`` implies its purchase."""
    await till.check(session, data.member_id, now=now)
    active = await get_active_program(session)
    opened = await ticket_service.open_ticket(
        session,
        active=active,
        member_id=data.member_id,
        channel=data.channel,
        category=data.category,
        subject=data.subject,
        text=data.text,
        source=data.source,
        source_ref=data.source_ref,
        now=now,
        contact=data.contact,
        priority=data.priority,
        store=data.store,
        purchase_id=data.purchase_id,
        return_id=data.return_id,
        created_by=caller.name,
    )
    if not opened.created:
        response.status_code = status.HTTP_200_OK
    return opened.ticket


@router.get("", response_model=TicketPageSchema)
@raises(ProgramNotFoundError)
async def list_tickets(
    session: ReadSession,
    _: Staff,
    now: Now,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    member_id: Annotated[int | None, Query(gt=0, le=2**63 - 1), DIGITS] = None,
    breached: QueryBool | None = None,
    priority_support: QueryBool | None = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000), DIGITS] = 0,
    cursor: PageCursor = None,
) -> TicketPageSchema:
    """Tickets in queue order: explicit priority, then members with the ``priority_support``
    perk, then the oldest. ``breached=true``: a target was missed (recorded or overdue now)."""
    active = await get_active_program(session)
    where = TicketFilter(
        status=status_,
        assignee=assignee,
        member_id=member_id,
        breached=breached,
        has_priority_support=priority_support,
    )
    return await ticket_service.list_tickets(
        session,
        active=active,
        where=where,
        now=now,
        limit=limit,
        offset=TicketPageSchema.resume(cursor, offset or None, legacy_name="offset") or 0,
    )


@router.get("/kpis", response_model=TicketKpis)
@raises(ProgramNotFoundError, InvalidInputError)
async def ticket_kpis(
    session: ReadSession,
    _: Staff,
    now: Now,
    date_from: Annotated[IsoMoment | None, Query(alias="from")] = None,
    date_to: Annotated[IsoMoment | None, Query(alias="to")] = None,
) -> TicketKpis:
    """Response and resolution times (median, p90), SLA compliance, overall and per tier,
    store, month and agent, for the tickets created in ``[from, to)``."""
    start, end = period(date_from, date_to, fields=("from", "to"), ordered=True)
    active = await get_active_program(session)
    kpis = await kpi_service.ticket_kpis(
        session, active=active, now=now, date_from=start, date_to=end
    )
    csat = await feedback_service.csat_by_agent(session, start=start, end=end)
    return kpi_service.attach_csat(kpis, csat)


@router.get("/returns-stats", response_model=ReturnsStats)
@raises(ProgramNotFoundError, InvalidInputError)
async def returns_stats(
    session: ReadSession,
    _: Staff,
    date_from: Annotated[IsoMoment | None, Query(alias="from")] = None,
    date_to: Annotated[IsoMoment | None, Query(alias="to")] = None,
) -> ReturnsStats:
    """Returns per product and per store for the purchases made in ``[from, to)``, with the
    tickets linked to them."""
    start, end = period(date_from, date_to, fields=("from", "to"), ordered=True)
    active = await get_active_program(session)
    return await returns_service.returns_stats(session, active=active, date_from=start, date_to=end)


@router.get("/{ticket_id}", response_model=TicketDetail)
@raises(TicketNotFoundError)
async def get_ticket(ticket_id: TicketId, session: ReadSession, _: Staff, now: Now) -> TicketDetail:
    """The ticket with its messages, history and goodwill credits."""
    return await ticket_service.get_ticket(session, ticket_id=ticket_id, now=now)


@router.post("/{ticket_id}/messages", response_model=TicketMessage, status_code=201)
@raises(TicketNotFoundError, TicketClosedError, IdempotencyConflictError)
async def add_message(
    ticket_id: TicketId, data: MessageCreate, session: WriteSession, caller: StaffOrPos, now: Now
) -> TicketMessage:
    """A staff reply (staff; the first one is the first response) or the member's message
    (``author_kind: member``; staff or POS). ``idempotency_key`` makes a retry add it once."""
    if data.author_kind is AuthorKind.STAFF and caller.role is Role.POS:
        raise RoleForbiddenError("the pos role may add only the member's messages")
    return await ticket_service.add_message(
        session,
        ticket_id=ticket_id,
        author_kind=data.author_kind,
        author=data.author or caller.name,
        text=data.text,
        now=now,
        idempotency_key=data.idempotency_key,
    )


@router.post("/{ticket_id}/assign", response_model=Ticket)
@raises(TicketNotFoundError, TicketClosedError)
async def assign(
    ticket_id: TicketId, data: AssignRequest, session: WriteSession, caller: Staff, now: Now
) -> Ticket:
    """Give the ticket to ``assignee``; ``null`` unassigns."""
    return await ticket_service.assign(
        session, ticket_id=ticket_id, assignee=data.assignee, actor=caller.name, now=now
    )


@router.post("/{ticket_id}/priority", response_model=Ticket)
@raises(TicketNotFoundError, TicketClosedError)
async def set_priority(
    ticket_id: TicketId, data: PriorityRequest, session: WriteSession, caller: Staff, now: Now
) -> Ticket:
    """Set the explicit priority: ``low``, ``normal``, ``high`` or ``urgent``."""
    return await ticket_service.set_priority(
        session, ticket_id=ticket_id, priority=data.priority, actor=caller.name, now=now
    )


@router.post("/{ticket_id}/status", response_model=Ticket)
@raises(TicketNotFoundError, InvalidTicketTransitionError)
async def transition(
    ticket_id: TicketId, data: StatusRequest, session: WriteSession, caller: Staff, now: Now
) -> Ticket:
    """Move the status; 409 ``invalid_ticket_transition`` for a move the machine refuses."""
    return await ticket_service.transition(
        session, ticket_id=ticket_id, status=data.status, actor=caller.name, now=now
    )


@router.post("/{ticket_id}/goodwill", response_model=Goodwill, status_code=201)
@raises(
    ProgramNotFoundError,
    TicketNotFoundError,
    TicketClosedError,
    TicketHasNoMemberError,
    GoodwillCapExceededError,
    MemberNotFoundError,
    MemberBlockedError,
    IdempotencyConflictError,
)
async def credit_goodwill(
    ticket_id: TicketId, data: GoodwillCreate, session: WriteSession, caller: Staff, now: Now
) -> Goodwill:
    """Credit goodwill points to the ticket's member through the ledger, once per
    ``idempotency_key``; 409 ``goodwill_cap_exceeded`` above a cap of the program (per
    ticket, per member in a period, per key per day). A staff credit above
    ``support.goodwill.approval_above_points`` answers ``status: pending_approval`` and
    credits nothing until an admin approves it."""
    active = await get_active_program(session)
    return await goodwill_service.credit_goodwill(
        session,
        active=active,
        ticket_id=ticket_id,
        points=data.points,
        reason=data.reason,
        idempotency_key=data.idempotency_key,
        actor=caller.name,
        now=now,
        key_id=caller.key_id,
        approves=caller.role is Role.ADMIN,
    )


GoodwillId = PathId


async def _decide(
    ticket_id: int, goodwill_id: int, approve: bool, session: Any, caller: Principal, now: datetime
) -> Goodwill:
    active = await get_active_program(session)
    return await goodwill_service.decide_goodwill(
        session,
        active=active,
        ticket_id=ticket_id,
        goodwill_id=goodwill_id,
        approve=approve,
        actor=caller.name,
        now=now,
    )


_DECISION_ERRORS = (
    ProgramNotFoundError,
    TicketNotFoundError,
    GoodwillNotFoundError,
    GoodwillAlreadyDecidedError,
    GoodwillCapExceededError,
    MemberNotFoundError,
    MemberBlockedError,
)


@router.post("/{ticket_id}/goodwill/{goodwill_id}/approve", response_model=Goodwill)
@raises(*_DECISION_ERRORS)
async def approve_goodwill(
    ticket_id: TicketId, goodwill_id: GoodwillId, session: WriteSession, caller: Admin, now: Now
) -> Goodwill:
    """Approve a credit waiting for approval: the points are credited now (the caps held
    when it was asked). Again: the credit as it is; 409 ``goodwill_already_decided`` if it
    was rejected."""
    return await _decide(ticket_id, goodwill_id, True, session, caller, now)


@router.post("/{ticket_id}/goodwill/{goodwill_id}/reject", response_model=Goodwill)
@raises(*_DECISION_ERRORS)
async def reject_goodwill(
    ticket_id: TicketId, goodwill_id: GoodwillId, session: WriteSession, caller: Admin, now: Now
) -> Goodwill:
    """Reject a credit waiting for approval: no points, and it stops counting against the
    caps. Again: the credit as it is; 409 ``goodwill_already_decided`` if it was approved."""
    return await _decide(ticket_id, goodwill_id, False, session, caller, now)
