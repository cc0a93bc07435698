"""A member's purchase history for the console: newest first, with lines and breakdown, only
that member's, bounded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.programs.service import get_active_program
from patron.purchases.earn import record_purchase
from patron.purchases.history import member_purchases
from patron.purchases.schemas import PurchaseCreate
from tests.members.conftest import NOW, make_program


def _purchase(n: int, member: str, price: str) -> PurchaseCreate:
    return PurchaseCreate.model_validate(
        {
            "external_id": f"p-{member}-{n}",
            "member_external_id": member,
            "occurred_at": (NOW - timedelta(days=10 - n)).isoformat(),
            "currency": "RUB",
            "total": price,
            "lines": [{"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": price}],
        }
    )


async def test_newest_first_with_lines_and_breakdown(database: Database) -> None:
    program_id = await make_program(database, "default")
    async with database.write() as session:
        anna = await enrol_member(
            session, program_id=program_id, data=MemberCreate(external_id="anna"), now=NOW
        )
        await enrol_member(
            session, program_id=program_id, data=MemberCreate(external_id="ivan"), now=NOW
        )
        active = await get_active_program(session)
        for n, (member, price) in enumerate(
            [("anna", "100.00"), ("ivan", "50.00"), ("anna", "300.00"), ("anna", "200.00")]
        ):
            await record_purchase(session, active=active, data=_purchase(n, member, price), now=NOW)
    async with database.read() as session:
        history = await member_purchases(session, member_id=anna.id, limit=2)
        everything = await member_purchases(session, member_id=anna.id)
        with pytest.raises(InvalidInputError):
            await member_purchases(session, member_id=anna.id, limit=0)
    assert [purchase.external_id for purchase in history] == ["p-anna-3", "p-anna-2"]
    assert [purchase.total for purchase in everything] == ["200.00", "300.00", "100.00"]
    newest = everything[0]
    assert [line.sku for line in newest.lines] == ["cof-1"]
    assert sum(row.points for row in newest.breakdown) == newest.points_earned > 0
