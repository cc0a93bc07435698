"""Goodwill points: staff compensate a member from a ticket, through the ledger.

The credit is an ``adjust`` entry (source ``ticket``/<ticket id>, the reason as its
description) with a new lot that is active at once and expires by the program's expiry
policy. It is idempotent by the client's key per ticket: a retry with the same key and points
returns the credit made the first time and credits nothing; the same key with other points
is a conflict. The ticket's row is locked first, so concurrent credits of one ticket see each
other and the cap (``support.goodwill_cap_points`` per ticket) holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.awards.service import Cap, award
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.schemas import Balance
from patron.ledger.sources import LedgerSource
from patron.members import service as member_service
from patron.programs.schemas import ActiveProgram
from patron.support import sla
from patron.support.errors import (
    GoodwillCapExceededError,
    TicketClosedError,
    TicketHasNoMemberError,
    TicketNotFoundError,
)
from patron.support.models import GoodwillCredit
from patron.support.repository import TicketRepository
from patron.support.schemas import Goodwill
from patron.support.states import TicketStatus

SOURCE_TYPE = LedgerSource.GOODWILL.value


def ledger_key(ticket_id: int, idempotency_key: str) -> str:
    return LedgerSource.GOODWILL.key(ticket_id, idempotency_key)


async def credit_goodwill(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    ticket_id: int,
    points: int,
    reason: str,
    idempotency_key: str,
    actor: str,
    now: datetime,
) -> Goodwill:
    """Credit ``points`` to the ticket's member. Refused (nothing written) for a closed
    ticket, a ticket without a member, a blocked member, or above the cap."""
    if points <= 0:
        raise InvalidInputError("points must be above 0", field="points")
    repository = TicketRepository(session)
    ticket = await repository.get(ticket_id, for_update=True)
    if ticket is None:
        raise TicketNotFoundError(ticket_id)
    found = await repository.goodwill_by_key(ticket.id, idempotency_key)
    if found is not None:
        if found.points != points:
            raise IdempotencyConflictError(
                f"idempotency key {idempotency_key!r} was used for {found.points} points",
                field="idempotency_key",
            )
        audit_service.note(session, target=f"member:{found.member_id}", changed=False)
        return Goodwill.model_validate(found)
    if ticket.status is TicketStatus.CLOSED:
        raise TicketClosedError(ticket.id)
    if ticket.member_id is None:
        raise TicketHasNoMemberError(ticket.id)
    member = await member_service.get_member_state(
        session, program_id=active.program_id, member_id=ticket.member_id
    )
    member_service.ensure_active(member)
    cap = sla.settings(active.program).goodwill_cap_points
    if ticket.goodwill_points + points > cap:
        raise GoodwillCapExceededError(requested=points, given=ticket.goodwill_points, cap=cap)
    await ledger_service.lock_account_for_update(session, ticket.member_id)
    before = await ledger_service.balance(session, member_id=ticket.member_id, now=now)
    awarded = await award(
        session,
        active=active,
        member_id=ticket.member_id,
        points=points,
        source=LedgerSource.GOODWILL,
        source_id=str(ticket.id),
        key=(ticket.id, idempotency_key),
        now=now,
        kind=EntryKind.ADJUST,
        cap=Cap(points=cap, source_id=str(ticket.id)),
        description=reason,
        meta={"ticket_id": ticket.id, "reason": reason, "by": actor},
    )
    if awarded.capped:
        raise GoodwillCapExceededError(requested=points, given=awarded.used, cap=cap)
    entry = awarded.entry
    assert entry is not None
    credit = GoodwillCredit(
        ticket_id=ticket.id,
        member_id=ticket.member_id,
        points=points,
        reason=reason,
        idempotency_key=idempotency_key,
        entry_id=entry.id,
        created_by=actor,
        created_at=now,
    )
    await repository.add(credit)
    await repository.add_goodwill_points(ticket.id, points, now)
    after = await ledger_service.balance(session, member_id=ticket.member_id, now=now)
    audit_service.note(
        session, target=f"member:{ticket.member_id}", before=_points(before), after=_points(after)
    )
    return Goodwill.model_validate(credit)


def _points(balance: Balance) -> dict[str, int]:
    """The figures of a balance an auditor compares before and after an adjustment."""
    return {
        "available": balance.available,
        "pending": balance.pending,
        "lifetime_earned": balance.lifetime_earned,
        "debt": balance.debt,
    }
