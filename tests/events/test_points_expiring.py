"""``points.expiring``: the daily job announces, per program, the points of each member that
expire on each local date from today to ``earning.expiry.notice_days`` later, once per member
and date (``points_expiry_notices``), with the event in the same unit of work; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import ExpiryNotice
from patron.privacy import service as privacy_service
from patron.programs.document import document_of
from patron.programs.loader import load_program
from patron.worker.daily import run_daily_jobs
from tests.conftest import SEED_PROGRAM
from tests.events.test_purchase_events import events, last_event_id
from tests.purchases.bulk.factories import NOW, apply, enrol

# NOW is 2027-01-20 09:30 UTC: 12:30 in Moscow (the seed program's zone), so "today" there is
# 20 January and the 14-day window ends with 3 February (21:00 UTC on the 3rd is the 4th).
EARLIER = NOW - timedelta(days=10)
OTHER_PROGRAM = (
    SEED_PROGRAM.read_text()
    .replace("timezone: Europe/Moscow", "timezone: UTC")
    .replace("    after_months: 12", "    after_months: 12\n    notice_days: 3")
)
_keys = iter(range(1, 1_000_000))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def credit(
    database: Database,
    member_id: int,
    points: int,
    expires_at: datetime,
    *,
    pending_until: datetime | None = None,
) -> None:
    async with database.write() as session:
        await ledger_service.credit(
            session,
            member_id=member_id,
            amount=points,
            kind=EntryKind.EARN,
            idempotency_key=f"test:earn:{next(_keys)}",
            source_type="purchase",
            source_id="P",
            now=EARLIER,
            pending_until=pending_until,
            expires_at=expires_at,
        )


async def spend(database: Database, member_id: int, points: int, now: datetime) -> None:
    async with database.write() as session:
        await ledger_service.debit(
            session,
            member_id=member_id,
            amount=points,
            kind=EntryKind.REDEEM,
            idempotency_key=f"test:spend:{next(_keys)}",
            source_type="reward",
            source_id="R",
            now=now,
        )


async def expiring(database: Database, after: int) -> list[tuple[int | None, dict[str, Any]]]:
    """(program_id, payload) of the ``points.expiring`` events after event id ``after``."""
    found = await events(database, after)
    for _, _, member_id, payload in found:
        assert member_id == payload["member_id"]
    return [
        (program_id, payload) for name, program_id, _, payload in found if name == "points.expiring"
    ]


def payload(
    member_id: int, external_id: str, points: int, expires_at: str, expires_on: str, days: int
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "points": points,
        "expires_at": expires_at,
        "days": days,
        "external_id": external_id,
        "expires_on": expires_on,
    }


async def notices(database: Database) -> list[tuple[int, date, int]]:
    async with database.read() as session:
        rows = await session.execute(
            select(ExpiryNotice.member_id, ExpiryNotice.expires_on, ExpiryNotice.points).order_by(
                ExpiryNotice.member_id, ExpiryNotice.expires_on
            )
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def test_the_daily_job_announces_each_member_and_date_once(database: Database) -> None:
    main = await apply(database, "main")
    other = await apply(database, "other", OTHER_PROGRAM)
    ids = await enrol(database, main, ["anna", "boris", "clara"])
    anna, boris, clara = ids["anna"], ids["boris"], ids["clara"]
    dora = (await enrol(database, other, ["dora"]))["dora"]

    await credit(database, anna, 100, at("2027-01-25T10:00"))  # 13:00 on the 25th in Moscow
    await credit(database, anna, 50, at("2027-01-25T20:59"))  # 23:59 on the 25th
    await credit(database, anna, 70, at("2027-01-25T21:00"))  # 00:00 on the 26th
    await credit(database, anna, 30, at("2027-02-03T20:59:59"))  # the window's last second
    await credit(database, anna, 40, at("2027-02-03T21:00"))  # 4 February: after the window
    await credit(database, anna, 500, at("2028-01-01T00:00"))
    await spend(database, anna, 40, NOW - timedelta(hours=1))  # the soonest lot keeps 60
    await credit(database, boris, 60, at("2027-01-30T10:00"))
    await spend(database, boris, 60, EARLIER)  # spent in full
    await credit(database, boris, 25, NOW - timedelta(hours=1))  # due: expired by the job
    await credit(database, boris, 80, at("2027-01-28T10:00"), pending_until=NOW + timedelta(days=2))
    await credit(database, clara, 10, at("2027-01-22T10:00"))
    async with database.write() as session:
        await privacy_service.erase_member(session, member_id=clara, now=NOW)
    await credit(database, dora, 5, NOW + timedelta(days=2))  # UTC, 3 days' notice
    await credit(database, dora, 9, NOW + timedelta(days=5))

    before = await last_event_id(database)
    report = await run_daily_jobs(database, now=NOW)
    assert report.failures == []
    assert report.points_expiring == {"main": 3, "other": 1}
    assert await expiring(database, before) == [
        (main, payload(anna, "anna", 110, "2027-01-25T10:00:00Z", "2027-01-25", 5)),
        (main, payload(anna, "anna", 70, "2027-01-25T21:00:00Z", "2027-01-26", 6)),
        (main, payload(anna, "anna", 30, "2027-02-03T20:59:59Z", "2027-02-03", 14)),
        (other, payload(dora, "dora", 5, "2027-01-22T09:30:00Z", "2027-01-22", 2)),
    ]
    assert await notices(database) == [
        (anna, date(2027, 1, 25), 110),
        (anna, date(2027, 1, 26), 70),
        (anna, date(2027, 2, 3), 30),
        (dora, date(2027, 1, 22), 5),
    ]

    # the same day again: nothing new
    before = await last_event_id(database)
    again = await run_daily_jobs(database, now=NOW + timedelta(hours=3))
    assert again.points_expiring == {"main": 0, "other": 0}
    assert await expiring(database, before) == []

    # points that start expiring on an announced date are not announced a second time;
    # the next day, 4 February enters the window
    await credit(database, anna, 20, at("2027-01-25T15:00"))
    next_day = await run_daily_jobs(database, now=NOW + timedelta(days=1))
    assert next_day.points_expiring == {"main": 1, "other": 0}
    assert await expiring(database, before) == [
        (main, payload(anna, "anna", 40, "2027-02-03T21:00:00Z", "2027-02-04", 14)),
    ]
    # two days later Boris's pending lot has become active, and Dora's second lot is 3 days
    # away
    before = await last_event_id(database)
    later = await run_daily_jobs(database, now=NOW + timedelta(days=2))
    assert later.points_expiring == {"main": 1, "other": 1}
    assert await expiring(database, before) == [
        (main, payload(boris, "boris", 80, "2027-01-28T10:00:00Z", "2027-01-28", 6)),
        (other, payload(dora, "dora", 9, "2027-01-25T09:30:00Z", "2027-01-25", 3)),
    ]
    assert len(await notices(database)) == 7


async def test_the_event_and_its_notice_roll_back_together(database: Database) -> None:
    main = await apply(database, "main")
    anna = (await enrol(database, main, ["anna"]))["anna"]
    await credit(database, anna, 12, at("2027-01-21T10:00"))

    async def announce() -> int:
        async with database.write() as session:
            return await ledger_service.announce_expiring(
                session, program_id=main, timezone="Europe/Moscow", notice_days=14, now=NOW
            )

    before = await last_event_id(database)

    async def fail() -> None:
        async with database.write() as session:
            assert (
                await ledger_service.announce_expiring(
                    session, program_id=main, timezone="Europe/Moscow", notice_days=14, now=NOW
                )
                == 1
            )
            raise RuntimeError("the unit of work fails after the announcement")

    with pytest.raises(RuntimeError):
        await fail()
    assert await expiring(database, before) == []
    assert await notices(database) == []
    assert await announce() == 1
    assert await announce() == 0
    assert [p["points"] for _, p in await expiring(database, before)] == [12]
    assert await notices(database) == [(anna, date(2027, 1, 21), 12)]


async def test_a_program_with_no_notice_announces_nothing(database: Database) -> None:
    silent = SEED_PROGRAM.read_text().replace(
        "    after_months: 12", "    after_months: 12\n    notice_days: 0"
    )
    main = await apply(database, "main", silent)
    anna = (await enrol(database, main, ["anna"]))["anna"]
    await credit(database, anna, 12, at("2027-01-21T10:00"))
    report = await run_daily_jobs(database, now=NOW)
    assert report.points_expiring == {"main": 0}
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(ExpiryNotice)) == 0


def test_the_default_notice_is_left_out_of_the_stored_document() -> None:
    """Programs written before the setting keep their documents and checksums."""
    seed = load_program(SEED_PROGRAM.read_text())
    assert seed.earning.expiry.notice_days == 14
    assert "notice_days" not in document_of(seed)["earning"]["expiry"]
    spelled = load_program(
        SEED_PROGRAM.read_text().replace(
            "    after_months: 12", "    after_months: 12\n    notice_days: 14"
        )
    )
    assert document_of(spelled) == document_of(seed)
    three = load_program(OTHER_PROGRAM)
    assert document_of(three)["earning"]["expiry"]["notice_days"] == 3
