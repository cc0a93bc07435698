"""The queue order: explicit priority, then the priority_support perk, then the oldest."""

from __future__ import annotations

from patron.kit.db import Database
from patron.programs.service import get_active_program
from patron.support import service
from patron.support.schemas import TicketFilter
from patron.support.states import TicketPriority, TicketStatus
from tests.support.factories import apply_program, at, member, open_ticket


async def test_queue_order(database: Database) -> None:
    active = await apply_program(database)
    plain = await member(database, active, "plain")
    bronze = await member(database, active, "bronze", points=1000)
    silver = await member(database, active, "silver", points=5000)
    gold = await member(database, active, "gold", points=15000)
    async with database.write() as session:
        a = await open_ticket(session, member_id=plain.id, now=at(0), subject="a")
        b = await open_ticket(session, member_id=silver.id, now=at(1), subject="b")
        c = await open_ticket(
            session, member_id=bronze.id, now=at(2), subject="c", priority=TicketPriority.HIGH
        )
        await open_ticket(
            session, member_id=gold.id, now=at(3), subject="d", priority=TicketPriority.LOW
        )
        e = await open_ticket(session, member_id=gold.id, now=at(4), subject="e")
        f = await open_ticket(session, member_id=None, contact="walk-in", now=at(5), subject="f")
        await service.set_priority(
            session, ticket_id=f.id, priority=TicketPriority.URGENT, actor="lead", now=at(6)
        )
    assert (b.has_priority_support, c.has_priority_support, e.tier_id) == (True, False, "gold")
    async with database.read() as session:
        active = await get_active_program(session)
        page = await service.list_tickets(session, active=active, where=TicketFilter(), now=at(6))
        perk_only = await service.list_tickets(
            session, active=active, where=TicketFilter(has_priority_support=True), now=at(6)
        )
    assert [t.subject for t in page.items] == ["f", "c", "b", "e", "a", "d"]
    assert [t.subject for t in perk_only.items] == ["b", "e", "d"]
    assert page.next_offset is None
    assert a.id < f.id


async def test_paging_and_filters(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ids = [
            (await open_ticket(session, member_id=someone.id, now=at(n), subject=str(n))).id
            for n in range(5)
        ]
        await service.assign(session, ticket_id=ids[1], assignee="ann", actor="x", now=at(6))
        await service.transition(
            session, ticket_id=ids[2], status=TicketStatus.RESOLVED, actor="x", now=at(6)
        )
    async with database.read() as session:
        active = await get_active_program(session)
        first = await service.list_tickets(
            session, active=active, where=TicketFilter(), now=at(6), limit=2
        )
        last = await service.list_tickets(
            session, active=active, where=TicketFilter(), now=at(6), limit=2, offset=4
        )
        ann = await service.list_tickets(
            session, active=active, where=TicketFilter(assignee="ann"), now=at(6)
        )
        resolved = await service.list_tickets(
            session, active=active, where=TicketFilter(status=TicketStatus.RESOLVED), now=at(6)
        )
    assert ([t.id for t in first.items], first.next_offset) == (ids[:2], 2)
    assert ([t.id for t in last.items], last.next_offset) == ([ids[4]], None)
    assert [t.id for t in ann.items] == [ids[1]]
    assert [t.id for t in resolved.items] == [ids[2]]
