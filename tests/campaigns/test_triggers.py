"""Campaigns on triggers other than a purchase, end to end on the test database: the welcome on
``members.enrolled`` (through the dispatcher), reviews and survey answers, birthdays and
anniversaries in the daily job (idempotent, 29 February, the birth-date guard), and the
stats. Every credit is a ledger entry of source ``campaign`` with the key
``campaign:<key>:<member>:<occurrence>`` and its ``ledger.credited`` event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns import views
from patron.campaigns.handlers import apply_on_event
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import EventEnvelope, OutboxHandlerRun
from patron.ledger.verify import verify
from patron.members import blocking
from patron.members import service as member_service
from patron.members.schemas import MemberUpdate
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.worker import registry
from patron.worker.campaigns import DateCampaignsReport, run_date_campaigns
from patron.worker.daily import run_daily_jobs
from tests.campaigns.triggers import (
    NOW,
    TRIGGERS,
    active,
    apply_program,
    awards,
    campaign_credits,
    credited_events,
    enrol,
    envelope,
)


async def _handle(database: Database, envelope: EventEnvelope) -> None:
    async with database.write() as session:
        await apply_on_event(session, envelope)


async def test_the_welcome_is_credited_once_on_enrolment(database: Database) -> None:
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "ann", at=NOW)
    report = await dispatch_pending(database, registry.handlers(), now=NOW)
    assert report.failed == 0
    assert await campaign_credits(database) == [
        (member, "welcome", 100, f"campaign:welcome:{member}:signup")
    ]
    assert await awards(database) == [(member, "welcome", "signup", 100)]
    assert await credited_events(database) == [(member, 100)]
    # the same event handled again (a retried run) credits nothing
    enrolled = envelope("members.enrolled", program_id, member, imported=False)
    await _handle(database, enrolled)
    assert len(await campaign_credits(database)) == 1
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_without_a_welcome_campaign_an_enrolment_costs_no_run(database: Database) -> None:
    """The handler's screen reads the program once for a batch: enrolments in a program
    without a ``signup`` campaign get no run of ``campaigns.apply_on_event`` at all."""
    without_welcome = "  - key: birthday" + TRIGGERS.split("  - key: birthday", 1)[1]
    program_id = await apply_program(database, without_welcome)
    members = [await enrol(database, program_id, f"m{n}", at=NOW) for n in range(3)]
    report = await dispatch_pending(database, registry.handlers(), now=NOW)
    assert report.failed == 0, report.errors
    async with database.read() as session:
        runs = list(
            await session.scalars(
                select(OutboxHandlerRun.event_id).where(
                    OutboxHandlerRun.handler == "campaigns.apply_on_event"
                )
            )
        )
    assert (runs, await campaign_credits(database)) == ([], [])
    assert len(members) == 3


async def test_an_imported_member_gets_no_welcome(database: Database) -> None:
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "imported", at=NOW)
    await _handle(database, envelope("members.enrolled", program_id, member, imported=True))
    assert await campaign_credits(database) == []


async def test_a_purchase_does_not_apply_the_other_triggers_campaigns(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann")
    async with database.write() as session:
        recorded = await record_purchase(
            session,
            active=await _active_in(session),
            data=_purchase("p-1", "ann", NOW),
            now=NOW,
        )
    rows = {row.rule_id: row.points for row in recorded.purchase.breakdown}
    campaign_rows = {k: v for k, v in rows.items() if k.startswith("campaign:")}
    assert campaign_rows == {"campaign:purchase-bonus": 10}
    assert recorded.purchase.points_earned == 110  # 100 base for 1,000.00 + 10


async def _active_in(session: AsyncSession) -> ActiveProgram:
    return await program_service.get_active_program(session)


def _purchase(external_id: str, member: str, at: datetime) -> PurchaseCreate:
    return PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_external_id": member,
            "occurred_at": at.isoformat(),
            "currency": "RUB",
            "total": "1000.00",
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "1000.00"}],
        }
    )


async def test_reviews_and_surveys_apply_once_each_within_the_limit(database: Database) -> None:
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "ann")
    for review_id in (11, 11, 12, 13):  # 11 twice: a replayed event
        await _handle(
            database, envelope("reviews.created", program_id, member, review_id=review_id)
        )
    await _handle(
        database,
        envelope("surveys.answered", program_id, member, survey_key="nps", response_id=7),
    )
    await _handle(
        database,
        envelope("surveys.answered", program_id, member, survey_key="nps", response_id=7),
    )
    # review 13 is over the limit of 2 reviews per day
    assert await awards(database) == [
        (member, "review", "review:11", 20),
        (member, "review", "review:12", 20),
        (member, "survey", "survey:7", 30),
    ]
    assert [points for _, _, points, _ in await campaign_credits(database)] == [20, 20, 30]
    assert await credited_events(database) == [(member, 20), (member, 20), (member, 30)]
    program = await active(database)
    async with database.read() as session:
        stats = await views.campaign_stats(session, active=program, key="review", now=NOW)
    assert (stats.participants, stats.applications, stats.points_spent) == (1, 2, 40)
    assert stats.revenue == "0.00"


async def test_a_blocked_member_gets_nothing(database: Database) -> None:
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "ann")
    async with database.write() as session:
        await blocking.block_member(session, member_id=member, reason="fraud", now=NOW)
    await _handle(database, envelope("reviews.created", program_id, member, review_id=1))
    assert await awards(database) == []


# birthdays: the program's zone is Europe/Moscow; NOW is 8 December 2026, 13:00 there


async def _birthdays(database: Database, program_id: int) -> dict[str, int]:
    members = {
        "in-window": date(1990, 12, 10),  # in 2 days: inside the 3 days
        "after": date(1990, 12, 5),  # 3 days ago: inside
        "outside": date(1990, 12, 12),  # in 4 days: not yet
        "guarded": date(1990, 12, 8),  # today, but the date changed 5 days ago
        "changed-long-ago": date(1990, 12, 7),  # changed 40 days ago: fine
        "no-birth-date": None,
    }
    changed = {"guarded": 5, "changed-long-ago": 40}  # days ago the birth date changed
    found: dict[str, int] = {}
    for name, born in members.items():
        enrolled_with = date(1991, 1, 1) if name in changed else born
        found[name] = await enrol(database, program_id, name, birth_date=enrolled_with)
    for name, days_ago in changed.items():
        born = members[name]
        assert born is not None
        async with database.write() as session:
            await member_service.update_member(
                session,
                member_id=found[name],
                data=MemberUpdate.model_validate({"birth_date": born.isoformat()}),
                now=NOW - timedelta(days=days_ago),
            )
    return found


async def test_birthdays_in_the_window_apply_once_a_year(database: Database) -> None:
    program_id = await apply_program(database)
    members = await _birthdays(database, program_id)
    first = await run_date_campaigns(database, key="default", now=NOW)
    assert first == DateCampaignsReport(members_due=3, applied=3, points=1500, guarded=1)
    assert sorted(await awards(database)) == sorted(
        [
            (members["in-window"], "birthday", "birthday:2026", 500),
            (members["after"], "birthday", "birthday:2026", 500),
            (members["changed-long-ago"], "birthday", "birthday:2026", 500),
        ]
    )
    # run again the same day, and on the next days of the window: nothing more
    again = await run_date_campaigns(database, key="default", now=NOW + timedelta(hours=5))
    assert (again.applied, again.points) == (0, 0)
    later = await run_date_campaigns(database, key="default", now=NOW + timedelta(days=2))
    # 14 Dec is within 3 days of 12 Dec ("outside" is due now); the others had theirs
    assert (later.applied, later.points) == (1, 500)
    assert len(await campaign_credits(database)) == 4
    assert len(await credited_events(database)) == 4
    async with database.read() as session:
        assert await verify(session, now=NOW + timedelta(days=2)) == []


async def test_the_guard_lets_the_birthday_through_once_the_change_is_old(
    database: Database,
) -> None:
    program_id = await apply_program(database)
    members = await _birthdays(database, program_id)
    # the guard refuses the 2026 birthday (the date changed 5 days before); a year later
    # the change is old and the 2027 birthday applies
    await run_date_campaigns(database, key="default", now=NOW)
    next_year = await run_date_campaigns(database, key="default", now=NOW + timedelta(days=365))
    assert next_year.guarded == 0
    got = {(m, o) for m, k, o, _ in await awards(database) if k == "birthday"}
    assert (members["guarded"], "birthday:2027") in got
    assert (members["guarded"], "birthday:2026") not in got


async def test_a_guarded_birthday_is_tried_again_later_in_its_window(database: Database) -> None:
    """The guard refuses the day, not the birthday: once the change is 30 days old, a later
    run of the job inside the window (9 December, 3 days either side) gives the bonus, once."""
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "moved", birth_date=date(1991, 1, 1))
    async with database.write() as session:
        await member_service.update_member(
            session,
            member_id=member,
            data=MemberUpdate.model_validate({"birth_date": "1990-12-09"}),
            now=NOW - timedelta(days=28),
        )
    reports = [
        await run_date_campaigns(database, key="default", now=NOW + timedelta(days=day))
        for day in range(5)  # 8 to 12 December: the change is 28 to 32 days old
    ]
    assert [(r.applied, r.points, r.guarded) for r in reports] == [
        (0, 0, 1),
        (0, 0, 1),
        (1, 500, 0),
        (0, 0, 0),
        (0, 0, 0),
    ]
    assert await awards(database) == [(member, "birthday", "birthday:2026", 500)]
    assert len(await campaign_credits(database)) == 1


async def test_29_february_is_celebrated_on_28_february_in_a_common_year(
    database: Database,
) -> None:
    campaigns = """
  - key: leap
    name: {en: Leap}
    window: {start: "2027-01-01", end: "2028-12-31"}
    trigger: birthday
    effect: {bonus_points: 29}
