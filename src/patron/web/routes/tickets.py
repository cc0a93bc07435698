"""Support tickets (``/admin/tickets``): the queue in the order staff should work it (explicit
priority, then members with the ``priority_support`` perk, then the oldest), filtered by status,
by a missed 24-hour target or by the tickets assigned to the user; one ticket with its
conversation, where staff reply, move its status, set its priority and assign it to a console
user (or nobody).
Every write is the support service's (``patron.support.service``), as the API's
``POST /tickets/{id}/messages``, ``/status`` and ``/assign`` make it, and audited with the
console user. Goodwill points: :mod:`patron.web.routes.ticket_goodwill`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.access import users as user_service
from patron.access.models import Role
from patron.kit.errors import ConflictError, NotFoundError, PatronError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.support import goodwill as goodwill_service
from patron.support import service as ticket_service
from patron.support import sla
from patron.support.schemas import TicketFilter
from patron.support.states import TRANSITIONS, AuthorKind, TicketPriority, TicketStatus
from patron.web.audit import audited
from patron.web.auth import StaffSession, checked_form, database_of, remember
from patron.web.i18n import Formats
from patron.web.messages import error_text
from patron.web.params import PageId
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
TicketId = PageId
PAGE = 50
MAX_REPLY = 10_000
NOTICES = ("replied", "moved", "empty", "refused", "closed", "assigned", "unassigned",
           "no_user", "given", "waiting", "approved", "rejected", "over_cap", "no_member",
           "blocked", "decided", "no_points", "repeated", "prioritised")  # fmt: skip
# the notices of the queue's list of goodwill waiting for approval
GOODWILL_NOTICES = ("approved", "rejected", "decided", "over_cap", "blocked")


def status_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "open": _("Open"),
        "pending": _("Waiting for the member"),
        "resolved": _("Resolved"),
        "closed": _("Closed"),
    }


def priority_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {"low": _("Low"), "normal": _("Normal"), "high": _("High"), "urgent": _("Urgent")}


def _labels(request: Request) -> dict[str, Any]:
    language: str = request.state.language
    return {"statuses": status_labels(language), "priorities": priority_labels(language)}


def missing_page(request: Request, error: PatronError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


@router.get("/admin/tickets")
async def tickets_page(
    request: Request,
    console: StaffSession,
    status: str = "active",
    breached: str = "",
    mine: str = "",
    offset: int = 0,
    goodwill: str = "",
    notice: str = "",
) -> Response:
    """``status``: ``active`` (open and waiting, the default), ``all``, or one status;
    ``mine=1``: only the tickets assigned to the user; ``goodwill=waiting``: instead of the
    tickets, the goodwill credits waiting for an admin's approval across tickets (the queue
    always says how many wait)."""
    chosen = status if status in ("active", "all", *TicketStatus) else "active"
    late = breached == "1"
    own = mine == "1"
    offset = min(max(offset, 0), 1_000_000)
    now = utcnow()
    where = TicketFilter(
        status=TicketStatus(chosen) if chosen not in ("active", "all") else None,
        active_only=chosen == "active",
        breached=True if late else None,
        assignee=console.user.email if own else None,
    )
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError as error:
            return missing_page(request, error)
        page = await ticket_service.list_tickets(
            session, active=active, where=where, now=now, limit=PAGE, offset=offset
        )
        waiting, waiting_count = await goodwill_service.waiting_for_approval(session, limit=PAGE)
    items, next_offset = page.items, page.next_offset
    zone = active.program.program.timezone
    context = {
        **_labels(request),
        "tickets": items,
        "chosen": chosen,
        "late": late,
        "mine": own,
        "offset": offset,
        "next_offset": next_offset,
        "now": now,
        "choices": ["active", "all", *[s.value for s in TicketStatus]],
        "goodwill_view": goodwill == "waiting",
        "waiting": waiting,
        "waiting_count": waiting_count,
        "notice": notice if notice in GOODWILL_NOTICES else "",
        "fmt": Formats(request.state.language, zone),
    }
    return remember(request, render(request, "tickets.html", context))


@router.get("/admin/tickets/{ticket_id}")
async def ticket_page(
    request: Request, console: StaffSession, ticket_id: TicketId, notice: str = ""
) -> Response:
    now = utcnow()
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            ticket = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=now)
        except NotFoundError as error:
            return missing_page(request, error)
        users = await user_service.list_users(session)
    context = {
        "staff": [user.email for user in users if user.is_active],
        "is_admin": console.user.role is Role.ADMIN,
        "support": sla.settings(active.program),
        "goodwill_key": random_token(16),  # one per form: a second submit gives nothing more
        "fmt": Formats(request.state.language, active.program.program.timezone),
        **_labels(request),
        "ticket": ticket,
        "moves": sorted(TRANSITIONS[ticket.status], key=list(TicketStatus).index),
        "reply_key": random_token(16),  # one per form: a second submit adds nothing
        "notice": notice if notice in NOTICES else "",
        "now": now,
    }
    return remember(request, render(request, "ticket.html", context))


@router.post("/admin/tickets/{ticket_id}/reply")
async def reply(request: Request, console: StaffSession, ticket_id: TicketId) -> Response:
    """A staff reply (the first one is the ticket's first response)."""
    form = await checked_form(request, console)
    page = f"/admin/tickets/{ticket_id}"
    text = form.get("text", "").strip()
    if not text or len(text) > MAX_REPLY:
        return RedirectResponse(f"{page}?notice=empty", status_code=303)
    key = form.get("key", "")[:64] or None
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            await ticket_service.add_message(
                session,
                ticket_id=ticket_id,
                author_kind=AuthorKind.STAFF,
                author=console.user.email,
                text=text,
                now=now,
                idempotency_key=f"console:{key}" if key else None,
            )
            await audited(session, console, "tickets.add_message", f"ticket:{ticket_id}", now=now)
    except NotFoundError as error:
        return missing_page(request, error)
    except ConflictError:
        return RedirectResponse(f"{page}?notice=closed", status_code=303)
    return RedirectResponse(f"{page}?notice=replied#conversation", status_code=303)


@router.post("/admin/tickets/{ticket_id}/status")
async def move(request: Request, console: StaffSession, ticket_id: TicketId) -> Response:
    """Move the status along the ticket's machine (a refused move changes nothing)."""
    form = await checked_form(request, console)
    page = f"/admin/tickets/{ticket_id}"
    try:
        target = TicketStatus(form.get("status", ""))
    except ValueError:
        return RedirectResponse(f"{page}?notice=refused", status_code=303)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            await ticket_service.transition(
                session, ticket_id=ticket_id, status=target, actor=console.user.email, now=now
            )
            await audited(session, console, "tickets.transition", f"ticket:{ticket_id}", now=now)
    except NotFoundError as error:
        return missing_page(request, error)
    except ConflictError:
        return RedirectResponse(f"{page}?notice=refused", status_code=303)
    return RedirectResponse(f"{page}?notice=moved", status_code=303)


@router.post("/admin/tickets/{ticket_id}/assign")
async def assign(request: Request, console: StaffSession, ticket_id: TicketId) -> Response:
    """Give the ticket to an active console user (by email), or to nobody (an empty
    ``assignee``), as ``POST /api/v1/tickets/{id}/assign``; the same assignee again changes
    nothing. An unknown or disabled user changes nothing."""
    form = await checked_form(request, console)
    page = f"/admin/tickets/{ticket_id}"
    chosen = form.get("assignee", "").strip().lower()
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            if chosen:
                users = await user_service.list_users(session)
                if chosen not in {user.email for user in users if user.is_active}:
                    return RedirectResponse(f"{page}?notice=no_user#assignee", status_code=303)
            await ticket_service.assign(
                session,
                ticket_id=ticket_id,
                assignee=chosen or None,
                actor=console.user.email,
                now=now,
            )
            await audited(session, console, "tickets.assign", f"ticket:{ticket_id}", now=now)
    except NotFoundError as error:
        return missing_page(request, error)
    except ConflictError:
        return RedirectResponse(f"{page}?notice=closed", status_code=303)
    notice = "assigned" if chosen else "unassigned"
    return RedirectResponse(f"{page}?notice={notice}", status_code=303)


@router.post("/admin/tickets/{ticket_id}/priority")
async def set_priority(request: Request, console: StaffSession, ticket_id: TicketId) -> Response:
    """Set the explicit priority (low, normal, high, urgent), as
    ``POST /api/v1/tickets/{id}/priority``; an unknown value or a closed ticket changes
    nothing. Audited as ``tickets.set_priority``."""
    form = await checked_form(request, console)
    page = f"/admin/tickets/{ticket_id}"
    chosen = form.get("priority", "")
    if chosen not in {priority.value for priority in TicketPriority}:
        return RedirectResponse(f"{page}?notice=refused", status_code=303)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            await ticket_service.set_priority(
                session,
                ticket_id=ticket_id,
                priority=TicketPriority(chosen),
                actor=console.user.email,
                now=now,
            )
            await audited(session, console, "tickets.set_priority", f"ticket:{ticket_id}", now=now)
    except NotFoundError as error:
        return missing_page(request, error)
    except ConflictError:
        return RedirectResponse(f"{page}?notice=closed", status_code=303)
    return RedirectResponse(f"{page}?notice=prioritised", status_code=303)
