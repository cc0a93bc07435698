"""Returns per product and per store, with the tickets linked to them, by hand."""

from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.programs.service import get_active_program
from patron.support.returns import ProductReturns, StoreReturns, returns_stats
from tests.support.factories import (
    T0,
    apply_program,
    at,
    counts,
    member,
    open_ticket,
    purchase,
    return_lines,
)


async def test_returns_per_product_and_store(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        p1 = await purchase(
            session,
            active,
            external_id="p1",
            member_id=someone.id,
            store="msk-1",
            lines=[("COF", 2, "500.00"), ("TEA", 1, "700.00")],
        )
        p2 = await purchase(
            session,
            active,
            external_id="p2",
            member_id=someone.id,
            store="msk-1",
            lines=[("COF", 1, "500.00")],
        )
        p3 = await purchase(
            session,
            active,
            external_id="p3",
            member_id=None,
            store="spb-2",
            lines=[("TEA", 3, "700.00")],
        )
        await purchase(
            session,
            active,
            external_id="p4",
            member_id=someone.id,
            store=None,
            lines=[("MUG", 1, "300.00")],
        )
        r1 = await return_lines(session, active, p1, "r1", [(1, 1)])
        await return_lines(session, active, p1, "r2", [(2, 1)])
        r3 = await return_lines(session, active, p3, "r3", None, amount="700.00")
        await return_lines(session, active, p2, "r4", None)
        t1 = await open_ticket(session, member_id=someone.id, return_id=r1)
        t2 = await open_ticket(session, member_id=None, contact="walk-in", return_id=r3)
    assert (t1.purchase_id, t1.store, t2.purchase_id, t2.store) == (p1, "msk-1", p3, "spb-2")
    async with database.read() as session:
        stats = await returns_stats(session, active=await get_active_program(session))
    assert stats.currency == "RUB"
    assert stats.by_product == [
        ProductReturns(
            sku="COF",
            units_sold=3,
            units_returned=2,
            rate=0.6667,
            returns=2,
            returns_with_ticket=1,
            ticket_ids=[t1.id],
        ),
        ProductReturns(
            sku="TEA",
            units_sold=4,
            units_returned=1,
            rate=0.25,
            returns=1,
            returns_with_ticket=0,
            ticket_ids=[],
        ),
        ProductReturns(
            sku="MUG",
            units_sold=1,
            units_returned=0,
            rate=0.0,
            returns=0,
            returns_with_ticket=0,
            ticket_ids=[],
        ),
    ]
    assert stats.by_store == [
        StoreReturns(
            store="msk-1",
            purchases=2,
            purchases_returned=2,
            rate=1.0,
            returns=3,
            returns_with_ticket=1,
            ticket_ids=[t1.id],
            total="2200.00",
            refunded="1700.00",
        ),
        StoreReturns(
            store="spb-2",
            purchases=1,
            purchases_returned=1,
            rate=1.0,
            returns=1,
            returns_with_ticket=1,
            ticket_ids=[t2.id],
            total="2100.00",
            refunded="700.00",
        ),
        StoreReturns(
            store=None,
            purchases=1,
            purchases_returned=0,
            rate=0.0,
            returns=0,
            returns_with_ticket=0,
            ticket_ids=[],
            total="300.00",
            refunded="0.00",
        ),
    ]
    async with database.read() as session:
        later = await returns_stats(
            session, active=await get_active_program(session), date_from=at(1)
        )
    assert (later.by_product, later.by_store) == ([], [])


async def test_links_must_match(database: Database) -> None:
    active = await apply_program(database)
    one = await member(database, active, "one")
    other = await member(database, active, "other")
    async with database.write() as session:
        p1 = await purchase(
            session,
            active,
            external_id="p1",
            member_id=one.id,
            store="msk-1",
            lines=[("COF", 1, "500.00")],
        )
        p2 = await purchase(
            session,
            active,
            external_id="p2",
            member_id=one.id,
            store="msk-1",
            lines=[("COF", 1, "500.00")],
        )
        r1 = await return_lines(session, active, p1, "r1", None)
    before = await counts(database)
    cases = [
        ({"member_id": other.id, "purchase_id": p1}, "invalid_ticket_link", "purchase_id"),
        (
            {"member_id": one.id, "purchase_id": p2, "return_id": r1},
            "invalid_ticket_link",
            "return_id",
        ),
        ({"member_id": one.id, "return_id": 999}, "return_not_found", "return_id"),
        ({"member_id": one.id, "purchase_id": 999}, "purchase_not_found", "purchase_id"),
    ]
    for links, code, field in cases:
        member_id = links.pop("member_id")
        with pytest.raises(PatronError) as refused:
            async with database.write() as session:
                await open_ticket(session, member_id=member_id, now=T0, **links)
        assert (refused.value.code, refused.value.field) == (code, field)
    assert await counts(database) == before
