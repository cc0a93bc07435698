"""The members import announces the points it writes, like every other write path: an
opening balance emits ``ledger.credited`` (kind ``opening``, source ``opening``) after the
member's ``members.enrolled``, in the batch's unit of work; a later import's correction emits
``ledger.credited`` or ``ledger.debited`` (kind ``adjust``); a file run again adds none, a
refused file leaves none; the tier handler leaves opening credits to the import and the
review. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from patron.kit.db import Database
from patron.kit.outbox import EventEnvelope
from patron.ledger.models import LedgerEntry
from patron.members.models import Member
from patron.onboarding.service import MemberImportReport, import_members, read_members
from patron.tiers.handlers import judged_elsewhere
from tests.events.test_purchase_events import events, last_event_id
from tests.onboarding.factories import NOW, customers, write_csv
from tests.purchases.bulk.factories import apply

LEDGER = ("ledger.credited", "ledger.debited")


async def _file(database: Database, path: Path, **options: Any) -> MemberImportReport:
    frame = read_members(path, attributes=["city"])
    return await import_members(
        database, frame, attributes=["city"], phone_region="PL", now=NOW, **options
    )


async def _rows(database: Database, rows: list[dict[str, str]], days: int) -> None:
    frame = pl.DataFrame(
        [{"row": n, **row} for n, row in enumerate(rows, start=1)],
        schema={"row": pl.Int64, **{name: pl.String for name in rows[0]}},
    )
    report = await import_members(database, frame, now=NOW + timedelta(days=days))
    assert report.errors == []


async def _ledger_events(database: Database, after: int) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, program_id, member_id, payload in await events(database, after):
        if name in LEDGER:
            assert program_id is not None
            assert member_id == payload["member_id"]
            found.append((name, payload))
    return found


async def test_opening_balances_emit_credited_once_per_entry(
    database: Database, tmp_path: Path
) -> None:
    program_id = await apply(database, "default")
    path = write_csv(tmp_path / "customers.csv", customers())
    before = await last_event_id(database)
    refused = await _file(database, path)  # three bad rows and no skip_bad: nothing loads
    assert refused.new == 0
    assert await events(database, before) == []

    report = await _file(database, path, skip_bad=True, batch_size=300)
    assert report.new == 997
    emitted = await events(database, before)
    async with database.read() as session:
        openings = (
            await session.execute(
                select(LedgerEntry.id, LedgerEntry.member_id, LedgerEntry.amount)
                .where(LedgerEntry.kind == "opening")
                .order_by(LedgerEntry.id)
            )
        ).all()
    credited = [(member_id, payload) for name, _, member_id, payload in emitted if name in LEDGER]
    assert sorted(credited, key=lambda item: item[1]["entry_id"]) == [
        (
            member_id,
            {
                "member_id": member_id,
                "entry_id": entry_id,
                "kind": "opening",
                "points": amount,
                "source": "opening",
            },
        )
        for entry_id, member_id, amount in openings
    ]
    assert sum(payload["points"] for _, payload in credited) == report.opening_points
    assert {program for _, program, _, _ in emitted} == {program_id}
    # each credit follows its member's enrolment
    seen: set[int] = set()
    for name, _, member_id, _ in emitted:
        if name == "members.enrolled":
            assert member_id is not None
            seen.add(member_id)
        elif name == "ledger.credited":
            assert member_id in seen
    kinds = Counter(name for name, _, _, _ in emitted)
    assert (kinds["members.enrolled"], kinds["ledger.credited"]) == (997, len(openings))
    assert len(openings) == 747  # the rows with a balance (three in four), less the 3 bad ones

    again = await last_event_id(database)
    await _file(database, path, skip_bad=True)  # the same file again: nothing new
    assert await events(database, again) == []


async def test_a_later_import_announces_its_corrections(database: Database) -> None:
    await apply(database, "default")
    before = await last_event_id(database)
    await _rows(database, [{"external_id": "c-1", "opening_points": "100"}], days=0)
    await _rows(database, [{"external_id": "c-1", "opening_points": "70"}], days=1)
    await _rows(database, [{"external_id": "c-1", "opening_points": "120"}], days=2)
    await _rows(database, [{"external_id": "c-1", "opening_points": "120"}], days=3)
    await _rows(database, [{"external_id": "c-2"}], days=3)  # no balance: no credit
    await _rows(database, [{"external_id": "c-2", "opening_points": "5"}], days=4)
    async with database.read() as session:
        members = dict((await session.execute(select(Member.external_id, Member.id))).all())
        entries = (
            await session.execute(
                select(LedgerEntry.member_id, LedgerEntry.id).order_by(LedgerEntry.id)
            )
        ).all()
    one, two = members["c-1"], members["c-2"]
    ids = [entry_id for _, entry_id in entries]
    assert [member for member, _ in entries] == [one, one, one, two]

    def event(name: str, member: int, entry: int, kind: str, points: int) -> Any:
        data = {"member_id": member, "entry_id": entry, "kind": kind, "points": points}
        return (name, {**data, "source": "opening"})

    assert await _ledger_events(database, before) == [
        event("ledger.credited", one, ids[0], "opening", 100),
        event("ledger.debited", one, ids[1], "adjust", 30),
        event("ledger.credited", one, ids[2], "adjust", 50),
        event("ledger.credited", two, ids[3], "opening", 5),
    ]


def test_the_tier_handler_leaves_opening_credits_to_the_import() -> None:
    def credited(source: str) -> EventEnvelope:
        data = {"member_id": 1, "entry_id": 2, "kind": "opening", "points": 5, "source": source}
        return EventEnvelope(1, "ledger.credited", 1, 1, 1, NOW, data)

    assert not judged_elsewhere(credited("opening"))
    assert not judged_elsewhere(credited("purchase"))
    assert judged_elsewhere(credited("ticket"))