"""
    program_id = await apply_program(database, campaigns)
    member = await enrol(database, program_id, "leapling", birth_date=date(2000, 2, 29))
    moscow_noon = timedelta(hours=9)
    for day in (
        date(2027, 2, 27),
        date(2027, 2, 28),
        date(2027, 3, 1),
        date(2028, 2, 28),
        date(2028, 2, 29),
    ):
        await run_date_campaigns(
            database,
            key="default",
            now=datetime.combine(day, datetime.min.time(), UTC) + moscow_noon,
        )
    assert await awards(database) == [
        (member, "leap", "birthday:2027", 29),
        (member, "leap", "birthday:2028", 29),
    ]
    # and the 2028 one was given on 29 February, not the 28th
    credits = await campaign_credits(database)
    assert [key for _, _, _, key in credits] == [
        f"campaign:leap:{member}:birthday:2027",
        f"campaign:leap:{member}:birthday:2028",
    ]


async def test_the_anniversary_of_the_first_purchase(database: Database) -> None:
    program_id = await apply_program(database)
    veteran = await enrol(database, program_id, "veteran")
    newcomer = await enrol(database, program_id, "newcomer")
    year_ago = NOW - timedelta(days=365)  # 8 December 2025
    async with database.write() as session:
        program = await _active_in(session)
        await record_purchase(
            session, active=program, data=_purchase("v-1", "veteran", year_ago), now=year_ago
        )
        await record_purchase(
            session,
            active=program,
            data=_purchase("v-2", "veteran", NOW - timedelta(days=30)),
            now=NOW,
        )
        await record_purchase(
            session,
            active=program,
            data=_purchase("n-1", "newcomer", NOW - timedelta(days=30)),
            now=NOW,
        )
    report = await run_date_campaigns(database, key="default", now=NOW + timedelta(days=1))
    assert report == DateCampaignsReport(members_due=1, applied=1, points=300, guarded=0)
    assert await awards(database) == [(veteran, "anniversary", "anniversary:2026", 300)]
    assert newcomer not in {m for m, *_ in await awards(database)}
    again = await run_date_campaigns(database, key="default", now=NOW + timedelta(days=1, hours=3))
    assert again.applied == 0


async def test_the_daily_jobs_run_the_date_campaigns(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann", birth_date=date(1990, 12, 8))
    report = await run_daily_jobs(database, now=NOW)
    assert report.failures == []
    assert report.date_campaigns["default"] == {
        "members_due": 1,
        "applied": 1,
        "points": 500,
        "guarded": 0,
    }
    twice = await run_daily_jobs(database, now=NOW + timedelta(minutes=5))
    assert twice.date_campaigns["default"]["applied"] == 0
