"""A small store built through Patron's real services, with its KPIs worked out by hand.

Seed program (RUB, 1 point per 10 RUB of tea, 14 days pending, lots expire 12 months after
they activate; GIFT500 = 500.00 RUB for 1000 points is the only money-valued reward, so a point
is worth 50 kopecks). Window 2026-01-01 .. 2026-03-31.

- m2 enrolled 2024-12-01, buys 400.00 on 2025-01-02 (40 points, active 01-16, expire 2026-01-16:
  the expiry job runs on 2026-01-17 and dates the entry at the expiry), 1500.00 on 2026-01-20
  (150), 500.00 on 2026-03-05 (50).
- m1 enrolled 2026-01-01, buys 2000.00 on 2026-01-10 (200) and 3000.00 on 2026-02-10 (300),
  returns 1000.00 of the second on 2026-02-15 (100 points reversed), redeems DISC10 (100 points,
  a percent discount) on 2026-03-01.
- m3 enrolled 2026-02-01, never buys. A guest buys 1200.00 on 2026-01-12.
"""

from __future__ import annotations

from datetime import UTC, datetime

from patron.kit.db import Database
from patron.ledger import jobs
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate, ReturnCreate
from patron.rewards.redeem import redeem
from tests.conftest import SEED_PROGRAM


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


async def build_store(database: Database) -> dict[str, int]:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="tests", now=at(2024, 11, 1)
        )
    ids: dict[str, int] = {}
    for name, enrolled in (("m2", at(2024, 12, 1)), ("m1", at(2026, 1, 1)), ("m3", at(2026, 2, 1))):
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            member = await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=name),
                now=enrolled,
            )
            ids[name] = member.id
    purchases = [
        ("p0", "m2", at(2025, 1, 2), "400.00"),
        ("p1", "m1", at(2026, 1, 10), "2000.00"),
        ("p4", None, at(2026, 1, 12), "1200.00"),
        ("p3", "m2", at(2026, 1, 20), "1500.00"),
        ("p2", "m1", at(2026, 2, 10), "3000.00"),
        ("p5", "m2", at(2026, 3, 5), "500.00"),
    ]
    for external_id, member, when, total in purchases:
        if when == at(2026, 1, 20):
            async with database.write() as session:
                assert await jobs.expire_due(session, now=at(2026, 1, 17)) == 1
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            recorded = await record_purchase(
                session,
                active=active,
                data=PurchaseCreate(
                    external_id=external_id,
                    member_id=ids[member] if member else None,
                    occurred_at=when,
                    currency="RUB",
                    total=total,
                    lines=[
                        PurchaseLineCreate(sku="T1", category="tea", quantity=1, unit_price=total)
                    ],
                ),
                now=when,
            )
            ids[external_id] = recorded.purchase.id
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await record_return(
            session,
            active=active,
            purchase_id=ids["p2"],
            data=ReturnCreate(external_id="r1", amount="1000.00", occurred_at=at(2026, 2, 15)),
            now=at(2026, 2, 15),
        )
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await redeem(
            session, active=active, member_id=ids["m1"], reward_code="DISC10", now=at(2026, 3, 1)
        )
    return ids
