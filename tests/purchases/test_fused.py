"""On PostgreSQL a member's purchase with points is written by one statement
(:mod:`patron.purchases.fused`): it must leave exactly what the step-by-step path leaves
(the path SQLite takes, and PostgreSQL for a member in debt), and answer a taken earning key
as ``ledger_service.credit`` does. The taken-key tests run on both databases (each its own
path)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import Account, LedgerEntry, Lot
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.purchases import earn
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import (
    NOW,
    VARIANT_PROGRAM,
    apply,
    block,
    enrol,
    make_debt,
    random_purchases,
    record_one_by_one,
    snapshot,
)

MEMBERS = [f"f-{n}" for n in range(10)]
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


async def _prepare(database: Database, key: str, text: str) -> int:
    program_id = await apply(database, key, text)
    ids = await enrol(database, program_id, MEMBERS)
    await make_debt(database, ids["f-3"], 40_000)
    await block(database, ids["f-9"])
    return program_id


@pytest.mark.parametrize(
    ("seed", "text", "currency", "start", "big"),
    [
        (11, SEED_PROGRAM.read_text(), "RUB", datetime(2026, 11, 20, tzinfo=UTC), 900_000),
        (12, VARIANT_PROGRAM, "PLN", datetime(2026, 10, 20, tzinfo=UTC), 9_000),
    ],
)
async def test_the_fused_statement_writes_what_the_step_by_step_path_writes(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    text: str,
    currency: str,
    start: datetime,
    big: int,
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite always writes step by step")
    fused_calls = 0
    fused = earn.insert_purchase_with_earning

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal fused_calls
        fused_calls += 1
        return await fused(*args, **kwargs)

    monkeypatch.setattr(earn, "insert_purchase_with_earning", counted)
    fused_id = await _prepare(database, "fused", text)
    steps_id = await _prepare(database, "steps", text)
    rng = random.Random(seed)
    purchases = [
        p
        for p in random_purchases(rng, 120, MEMBERS, start=start, days=60, big=big, discounts=True)
        if p.member != "f-9"
    ]
    await record_one_by_one(database, "fused", purchases, currency)
    assert fused_calls > len(purchases) // 2
    monkeypatch.setattr(earn, "FUSE_ON_POSTGRESQL", False)
    calls_before = fused_calls
    await record_one_by_one(database, "steps", purchases, currency)
    assert fused_calls == calls_before

    async with database.read() as session:
        one, other = await snapshot(session, fused_id), await snapshot(session, steps_id)
        assert await verify(session, now=NOW) == []
    assert one["purchases"].keys() == other["purchases"].keys()
    for external_id, expected in other["purchases"].items():
        assert one["purchases"][external_id] == expected, external_id
    assert one["members"] == other["members"]
    if currency == "RUB":  # the seed program's tiers move on these purchases
        assert sum(len(m["tier_changes"]) for m in one["members"].values()) > 0


def _tea(external_id: str) -> PurchaseCreate:
    return PurchaseCreate(
        external_id=external_id,
        member_external_id="f-0",
        occurred_at=TUESDAY,
        currency="RUB",
        total="100.00",
        lines=[PurchaseLineCreate(sku="tea-1", category="tea", quantity=1, unit_price="100.00")],
    )


async def _record(database: Database, data: PurchaseCreate) -> Any:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="main")
        return await record_purchase(session, active=active, data=data, now=NOW)


async def _take_key(database: Database, member_id: int, purchase_id: int, amount: int) -> int:
    """A credit outside the purchase path under the key the purchase ``purchase_id`` earns by."""
    async with database.write() as session:
        entry = await ledger_service.credit(
            session,
            member_id=member_id,
            amount=amount,
            kind=EntryKind.EARN,
            idempotency_key=f"purchase:{purchase_id}",
            source_type="manual",
            source_id="early",
            now=NOW - timedelta(days=1),
        )
    return entry.id


async def _state(database: Database, member_id: int) -> tuple[Any, ...]:
    async with database.read() as session:
        account = (
            await session.execute(select(Account).where(Account.member_id == member_id))
        ).scalar_one()
        counts = [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Purchase, LedgerEntry, Lot)
        ]
        return account.available, account.pending, account.lifetime_earned, *counts


async def test_a_taken_earning_key_of_the_same_credit_links_the_purchase_to_it(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["f-0"]))["f-0"]
    first = await _record(database, _tea("t-1"))
    points = first.purchase.points_earned
    assert points > 0
    entry_id = await _take_key(database, member_id, first.purchase.id + 1, points)
    before = await _state(database, member_id)

    second = await _record(database, _tea("t-2"))

    assert second.created
    assert second.purchase.id == first.purchase.id + 1
    assert second.purchase.points_earned == points
    async with database.read() as session:
        stored = await session.get(Purchase, second.purchase.id)
        assert stored is not None
        assert stored.earn_entry_id == entry_id
        assert await verify(session, now=NOW) == []
    available, pending, lifetime, purchases, entries, lots = before
    assert await _state(database, member_id) == (
        available,
        pending,
        lifetime,
        purchases + 1,
        entries,
        lots,
    )


async def test_a_taken_earning_key_of_another_credit_is_a_conflict_and_writes_nothing(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["f-0"]))["f-0"]
    first = await _record(database, _tea("t-1"))
    await _take_key(database, member_id, first.purchase.id + 1, first.purchase.points_earned + 1)
    before = await _state(database, member_id)

    with pytest.raises(IdempotencyConflictError):
        await _record(database, _tea("t-2"))

    assert await _state(database, member_id) == before
