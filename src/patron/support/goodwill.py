"""Goodwill points: staff compensate a member from a ticket, through the ledger.

The credit is an ``adjust`` entry (source ``ticket``/<ticket id>, the reason as its
description) with a new lot that is active at once and expires by the program's expiry
policy. It is idempotent by the client's key per ticket: a retry with the same key and points
returns the credit made the first time and credits nothing; the same key with other points
is a conflict. The ticket's row is locked first, then the member's account and the asking
key's row, so concurrent credits see each other and every cap holds: per ticket
(``support.goodwill_cap_points``), per member within ``support.goodwill.member_period_days``
and per key per day (issue 16: three tickets of 1,000 each once moved a member 3,000
points). A staff credit above ``support.goodwill.approval_above_points`` waits for an admin
(:func:`decide_goodwill`); both steps are in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.service import lock_key
from patron.audit import service as audit_service
from patron.awards.service import Cap, award
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.time import local
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.schemas import Balance
from patron.ledger.sources import LedgerSource
from patron.members import service as member_service
from patron.programs.schemas import ActiveProgram
from patron.support import sla
from patron.support.errors import (
    GoodwillAlreadyDecidedError,
    GoodwillCapExceededError,
    GoodwillNotFoundError,
    TicketClosedError,
    TicketHasNoMemberError,
    TicketNotFoundError,
)
from patron.support.models import GoodwillCredit, Ticket
from patron.support.repository import TicketRepository
from patron.support.schemas import Goodwill
from patron.support.states import GoodwillStatus, TicketStatus

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
    key_id: int | None = None,
    approves: bool = True,
) -> Goodwill:
    """Credit ``points`` to the ticket's member. Refused (nothing written) for a closed
    ticket, a ticket without a member, a blocked member, or above a cap (per ticket, per
    member in the period, per key per day: ``support`` in the program). Above
    ``support.goodwill.approval_above_points`` a caller that does not ``approves`` (staff)
    gets a credit ``pending_approval`` and no points until an admin approves it."""
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
                params={"points": found.points},
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
    await ledger_service.lock_account_for_update(session, ticket.member_id)
    if key_id is not None:
        await lock_key(session, key_id)
    await _check_caps(repository, active, ticket, points, key_id, now)
    credit = GoodwillCredit(
        ticket_id=ticket.id,
        member_id=ticket.member_id,
        points=points,
        reason=reason,
        idempotency_key=idempotency_key,
        entry_id=None,
        created_by=actor,
        created_at=now,
        status=GoodwillStatus.PENDING_APPROVAL.value,
        key_id=key_id,
    )
    limits = sla.settings(active.program).goodwill
    if points > limits.approval_above_points and not approves:
        await repository.add(credit)
        audit_service.note(session, target=f"member:{ticket.member_id}", changed=False)
        return Goodwill.model_validate(credit)
    await _give(session, repository, active, ticket.id, ticket.member_id, credit, actor, now)
    if approves and points > limits.approval_above_points:
        credit.decided_by, credit.decided_at = actor, now
    await repository.add(credit)
    return Goodwill.model_validate(credit)


async def waiting_for_approval(
    session: AsyncSession, *, limit: int = 50
) -> tuple[list[Goodwill], int]:
    """The credits waiting for an admin's approval across tickets, the oldest first (at most
    ``limit``), and how many wait in all."""
    repository = TicketRepository(session)
    credits = await repository.goodwill_waiting(limit)
    return [Goodwill.model_validate(credit) for credit in credits], (
        await repository.goodwill_waiting_count()
    )


async def decide_goodwill(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    ticket_id: int,
    goodwill_id: int,
    approve: bool,
    actor: str,
    now: datetime,
) -> Goodwill:
    """An admin approves (the points are credited now) or rejects a credit waiting for
    approval. Deciding again as before answers the credit as it is (a retry); the other
    decision is 409 ``goodwill_already_decided``."""
    repository = TicketRepository(session)
    ticket = await repository.get(ticket_id, for_update=True)
    if ticket is None:
        raise TicketNotFoundError(ticket_id)
    credit = await repository.goodwill_for_update(ticket.id, goodwill_id)
    if credit is None:
        raise GoodwillNotFoundError(goodwill_id)
    wanted = GoodwillStatus.CREDITED if approve else GoodwillStatus.REJECTED
    if credit.status != GoodwillStatus.PENDING_APPROVAL:
        if credit.status != wanted:
            raise GoodwillAlreadyDecidedError(goodwill_id, credit.status)
        audit_service.note(session, target=f"member:{credit.member_id}", changed=False)
        return Goodwill.model_validate(credit)
    if approve:
        member = await member_service.get_member_state(
            session, program_id=active.program_id, member_id=credit.member_id
        )
        member_service.ensure_active(member)
        await ledger_service.lock_account_for_update(session, credit.member_id)
        await _give(session, repository, active, ticket.id, credit.member_id, credit, actor, now)
    else:
        credit.status = GoodwillStatus.REJECTED.value
        audit_service.note(session, target=f"member:{credit.member_id}", changed=True)
    credit.decided_by, credit.decided_at = actor, now
    await session.flush()
    return Goodwill.model_validate(credit)


async def _check_caps(
    repository: TicketRepository,
    active: ActiveProgram,
    ticket: Ticket,
    points: int,
    key_id: int | None,
    now: datetime,
) -> None:
    """Every cap, counting credits given and waiting (not rejected ones)."""
    support = sla.settings(active.program)
    limits = support.goodwill
    assert ticket.member_id is not None
    given = await repository.goodwill_given(ticket_id=ticket.id)
    if given + points > support.goodwill_cap_points:
        raise GoodwillCapExceededError(
            requested=points, given=given, cap=support.goodwill_cap_points, per="ticket"
        )
    since = now - timedelta(days=limits.member_period_days)
    given = await repository.goodwill_given(member_id=ticket.member_id, since=since)
    if given + points > limits.member_cap_points:
        per = f"member in {limits.member_period_days} days"
        raise GoodwillCapExceededError(
            requested=points, given=given, cap=limits.member_cap_points, per=per
        )
    if key_id is not None:
        today = local(now, active.program.program.timezone)
        midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
        given = await repository.goodwill_given(key_id=key_id, since=midnight)
        if given + points > limits.daily_cap_points_per_key:
            raise GoodwillCapExceededError(
                requested=points, given=given, cap=limits.daily_cap_points_per_key, per="key a day"
            )


async def _give(
    session: AsyncSession,
    repository: TicketRepository,
    active: ActiveProgram,
    ticket_id: int,
    member_id: int,
    credit: GoodwillCredit,
    actor: str,
    now: datetime,
) -> None:
    """The ledger credit of ``credit`` (its member's account locked by the caller)."""
    cap = sla.settings(active.program).goodwill_cap_points
    before = await ledger_service.balance(session, member_id=member_id, now=now)
    awarded = await award(
        session,
        active=active,
        member_id=member_id,
        points=credit.points,
        source=LedgerSource.GOODWILL,
        source_id=str(ticket_id),
        key=(ticket_id, credit.idempotency_key),
        now=now,
        kind=EntryKind.ADJUST,
        cap=Cap(points=cap, source_id=str(ticket_id)),
        description=credit.reason,
        meta={"ticket_id": ticket_id, "reason": credit.reason, "by": credit.created_by},
    )
    if awarded.capped:
        raise GoodwillCapExceededError(
            requested=credit.points, given=awarded.used, cap=cap, per="ticket"
        )
    assert awarded.entry is not None
    credit.entry_id = awarded.entry.id
    credit.status = GoodwillStatus.CREDITED.value
    await repository.add_goodwill_points(ticket_id, credit.points, now)
    after = await ledger_service.balance(session, member_id=member_id, now=now)
    audit_service.note(
        session, target=f"member:{member_id}", before=_points(before), after=_points(after)
    )


def _points(balance: Balance) -> dict[str, int]:
    """The figures of a balance an auditor compares before and after an adjustment."""
    return {
        "available": balance.available,
        "pending": balance.pending,
        "lifetime_earned": balance.lifetime_earned,
        "debt": balance.debt,
    }
