"""The bulk import emits the events ``record_purchase`` emits for the same purchases (the
vectorised batches build them column-wise: ``patron.purchases.bulk.events``), in the batch's
unit of work: a refused batch leaves none, a file run again adds none, a batch run again after
a race writes them once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.ledger.models import Account
from patron.members.models import Member
from patron.purchases.bulk.service import import_purchases
from patron.purchases.events import PurchaseRecorded
from patron.purchases.models import Purchase
from tests.conftest import SEED_PROGRAM
from tests.events.test_purchase_events import events, last_event_id
from tests.purchases.bulk.factories import (
    NOW,
    apply,
    enrol,
    make_debt,
    random_purchases,
    record_one_by_one,
    write_csv,
)
from tests.purchases.bulk.test_import import _csv, row

MEMBERS = [f"c-{n}" for n in range(8)]
PURCHASE_EVENTS = ("purchases.recorded", "ledger.credited", "tiers.changed")


async def _program_events(session: AsyncSession, program_id: int) -> Counter[tuple[Any, ...]]:
    """The program's purchase and tier events, ids replaced by external ids."""
    members = {r[0]: r[1] for r in await session.execute(select(Member.id, Member.external_id))}
    query = select(Purchase.earn_entry_id, Purchase.external_id).where(
        Purchase.program_id == program_id
    )
    by_entry = {r[0]: r[1] for r in await session.execute(query)}
    found: Counter[tuple[Any, ...]] = Counter()
    for name, program, member_id, payload in await events_of(session):
        if program != program_id or name not in PURCHASE_EVENTS:
            continue
        data = dict(payload)
        assert data["member_id"] == member_id
        data["member_id"] = members.get(member_id)
        if name == "ledger.credited":
            data["entry_id"] = by_entry[data["entry_id"]]
        if name == "purchases.recorded":
            data.pop("purchase_id")
        found[(name, tuple(sorted(data.items())))] += 1
    return found


async def events_of(session: AsyncSession) -> list[tuple[str, int | None, int | None, Any]]:
    from patron.kit.outbox import OutboxEvent

    rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
    return [(r.type, r.program_id, r.member_id, r.payload) for r in rows]


async def test_the_import_emits_what_recording_one_by_one_emits(
    database: Database, tmp_path: Path
) -> None:
    rng = random.Random(7)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    text = SEED_PROGRAM.read_text()
    bulk_id = await apply(database, "bulk", text)
    reference_id = await apply(database, "reference", text)
    bulk_members = await enrol(database, bulk_id, MEMBERS)
    reference_members = await enrol(database, reference_id, MEMBERS)
    await make_debt(database, bulk_members["c-3"], 1_000)  # its purchases are replayed
    await make_debt(database, reference_members["c-3"], 1_000)
    purchases = [
        p
        for p in random_purchases(rng, 150, MEMBERS, start=start, days=40, big=900_000)
        if p.occurred_at <= NOW
    ]
    path = write_csv(tmp_path / "purchases.csv", purchases, "RUB")

    report = await import_purchases(
        database, path=path, program_key="bulk", batch_size=120, now=NOW
    )
    await record_one_by_one(database, "reference", purchases, "RUB")

    assert report.is_clean
    assert report.purchases_loaded == len(purchases)
    assert 0 < report.purchases_replayed < len(purchases)
    async with database.read() as session:
        bulk = await _program_events(session, bulk_id)
        reference = await _program_events(session, reference_id)
    assert bulk == reference
    assert any(".250000Z" in str(key) for key in bulk)  # times with a fraction (the file's)
    kinds = Counter(name for name, _ in bulk.elements())
    assert kinds["purchases.recorded"] == len(purchases)
    assert kinds["ledger.credited"] > len(purchases) // 2
    assert kinds["tiers.changed"] > 0
    before = await last_event_id(database)
    again = await import_purchases(database, path=path, program_key="bulk", now=NOW)
    assert again.purchases_skipped_existing == len(purchases)
    assert await events(database, before) == []


async def test_a_payload_is_the_event_class_json(database: Database, tmp_path: Path) -> None:
    program_id = await apply(database, "default")
    member_id = (await enrol(database, program_id, ["c-1"]))["c-1"]
    rows = [row("o-1", at="2026-12-08T10:00:00.5Z"), row("o-2", member="")]
    before = await last_event_id(database)
    report = await import_purchases(database, path=_csv(tmp_path / "p.csv", rows), now=NOW)
    assert report.purchases_replayed == 0
    found = await events(database, before)
    async with database.read() as session:
        ids = {r[0]: r[1] for r in await session.execute(select(Purchase.external_id, Purchase.id))}
        entry = await session.scalar(
            select(Purchase.earn_entry_id).where(Purchase.id == ids["o-1"])
        )
    expected = PurchaseRecorded(
        member_id=member_id,
        purchase_id=ids["o-1"],
        external_id="o-1",
        total=120000,
        currency="RUB",
        points=120,
        occurred_at=datetime(2026, 12, 8, 10, 0, 0, 500_000, tzinfo=UTC),
    ).model_dump(mode="json")
    assert expected["occurred_at"] == "2026-12-08T10:00:00.500000Z"
    assert found == [  # in the import's order: time
        (
            "purchases.recorded",
            program_id,
            None,
            {
                **expected,
                "member_id": None,
                "purchase_id": ids["o-2"],
                "external_id": "o-2",
                "points": 0,
                "occurred_at": "2026-12-08T10:00:00Z",
            },
        ),
        ("purchases.recorded", program_id, member_id, expected),
        (
            "ledger.credited",
            program_id,
            member_id,
            {
                "member_id": member_id,
                "entry_id": entry,
                "kind": "earn",
                "points": 120,
                "source": "purchase",
            },
        ),
    ]


async def test_a_refused_batch_leaves_no_event(database: Database, tmp_path: Path) -> None:
    """The per-event path refuses a purchase of a member without an account: the batch's
    vectorised rows and their events are rolled back with it."""
    program_id = await apply(database, "default")
    members = await enrol(database, program_id, ["c-1", "c-2"])
    async with database.write() as session:
        await session.execute(delete(Account).where(Account.member_id == members["c-2"]))
    rows = [row("fast"), row("no-account", member="c-2"), row("guest", member="")]
    before = await last_event_id(database)
    refused = await import_purchases(database, path=_csv(tmp_path / "p.csv", rows), now=NOW)
    assert refused.batches_refused == 1
    assert await events(database, before) == []
    loaded = await import_purchases(
        database, path=_csv(tmp_path / "p.csv", rows), now=NOW, skip_bad=True
    )
    assert loaded.purchases_loaded == 2
    assert [
        (name, payload.get("external_id")) for name, _, _, payload in await events(database, before)
    ] == [
        ("purchases.recorded", "fast"),
        ("ledger.credited", None),
        ("purchases.recorded", "guest"),
    ]
