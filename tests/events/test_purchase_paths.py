"""The purchase events on the other ways in: group commit (a failing purchase's events go with
it, the others' are written once, also when PostgreSQL runs a group again), purchase batches
(per-purchase savepoints); the direct lane's are in ``tests/api/test_purchases_direct.py``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.kit.group_commit import WriteGroups
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.programs import service as program_service
from patron.purchases import buyer
from patron.purchases.batch import record_purchases
from patron.purchases.earn import RecordedPurchase, record_purchase
from patron.purchases.models import Purchase, PurchaseLine
from patron.purchases.schemas import PurchaseBatchCreate
from tests.events.test_purchase_events import events, last_event_id, record, tea
from tests.kit.test_group_commit import _as_one_group
from tests.purchases.bulk.factories import NOW, apply, enrol


def _unit(external_id: str, fails: bool):  # type: ignore[no-untyped-def]
    async def work(session: AsyncSession) -> RecordedPurchase:
        active = await program_service.get_active_program(session, key="main")
        done = await record_purchase(session, active=active, data=tea(external_id), now=NOW)
        if fails:
            raise InvalidInputError("refused after the purchase", field="external_id")
        return done

    return work


async def test_group_commit_keeps_the_events_of_the_purchases_it_keeps(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    before = await last_event_id(database)
    groups = WriteGroups(database)
    plan = [("g-1", False), ("g-2", True), ("g-3", False), ("g-4", True)]
    savepoint = database.is_sqlite  # as the direct lane runs them

    outcomes = await _as_one_group(
        groups,
        *[
            groups.run(_unit(name, fails), order=buyer.lock_order(tea(name)), savepoint=savepoint)
            for name, fails in plan
        ],
    )

    assert [type(o).__name__ for o in outcomes] == [
        "RecordedPurchase",
        "InvalidInputError",
        "RecordedPurchase",
        "InvalidInputError",
    ]
    written = await events(database, before)
    assert [(name, payload.get("external_id")) for name, _, _, payload in written] == [
        ("purchases.recorded", "g-1"),
        ("ledger.credited", None),
        ("purchases.recorded", "g-3"),
        ("ledger.credited", None),
    ]
    assert {member for _, _, member, _ in written} == {member_id}
    assert [payload["purchase_id"] for name, _, _, payload in written[::2]] == [
        o.purchase.id for o in outcomes if isinstance(o, RecordedPurchase)
    ]


async def test_a_batch_emits_the_events_of_the_purchases_it_records_once(
    database: Database,
) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    data = PurchaseBatchCreate(
        purchases=[tea("b-1"), tea("b-2", member="nobody"), tea("b-3", member=None)]
    )

    async def run() -> list[int]:
        async with database.write() as session:
            active = await program_service.get_active_program(session, key="main")
            result = await record_purchases(session, active=active, data=data, now=NOW)
        return [item.status for item in result.results]

    before = await last_event_id(database)
    assert await run() == [201, 404, 201]
    written = await events(database, before)
    assert [(name, member, payload.get("points")) for name, _, member, payload in written] == [
        ("purchases.recorded", member_id, 10),
        ("ledger.credited", member_id, 10),
        ("purchases.recorded", None, 0),
    ]
    assert await run() == [200, 404, 200]  # the retry records nothing and emits nothing
    assert len(await events(database, before)) == 3


async def test_a_batch_purchase_refused_after_its_writes_keeps_neither_rows_nor_events(
    database: Database,
) -> None:
    """A purchase whose earning key another credit took is refused (409) after the purchase
    was written (by the fused statement on PostgreSQL, step by step on SQLite): its savepoint
    takes back its rows and events, raw statements included; the batch's others are kept."""
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    first = await record(database, tea("t-1"))
    async with database.write() as session:  # the key the batch's second purchase earns by
        await ledger_service.credit(
            session,
            member_id=member_id,
            amount=99,
            kind=EntryKind.EARN,
            idempotency_key=f"purchase:{first.purchase.id + 2}",
            source_type="manual",
            source_id="early",
            now=NOW,
        )
    before = await last_event_id(database)
    data = PurchaseBatchCreate(purchases=[tea("t-2"), tea("t-3"), tea("t-4", member=None)])
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="main")
        result = await record_purchases(session, active=active, data=data, now=NOW)

    assert [item.status for item in result.results] == [201, 409, 201]
    written = await events(database, before)
    assert [(name, payload.get("external_id")) for name, _, _, payload in written] == [
        ("purchases.recorded", "t-2"),
        ("ledger.credited", None),
        ("purchases.recorded", "t-4"),
    ]
    async with database.read() as session:
        stored = set((await session.execute(select(Purchase.external_id))).scalars())
        lines = await session.scalar(select(func.count()).select_from(PurchaseLine))
    assert stored == {"t-1", "t-2", "t-4"}
    assert lines == 3
