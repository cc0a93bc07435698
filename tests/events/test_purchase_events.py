"""A purchase emits ``purchases.recorded`` and, when it earned points, ``ledger.credited`` in its
own unit of work, on every path that writes one: step by step (SQLite; PostgreSQL for a member
in debt or with the fused statement off) and the fused PostgreSQL statement. A rollback leaves
neither row nor event, a retry emits nothing, and the tier handler never moves a member again
on a purchase's credit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.members.models import Member
from patron.programs import service as program_service
from patron.purchases import earn
from patron.purchases.earn import RecordedPurchase, record_purchase
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from patron.tiers.handlers import HANDLERS as TIER_HANDLERS
from patron.tiers.models import TierChange
from tests.purchases.bulk.factories import NOW, apply, enrol, make_debt

TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
Event = tuple[str, int | None, int | None, dict[str, Any]]


async def events(database: Database, after: int = 0) -> list[Event]:
    """(type, program_id, member_id, payload) of the outbox's events after id ``after``."""
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.id > after).order_by(OutboxEvent.id)
        )
        return [(row.type, row.program_id, row.member_id, dict(row.payload)) for row in rows]


async def last_event_id(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


def tea(external_id: str, member: str | None = "e-0", price: str = "100.00") -> PurchaseCreate:
    return PurchaseCreate(
        external_id=external_id,
        member_external_id=member,
        occurred_at=TUESDAY,
        currency="RUB",
        total=price,
        lines=[PurchaseLineCreate(sku="tea-1", category="tea", quantity=1, unit_price=price)],
    )


async def record(database: Database, data: PurchaseCreate) -> RecordedPurchase:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="main")
        return await record_purchase(session, active=active, data=data, now=NOW)


def recorded_payload(purchase_id: int, member_id: int | None, external_id: str, points: int):  # type: ignore[no-untyped-def]
    return {
        "member_id": member_id,
        "purchase_id": purchase_id,
        "external_id": external_id,
        "total": 10000,
        "currency": "RUB",
        "points": points,
        "occurred_at": "2026-12-08T10:00:00Z",
    }


async def _entry_id(database: Database, purchase_id: int) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(Purchase.earn_entry_id).where(Purchase.id == purchase_id)
        )
    assert found is not None
    return int(found)


@pytest.fixture(params=["fused", "steps"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing a member's purchase (on SQLite both are step by step)."""
    monkeypatch.setattr(earn, "FUSE_ON_POSTGRESQL", request.param == "fused")
    return str(request.param)


async def test_a_member_purchase_emits_recorded_then_credited(
    database: Database, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fused_calls = 0
    original = earn.insert_purchase_with_earning

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal fused_calls
        fused_calls += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(earn, "insert_purchase_with_earning", counted)
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    before = await last_event_id(database)

    done = await record(database, tea("t-1"))

    assert fused_calls == (1 if path == "fused" and not database.is_sqlite else 0)
    purchase_id = done.purchase.id
    assert done.purchase.points_earned == 10
    entry_id = await _entry_id(database, purchase_id)
    assert await events(database, before) == [
        (
            "purchases.recorded",
            program_id,
            member_id,
            recorded_payload(purchase_id, member_id, "t-1", 10),
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
    retried = await record(database, tea("t-1"))  # a retry answers and emits nothing
    assert not retried.created
    assert len(await events(database, before)) == 2


async def test_a_purchase_without_a_member_emits_recorded_only(database: Database) -> None:
    program_id = await apply(database, "main")
    before = await last_event_id(database)
    done = await record(database, tea("a-1", member=None))
    assert await events(database, before) == [
        ("purchases.recorded", program_id, None, recorded_payload(done.purchase.id, None, "a-1", 0))
    ]


async def test_a_member_in_debt_takes_the_step_by_step_path_with_the_same_events(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    await make_debt(database, member_id, 4)
    before = await last_event_id(database)
    done = await record(database, tea("d-1"))
    entry_id = await _entry_id(database, done.purchase.id)
    assert [(name, payload) for name, _, _, payload in await events(database, before)] == [
        ("purchases.recorded", recorded_payload(done.purchase.id, member_id, "d-1", 10)),
        (
            "ledger.credited",
            {
                "member_id": member_id,
                "entry_id": entry_id,
                "kind": "earn",
                "points": 10,
                "source": "purchase",
            },
        ),
    ]


async def test_a_rolled_back_purchase_leaves_neither_rows_nor_events(
    database: Database, path: str
) -> None:
    program_id = await apply(database, "main")
    await enrol(database, program_id, ["e-0"])
    before = await last_event_id(database)

    async def fail() -> None:
        async with database.write() as session:
            active = await program_service.get_active_program(session, key="main")
            await record_purchase(session, active=active, data=tea("r-1"), now=NOW)
            raise RuntimeError("the unit of work fails after the purchase")

    with pytest.raises(RuntimeError):
        await fail()

    assert await events(database, before) == []
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Purchase)) == 0
    done = await record(database, tea("r-1"))  # the retry is the first write: its events
    assert done.created
    assert [name for name, *_ in await events(database, before)] == [
        "purchases.recorded",
        "ledger.credited",
    ]


async def test_the_tier_handler_leaves_a_purchase_credit_alone(
    database: Database, path: str
) -> None:
    """The purchase moves the member up itself (one ``tiers.changed``); the handler, run on the
    purchase's ``ledger.credited`` after the member was moved down again, moves nobody."""
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    before = await last_event_id(database)

    done = await record(database, tea("b-1", price="10000.00"))  # 1,000 + 500 bonus

    assert done.purchase.points_earned == 1500
    emitted = await events(database, before)
    assert [name for name, *_ in emitted] == [
        "purchases.recorded",
        "ledger.credited",
        "tiers.changed",
    ]
    assert emitted[2][3]["to_tier"] == "bronze"
    async with database.write() as session:  # moved down since (as a review or an operator)
        await session.execute(update(Member).where(Member.id == member_id).values(tier_id=None))
    report = await dispatch_pending(database, TIER_HANDLERS, now=NOW + timedelta(minutes=1))
    # not even run: the handler's ``applies`` refuses a purchase's credit from its payload
    assert (report.handled, report.failed) == (0, 0)
    async with database.read() as session:
        assert await session.scalar(select(Member.tier_id).where(Member.id == member_id)) is None
        assert await session.scalar(select(func.count()).select_from(TierChange)) == 1
    assert len(await events(database, before)) == 3
