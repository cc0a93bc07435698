"""Goodwill points from a ticket: through the ledger, once per key, within the cap."""

from __future__ import annotations

from typing import Any

import pytest

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.ledger.verify import verify
from patron.members import blocking
from patron.programs.schemas import ActiveProgram
from patron.support import goodwill, service
from patron.support.schemas import Goodwill
from patron.support.states import TicketStatus
from tests.support.factories import apply_program, at, counts, member, open_ticket


async def _credit(
    database: Database, active: ActiveProgram, ticket_id: int, points: int, key: str
) -> Goodwill:
    async with database.write() as session:
        return await goodwill.credit_goodwill(
            session,
            active=active,
            ticket_id=ticket_id,
            points=points,
            reason="Sorry for the broken machine",
            idempotency_key=key,
            actor="ann",
            now=at(2),
        )


async def _state(database: Database, member_id: int, ticket_id: int) -> dict[str, Any]:
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=member_id, now=at(3))
        page = await ledger_service.entries(session, member_id=member_id, limit=500)
        detail = await service.get_ticket(session, ticket_id=ticket_id, now=at(3))
    return {
        "available": balance.available,
        "entries": [entry.id for entry in page.items],
        "ticket_points": detail.goodwill_points,
        "credits": [(g.points, g.idempotency_key) for g in detail.goodwill],
        "rows": await counts(database),
    }


async def test_credit_once_on_retry(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
    first = await _credit(database, active, ticket.id, 300, "gw-1")
    again = await _credit(database, active, ticket.id, 300, "gw-1")
    assert again == first
    async with database.read() as session:
        page = await ledger_service.entries(session, member_id=someone.id, limit=10)
        assert await verify(session, now=at(3)) == []
    [entry] = page.items
    assert (entry.id, entry.kind, entry.amount) == (first.entry_id, "adjust", 300)
    assert (entry.source_type, entry.source_id) == ("ticket", str(ticket.id))
    assert entry.description == "Sorry for the broken machine"
    assert entry.meta == {
        "ticket_id": ticket.id,
        "reason": "Sorry for the broken machine",
        "by": "ann",
    }
    assert entry.idempotency_key == f"goodwill:{ticket.id}:gw-1"
    state = await _state(database, someone.id, ticket.id)
    assert (state["available"], state["ticket_points"], state["credits"]) == (
        300,
        300,
        [(300, "gw-1")],
    )


async def test_refusals_change_nothing(database: Database) -> None:
    active = await apply_program(database, {"goodwill_cap_points": 500})
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
        anonymous = await open_ticket(session, member_id=None, contact="walk-in")
    await _credit(database, active, ticket.id, 300, "gw-1")
    before = await _state(database, someone.id, ticket.id)
    cases = [
        (ticket.id, 250, "gw-1", "idempotency_conflict", 409),  # same key, other points
        (ticket.id, 201, "gw-2", "goodwill_cap_exceeded", 409),  # 300 + 201 > 500
        (anonymous.id, 10, "gw-3", "ticket_has_no_member", 409),
        (999999, 10, "gw-4", "ticket_not_found", 404),
    ]
    for ticket_id, points, key, code, status in cases:
        with pytest.raises(PatronError) as refused:
            await _credit(database, active, ticket_id, points, key)
        assert (refused.value.code, refused.value.status) == (code, status)
        assert await _state(database, someone.id, ticket.id) == before
    exactly = await _credit(database, active, ticket.id, 200, "gw-5")
    assert exactly.points == 200
    async with database.write() as session:
        await service.transition(
            session, ticket_id=ticket.id, status=TicketStatus.CLOSED, actor="ann", now=at(2)
        )
    after_close = await _state(database, someone.id, ticket.id)
    with pytest.raises(PatronError) as closed:
        await _credit(database, active, ticket.id, 1, "gw-6")
    assert closed.value.code == "ticket_closed"
    assert await _state(database, someone.id, ticket.id) == after_close
    replay = await _credit(database, active, ticket.id, 200, "gw-5")
    assert replay == exactly
    async with database.read() as session:
        assert await verify(session, now=at(3)) == []


async def test_a_blocked_member_gets_no_goodwill(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
        await blocking.block_member(session, member_id=someone.id, reason="fraud", now=at(1))
    before = await _state(database, someone.id, ticket.id)
    with pytest.raises(PatronError) as refused:
        await _credit(database, active, ticket.id, 10, "gw-1")
    assert refused.value.code == "member_blocked"
    assert await _state(database, someone.id, ticket.id) == before


async def test_a_closed_ticket_gets_no_goodwill(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
        await service.transition(
            session, ticket_id=ticket.id, status=TicketStatus.CLOSED, actor="ann", now=at(1)
        )
    before = await _state(database, someone.id, ticket.id)
    with pytest.raises(PatronError) as refused:
        await _credit(database, active, ticket.id, 10, "gw-1")
    assert (refused.value.code, refused.value.field) == ("ticket_closed", "ticket_id")
    assert await _state(database, someone.id, ticket.id) == before
