"""Opening balances and carried-over tiers the ledger can prove: a later import corrects a
balance with an adjustment (history kept), an imported tier holds until ``tier_until`` and
then meets the downgrade policy, and the program decides whether opening points qualify."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import select

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.models import LedgerEntry
from patron.members.models import Member
from patron.onboarding.service import MemberImportReport, import_members
from patron.programs import service as program_service
from patron.tiers import service as tier_service
from patron.tiers.models import TierChange
from tests.conftest import SEED_PROGRAM
from tests.onboarding.factories import NOW
from tests.purchases.bulk.factories import apply


async def _import(
    database: Database, rows: list[dict[str, Any]], *, days: int = 0
) -> MemberImportReport:
    frame = pl.DataFrame(
        [{"row": n, **row} for n, row in enumerate(rows, start=1)],
        schema={"row": pl.Int64, **{name: pl.String for name in rows[0]}},
    )
    return await import_members(database, frame, now=NOW + timedelta(days=days))


async def _entries(database: Database) -> list[tuple[str, int, str]]:
    async with database.read() as session:
        found = (await session.execute(select(LedgerEntry).order_by(LedgerEntry.id))).scalars()
        return [(e.kind.value, e.amount, e.idempotency_key) for e in found]


async def _member(database: Database) -> Member:
    async with database.read() as session:
        member = (await session.execute(select(Member))).scalar_one()
        session.expunge(member)
        return member


async def test_a_later_import_corrects_the_opening_balance_with_adjustments(
    database: Database,
) -> None:
    await apply(database, "default")
    assert (await _import(database, [{"external_id": "c-1", "opening_points": "100"}])).new == 1
    member_id = (await _member(database)).id
    report = await _import(database, [{"external_id": "c-1", "opening_points": "70"}], days=1)
    assert (report.new, report.updated) == (0, 1)
    await _import(database, [{"external_id": "c-1", "opening_points": "120"}], days=2)
    await _import(database, [{"external_id": "c-1", "opening_points": "120"}], days=3)
    assert await _entries(database) == [
        ("opening", 100, f"opening:{member_id}:0"),
        ("adjust", -30, f"opening:{member_id}:1"),
        ("adjust", 50, f"opening:{member_id}:2"),
    ]
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=member_id, now=NOW)
        assert (balance.available, balance.lifetime_earned) == (120, 50)
        assert await ledger_service.verify(session, now=NOW + timedelta(days=4)) == []


async def _review(database: Database, days: int) -> None:
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await tier_service.review_tiers(
            session,
            program_id=active.program_id,
            program=active.program,
            now=NOW + timedelta(days=days),
        )


async def test_an_imported_tier_holds_until_tier_until_then_the_review_downgrades(
    database: Database,
) -> None:
    await apply(database, "default")
    rows = [{"external_id": "c-1", "tier": "gold", "tier_until": "2027-03-31"}]
    await _import(database, rows)
    member = await _member(database)
    assert (member.tier_id, member.tier_until.isoformat()) == ("gold", "2027-04-01T00:00:00+00:00")  # type: ignore[union-attr]
    await _review(database, 30)  # 2027-02-19: before tier_until
    assert (await _member(database)).tier_id == "gold"
    await _review(database, 80)  # 2027-04-10: after it; at_review moves one level down
    assert (await _member(database)).tier_id == "silver"
    async with database.read() as session:
        changes = (await session.execute(select(TierChange).order_by(TierChange.id))).scalars()
        assert [(c.from_tier, c.to_tier, c.reason[:9]) for c in changes] == [
            (None, "gold", "imported"),
            ("gold", "silver", "downgrade"),
        ]


async def test_without_tier_until_the_next_review_applies_the_policy(database: Database) -> None:
    await apply(database, "default")
    await _import(database, [{"external_id": "c-1", "tier": "silver"}])
    await _review(database, 1)
    assert (await _member(database)).tier_id == "bronze"


async def test_opening_points_qualify_only_when_the_program_says_so(database: Database) -> None:
    text = SEED_PROGRAM.read_text().replace(
        "  downgrade: at_review", "  downgrade: at_review\n  opening_points_qualify: true", 1
    )
    await apply(database, "default", text)
    rows = [{"external_id": "c-1", "opening_points": "6000"}]
    await _import(database, rows)
    await _review(database, 1)
    assert (await _member(database)).tier_id == "silver"  # 6000 >= silver's 5000


async def test_opening_points_do_not_qualify_by_default(database: Database) -> None:
    await apply(database, "default")
    await _import(database, [{"external_id": "c-1", "opening_points": "6000"}])
    await _review(database, 1)
    assert (await _member(database)).tier_id is None
