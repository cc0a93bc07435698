"""Goodwill points from a ticket in the console (``/admin/tickets/{id}``): a staff user or an
admin credits the ticket's member within the caps of the program's ``support`` section
(:mod:`patron.support.goodwill`: per ticket, per member in a period); a staff user's credit
above ``support.goodwill.approval_above_points`` is stored waiting for approval, and an
admin approves it (the points are credited then) or rejects it on the ticket's page, or
from the queue's list of credits waiting (``/admin/tickets?goodwill=waiting``). Each
step is audited with the console user (``tickets.credit_goodwill``,
``tickets.approve_goodwill``, ``tickets.reject_goodwill``, with the member's balance before
and after), as the API's ``POST /tickets/{id}/goodwill`` and ``.../approve|reject`` make it.
The form's one-time key is the credit's idempotency key, so a second submit gives nothing
more."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.access.models import Role
from patron.access.schemas import ConsoleSession
from patron.kit.errors import IdempotencyConflictError, NotFoundError
from patron.kit.text import ascii_digits
from patron.kit.time import utcnow
from patron.members.errors import MemberBlockedError
from patron.programs import service as program_service
from patron.support import goodwill as goodwill_service
from patron.support.errors import (
    GoodwillAlreadyDecidedError,
    GoodwillCapExceededError,
    TicketClosedError,
    TicketHasNoMemberError,
)
from patron.support.states import GoodwillStatus
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of
from patron.web.params import PageId
from patron.web.routes.tickets import TicketId, missing_page

router = APIRouter(include_in_schema=False)
GoodwillId = PageId
MAX_POINTS = 1_000_000_000
MAX_REASON = 500


def _back(ticket_id: int, notice: str, *, queue: bool = False) -> RedirectResponse:
    """Back to the ticket's goodwill, or (``queue``) to the queue's list of goodwill waiting
    for approval, with a notice."""
    if queue:
        return RedirectResponse(f"/admin/tickets?goodwill=waiting&notice={notice}", status_code=303)
    return RedirectResponse(f"/admin/tickets/{ticket_id}?notice={notice}#goodwill", status_code=303)


@router.post("/admin/tickets/{ticket_id}/goodwill")
async def give(request: Request, console: StaffSession, ticket_id: TicketId) -> Response:
    """Credit goodwill points with a reason: at once, or (a staff user above the approval
    size) waiting for an admin."""
    form = await checked_form(request, console)
    raw, reason = form.get("points", "").strip(), form.get("reason", "").strip()
    if not ascii_digits(raw) or not 0 < int(raw) <= MAX_POINTS or len(raw) > 10:
        return _back(ticket_id, "no_points")
    if not reason or len(reason) > MAX_REASON:
        return _back(ticket_id, "no_points")
    key = form.get("key", "")[:64] or None
    if key is None:
        return _back(ticket_id, "repeated")
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            active = await program_service.get_active_program(session)
            credit = await goodwill_service.credit_goodwill(
                session,
                active=active,
                ticket_id=ticket_id,
                points=int(raw),
                reason=reason,
                idempotency_key=f"console:{key}",
                actor=console.user.email,
                now=now,
                approves=console.user.role is Role.ADMIN,
            )
            await audited(
                session, console, "tickets.credit_goodwill", f"ticket:{ticket_id}", now=now
            )
    except NotFoundError as error:
        return missing_page(request, error)
    except GoodwillCapExceededError:
        return _back(ticket_id, "over_cap")
    except TicketClosedError:
        return _back(ticket_id, "closed")
    except TicketHasNoMemberError:
        return _back(ticket_id, "no_member")
    except MemberBlockedError:
        return _back(ticket_id, "blocked")
    except IdempotencyConflictError:
        return _back(ticket_id, "repeated")
    waiting = credit.status is GoodwillStatus.PENDING_APPROVAL
    return _back(ticket_id, "waiting" if waiting else "given")


async def _decide(
    request: Request, console: ConsoleSession, ticket_id: int, goodwill_id: int, approve: bool
) -> Response:
    form = await checked_form(request, console)
    queue = form.get("back") == "queue"  # decided from the queue's list: back there
    action = "tickets.approve_goodwill" if approve else "tickets.reject_goodwill"
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            active = await program_service.get_active_program(session)
            await goodwill_service.decide_goodwill(
                session,
                active=active,
                ticket_id=ticket_id,
                goodwill_id=goodwill_id,
                approve=approve,
                actor=console.user.email,
                now=now,
            )
            await audited(session, console, action, f"ticket:{ticket_id}", now=now)
    except NotFoundError as error:
        return missing_page(request, error)
    except GoodwillAlreadyDecidedError:
        return _back(ticket_id, "decided", queue=queue)
    except GoodwillCapExceededError:
        return _back(ticket_id, "over_cap", queue=queue)
    except MemberBlockedError:
        return _back(ticket_id, "blocked", queue=queue)
    return _back(ticket_id, "approved" if approve else "rejected", queue=queue)


@router.post("/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/approve")
async def approve(
    request: Request, console: AdminSession, ticket_id: TicketId, goodwill_id: GoodwillId
) -> Response:
    """Approve a credit waiting for approval: the points are credited now."""
    return await _decide(request, console, ticket_id, goodwill_id, True)


@router.post("/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/reject")
async def reject(
    request: Request, console: AdminSession, ticket_id: TicketId, goodwill_id: GoodwillId
) -> Response:
    """Reject a credit waiting for approval: no points; it stops counting against the caps."""
    return await _decide(request, console, ticket_id, goodwill_id, False)
