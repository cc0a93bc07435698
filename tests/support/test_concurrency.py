"""Concurrent goodwill credits and opens, each in its own unit of work: exact outcomes."""

from __future__ import annotations

import asyncio

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.ledger.verify import verify
from patron.programs.schemas import ActiveProgram
from patron.support import goodwill, service
from patron.support.errors import GoodwillCapExceededError
from patron.support.schemas import Goodwill, Opened
from patron.support.states import TicketChannel, TicketSource
from tests.support.factories import apply_program, at, counts, member, open_ticket


async def _credit(
    database: Database, active: ActiveProgram, ticket_id: int, key: str
) -> Goodwill | PatronError:
    try:
        async with database.write() as session:
            return await goodwill.credit_goodwill(
                session,
                active=active,
                ticket_id=ticket_id,
                points=300,
                reason="sorry",
                idempotency_key=key,
                actor="ann",
                now=at(1),
            )
    except PatronError as error:
        return error


async def test_ten_credits_of_300_under_a_cap_of_1000(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
    outcomes = await asyncio.gather(
        *(_credit(database, active, ticket.id, f"k{n}") for n in range(10)),
        *(_credit(database, active, ticket.id, "k0") for _ in range(5)),
    )
    credits = {o.idempotency_key for o in outcomes if isinstance(o, Goodwill)}
    refusals = [o for o in outcomes if isinstance(o, PatronError)]
    assert len(credits) == 3
    assert len(refusals) == 15 - sum(isinstance(o, Goodwill) for o in outcomes)
    assert all(isinstance(o, GoodwillCapExceededError) for o in refusals)
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=someone.id, now=at(2))
        detail = await service.get_ticket(session, ticket_id=ticket.id, now=at(2))
        assert await verify(session, now=at(2)) == []
    assert (balance.available, detail.goodwill_points, len(detail.goodwill)) == (900, 900, 3)


async def _open(database: Database, member_id: int) -> Opened:
    async with database.write() as session:
        return await service.open_ticket(
            session,
            member_id=member_id,
            channel=TicketChannel.EMAIL,
            category="review",
            subject="1-star review",
            text="Cold coffee",
            source=TicketSource.REVIEW,
            source_ref="review:7",
            now=at(0),
        )


async def test_concurrent_opens_of_one_source_ref_make_one_ticket(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    outcomes = await asyncio.gather(*(_open(database, someone.id) for _ in range(8)))
    assert len({o.ticket.id for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1
    assert (await counts(database))["tickets"] == 1
