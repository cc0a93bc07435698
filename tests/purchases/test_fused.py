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
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError
from patron.kit.outbox import OutboxEvent
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import Account, LedgerEntry, Lot
from patron.ledger.verify import verify
from patron.members.models import Member
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
    async with database.read() as session:
        fused_events = await _purchase_events(session, fused_id)
        steps_events = await _purchase_events(session, steps_id)
    assert fused_events == steps_events
    earning = sum(1 for p in one["purchases"].values() if p["entry"] is not None)
    assert len(fused_events) == len(purchases) + earning
    if currency == "RUB":  # the seed program's tiers move on these purchases
        assert sum(len(m["tier_changes"]) for m in one["members"].values()) > 0


async def _purchase_events(session: AsyncSession, program_id: int) -> list[tuple[Any, ...]]:
    """The program's purchase events in order, ids replaced by external ids."""
    members = {
        row[0]: row[1] for row in await session.execute(select(Member.id, Member.external_id))
    }
    query_entries = select(Purchase.earn_entry_id, Purchase.external_id).where(
        Purchase.program_id == program_id
    )
    by_entry = {row[0]: row[1] for row in await session.execute(query_entries)}
    query = (
        select(OutboxEvent)
        .where(
            OutboxEvent.program_id == program_id,
            OutboxEvent.type.in_(["purchases.recorded", "ledger.credited"]),
        )
        .order_by(OutboxEvent.id)
    )
    found = []
    for event in (await session.execute(query)).scalars():
        data = dict(event.payload)
        assert data["member_id"] == event.member_id
        data["member_id"] = members.get(data["member_id"])
        if event.type == "ledger.credited":
            data["entry_id"] = by_entry[data["entry_id"]]
        else:
            data.pop("purchase_id")
        found.append((event.type, data))
    return found


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
    events_before = await _event_count(database)

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
    async with database.read() as session:  # the purchase's event, no second credit's
        new = [
            (e.type, e.payload["purchase_id"])
            for e in await session.scalars(
                select(OutboxEvent).where(OutboxEvent.id > events_before)
            )
        ]
    assert new == [("purchases.recorded", second.purchase.id)]


async def test_a_taken_earning_key_of_another_credit_is_a_conflict_and_writes_nothing(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["f-0"]))["f-0"]
    first = await _record(database, _tea("t-1"))
    await _take_key(database, member_id, first.purchase.id + 1, first.purchase.points_earned + 1)
    before = await _state(database, member_id)
    events_before = await _event_count(database)

    with pytest.raises(IdempotencyConflictError):
        await _record(database, _tea("t-2"))

    assert await _state(database, member_id) == before
    assert await _event_count(database) == events_before


async def _event_count(database: Database) -> int:
    """The outbox's last event id (0: none)."""
    async with database.read() as session:
        return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


async def test_the_fused_statement_writes_the_events_and_a_rollback_drops_them(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events are parts of the statement: a unit of work that fails after it keeps
    neither the purchase nor its events, the retry writes them once, a second retry none."""
    if database.is_sqlite:
        pytest.skip("SQLite always writes step by step (tests/events/test_purchase_events.py)")
    calls = 0
    fused = earn.insert_purchase_with_earning

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await fused(*args, **kwargs)

    monkeypatch.setattr(earn, "insert_purchase_with_earning", counted)
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["f-0"]))["f-0"]
    before = await _event_count(database)

    async def fail() -> None:
        async with database.write() as session:
            active = await program_service.get_active_program(session, key="main")
            await record_purchase(session, active=active, data=_tea("t-1"), now=NOW)
            raise RuntimeError("the unit of work fails after the statement")

    with pytest.raises(RuntimeError):
        await fail()
    assert calls == 1
    assert await _event_count(database) == before
    assert (await _state(database, member_id))[3:] == (0, 0, 0)

    done = await _record(database, _tea("t-1"))
    again = await _record(database, _tea("t-1"))

    assert calls == 3  # the retry of the retry runs the statement too, which writes nothing
    assert (done.created, again.created) == (True, False)
    async with database.read() as session:
        new = [
            (e.type, e.program_id, e.member_id, e.payload, e.occurred_at)
            for e in await session.scalars(select(OutboxEvent).where(OutboxEvent.id > before))
        ]
        entry_id = await session.scalar(
            select(Purchase.earn_entry_id).where(Purchase.id == done.purchase.id)
        )
    assert new[0][4] == new[1][4]
    assert [event[:4] for event in new] == [
        (
            "purchases.recorded",
            program_id,
            member_id,
            {
                "member_id": member_id,
                "purchase_id": done.purchase.id,
                "external_id": "t-1",
                "total": 10000,
                "currency": "RUB",
                "points": 10,
                "occurred_at": "2026-12-08T10:00:00Z",
            },
        ),
        (
            "ledger.credited",
            program_id,
            member_id,
            {
                "member_id": member_id,
                "entry_id": entry_id,
                "kind": "earn",
                "points": 10,
                "source": "purchase",
            },
        ),
    ]
