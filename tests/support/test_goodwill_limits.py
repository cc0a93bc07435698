"""Staff cannot mint points without bound (issue 16): goodwill is capped per member within a
period and per API key per day, and a staff credit above the approval size waits for an
admin. Exact integers; the caps hold under concurrency on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from patron.access import service as access_service
from patron.access.models import Role
from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.ledger.verify import verify
from patron.programs.schemas import ActiveProgram
from patron.support import goodwill
from patron.support.errors import GoodwillCapExceededError
from patron.support.schemas import Goodwill
from tests.support.factories import apply_program, at, member, open_ticket

LIMITS = {
    "goodwill_cap_points": 1000,
    "goodwill": {
        "member_cap_points": 2000,
        "member_period_days": 30,
        "daily_cap_points_per_key": 2500,
        "approval_above_points": 500,
    },
}


async def _credit(
    database: Database,
    active: ActiveProgram,
    ticket_id: int,
    points: int,
    key: str,
    *,
    key_id: int | None = 7,
    approves: bool = True,
    hours: float = 2,
) -> Goodwill:
    async with database.write() as session:
        return await goodwill.credit_goodwill(
            session,
            active=active,
            ticket_id=ticket_id,
            points=points,
            reason="sorry",
            idempotency_key=key,
            actor="ann",
            now=at(hours),
            key_id=key_id,
            approves=approves,
        )


async def _decide(
    database: Database, active: ActiveProgram, ticket_id: int, goodwill_id: int, approve: bool
) -> Goodwill:
    async with database.write() as session:
        return await goodwill.decide_goodwill(
            session,
            active=active,
            ticket_id=ticket_id,
            goodwill_id=goodwill_id,
            approve=approve,
            actor="boss",
            now=at(3),
        )


async def _available(database: Database, member_id: int) -> int:
    async with database.read() as session:
        assert await verify(session, now=at(40 * 24)) == []
        return (
            await ledger_service.balance(session, member_id=member_id, now=at(40 * 24))
        ).available


async def _tickets(database: Database, member_id: int, count: int) -> list[int]:
    async with database.write() as session:
        return [
            (await open_ticket(session, member_id=member_id, subject=f"t{n}")).id
            for n in range(count)
        ]


async def test_three_tickets_of_1000_no_longer_move_a_member_3000(database: Database) -> None:
    """The reproduction of the issue: the cap was per ticket only."""
    active = await apply_program(database, LIMITS)
    someone = await member(database, active, "m")
    first, second, third = await _tickets(database, someone.id, 3)
    await _credit(database, active, first, 1000, "a")
    await _credit(database, active, second, 1000, "b")
    with pytest.raises(GoodwillCapExceededError) as refused:
        await _credit(database, active, third, 1, "c")
    assert "per member in 30 days" in refused.value.message
    assert refused.value.field == "points"
    assert await _available(database, someone.id) == 2000
    # the period ends: 31 days on, the member may receive goodwill again
    later = await _credit(database, active, third, 1000, "c", hours=31 * 24)
    assert later.status == "credited"
    assert await _available(database, someone.id) == 3000


async def test_one_key_gives_at_most_its_daily_cap(database: Database) -> None:
    active = await apply_program(database, LIMITS)
    members = [await member(database, active, f"m{n}") for n in range(3)]
    tickets = [(await _tickets(database, m.id, 1))[0] for m in members]
    await _credit(database, active, tickets[0], 1000, "a")
    await _credit(database, active, tickets[1], 1000, "b")
    with pytest.raises(GoodwillCapExceededError) as refused:
        await _credit(database, active, tickets[2], 501, "c")
    assert "per key a day" in refused.value.message
    # another key, or the same key the next day, may
    assert (await _credit(database, active, tickets[2], 501, "c", key_id=8)).points == 501
    assert (await _credit(database, active, tickets[2], 100, "d", hours=26)).points == 100


async def test_a_staff_credit_above_the_approval_size_waits_for_an_admin(
    database: Database,
) -> None:
    active = await apply_program(database, LIMITS)
    someone = await member(database, active, "m")
    first, second, third = await _tickets(database, someone.id, 3)
    small = await _credit(database, active, first, 500, "small", approves=False)
    assert (small.status, small.decided_by) == ("credited", None)
    waiting = await _credit(database, active, second, 501, "big", approves=False)
    assert (waiting.status, waiting.entry_id, waiting.decided_by) == (
        "pending_approval",
        None,
        None,
    )
    assert await _available(database, someone.id) == 500
    again = await _credit(database, active, second, 501, "big", approves=False)  # a retry
    assert again == waiting
    by_admin = await _credit(database, active, third, 501, "admin")
    assert (by_admin.status, by_admin.decided_by) == ("credited", "ann")
    assert await _available(database, someone.id) == 1001


async def test_approval_and_rejection(database: Database) -> None:
    active = await apply_program(database, LIMITS)
    someone = await member(database, active, "m")
    first, second = await _tickets(database, someone.id, 2)
    waiting = await _credit(database, active, first, 800, "w", approves=False, key_id=None)
    assert (waiting.status, waiting.entry_id) == ("pending_approval", None)
    assert await _available(database, someone.id) == 0
    # the waiting 800 counts against the member's cap: 800 + 1000 + 201 > 2000
    await _credit(database, active, second, 1000, "x", key_id=None)
    with pytest.raises(GoodwillCapExceededError):
        await _credit(database, active, second, 201, "y", key_id=None)
    approved = await _decide(database, active, first, waiting.id, True)
    assert (approved.status, approved.decided_by, approved.points) == ("credited", "boss", 800)
    assert approved.entry_id is not None
    assert await _available(database, someone.id) == 1800
    assert await _decide(database, active, first, waiting.id, True) == approved  # a retry
    with pytest.raises(PatronError) as twice:
        await _decide(database, active, first, waiting.id, False)
    assert (twice.value.code, twice.value.status) == ("goodwill_already_decided", 409)
    assert await _available(database, someone.id) == 1800

    [third] = await _tickets(database, someone.id, 1)
    refused = await _credit(database, active, third, 150, "z", approves=False, key_id=None)
    assert refused.status == "credited"
    assert await _available(database, someone.id) == 1950
    other = await member(database, active, "o")
    [fourth] = await _tickets(database, other.id, 1)
    big = await _credit(database, active, fourth, 900, "big", approves=False, key_id=None)
    rejected = await _decide(database, active, fourth, big.id, False)
    assert (rejected.status, rejected.entry_id) == ("rejected", None)
    assert await _available(database, other.id) == 0
    # a rejected credit stops counting: the member may receive the full cap again
    again = await _credit(database, active, fourth, 1000, "again", key_id=None)
    assert again.status == "credited"
    with pytest.raises(PatronError) as unknown:
        await _decide(database, active, fourth, 999999, True)
    assert (unknown.value.code, unknown.value.status) == ("goodwill_not_found", 404)


async def test_concurrent_credits_to_one_member_hold_the_member_cap(database: Database) -> None:
    """Ten tickets, ten credits of 300 at once: 2,000 allows six (1,800), never seven."""
    active = await apply_program(database, LIMITS)
    someone = await member(database, active, "m")
    tickets = await _tickets(database, someone.id, 10)

    async def attempt(n: int) -> Any:
        try:
            return await _credit(database, active, tickets[n], 300, f"k{n}", key_id=100 + n)
        except PatronError as error:
            return error

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10)))
    given = [o for o in outcomes if isinstance(o, Goodwill)]
    assert len(given) == 6
    assert all(isinstance(o, GoodwillCapExceededError) for o in outcomes if o not in given)
    assert await _available(database, someone.id) == 1800


async def test_concurrent_credits_by_one_key_hold_its_daily_cap(database: Database) -> None:
    """One key, eight members, 500 each at once: 2,500 a day allows five."""
    active = await apply_program(database, LIMITS)
    members = [await member(database, active, f"m{n}") for n in range(8)]
    tickets = [(await _tickets(database, m.id, 1))[0] for m in members]

    async with database.write() as session:
        key = await access_service.create_key(session, name="ann", role=Role.STAFF, now=at(1))

    async def attempt(n: int) -> Any:
        try:
            return await _credit(database, active, tickets[n], 500, f"k{n}", key_id=key.id)
        except PatronError as error:
            return error

    outcomes = await asyncio.gather(*(attempt(n) for n in range(8)))
    assert sum(isinstance(o, Goodwill) for o in outcomes) == 5
    totals = [await _available(database, m.id) for m in members]
    assert sum(totals) == 2500
