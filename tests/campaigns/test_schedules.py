"""Schedule campaigns (``trigger: schedule``): the schedule's shapes and their occurrences
(pure), and the daily job crediting every member of the audience once per occurrence, with
limits and a budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.members import blocking
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.schedules import CampaignSchedule, latest_due
from patron.worker.campaigns import ScheduleCampaignsReport, run_schedule_campaigns
from patron.worker.daily import run_daily_jobs
from tests.campaigns.triggers import NOW, apply_program, awards, campaign_credits, enrol

MOSCOW = "Europe/Moscow"
WINDOW = (datetime(2026, 12, 2, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))

WEEKLY = """
  - key: tuesday
    name: {en: Tuesday bonus}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: schedule
    schedule: {every: week, weekday: tue, at: "09:00"}
    effect: {bonus_points: 25}
    limits: {per_member: 1, period: month}
"""


def _schedule(**written: object) -> CampaignSchedule:
    return CampaignSchedule.model_validate(written)


def _due(schedule: CampaignSchedule, now: datetime) -> tuple[date, datetime] | None:
    start, end = WINDOW
    return latest_due(schedule, starts_at=start, ends_at=end, timezone=MOSCOW, now=now)


def test_the_shapes_of_a_schedule() -> None:
    assert _schedule(every="day").holds(date(2026, 12, 9))
    weekly = _schedule(every="week", weekday="tue")
    assert weekly.holds(date(2026, 12, 8))
    assert not weekly.holds(date(2026, 12, 9))
    monthly = _schedule(every="month", day=31)
    assert monthly.holds(date(2027, 2, 28))  # a month without the 31st: its last day
    assert monthly.holds(date(2026, 12, 31))
    assert not monthly.holds(date(2026, 12, 30))
    listed = _schedule(dates=["2027-03-08", "2027-01-01"])
    assert listed.holds(date(2027, 3, 8))
    assert not listed.holds(date(2027, 3, 9))


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ({}, "give exactly one of every"),
        ({"every": "day", "dates": ["2027-01-01"]}, "give exactly one of every"),
        ({"every": "week"}, "weekday: every: week needs the weekday"),
        ({"every": "month"}, "day: every: month needs the day"),
        ({"every": "day", "weekday": "mon"}, "weekday: only with every: week"),
        ({"every": "week", "weekday": "mon", "day": 3}, "day: only with every: month"),
        ({"dates": ["2027-01-01", "2027-01-01"]}, "a date is written twice"),
        ({"every": "day", "at": "09:00:30"}, "at: a local time of day"),
    ],
)
def test_a_bad_schedule_is_refused(written: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _schedule(**written)


def test_the_schedule_and_the_trigger_go_together() -> None:
    base = {"key": "k", "name": {"en": "K"}, "window": {"start": "2026-12-01", "end": "2027-01-01"}}
    base["effect"] = {"bonus_points": 1}
    with pytest.raises(ValidationError, match="give the schedule exactly when"):
        Campaign.model_validate({**base, "trigger": "schedule"})
    with pytest.raises(ValidationError, match="give the schedule exactly when"):
        Campaign.model_validate({**base, "schedule": {"every": "day"}})
    with pytest.raises(ValidationError, match="needs a purchase"):
        Campaign.model_validate(
            {
                **base,
                "trigger": "schedule",
                "schedule": {"every": "day"},
                "when": {"order_total_gte": "1.00"},
            }
        )
    Campaign.model_validate({**base, "trigger": "schedule", "schedule": {"every": "day"}})


def test_the_latest_occurrence_that_has_come() -> None:
    weekly = _schedule(every="week", weekday="tue", at="09:00")
    # Tuesday 8 December 2026, 08:59 and 09:00 in Moscow (UTC+3)
    assert _due(weekly, datetime(2026, 12, 8, 5, 59, tzinfo=UTC)) is None  # 1 Dec: before window
    at_nine = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
    assert _due(weekly, at_nine) == (date(2026, 12, 8), at_nine)
    # a run on Monday 14 December still credits the 8th (six days late)
    assert _due(weekly, datetime(2026, 12, 14, 20, 0, tzinfo=UTC)) == (date(2026, 12, 8), at_nine)
    daily = _schedule(every="day", at="12:00")
    # the window ends 2027-12-31 00:00 UTC, before that day's noon in Moscow: a run after it
    # credits the last occurrence inside
    after = datetime(2027, 12, 31, 10, 0, tzinfo=UTC)
    found = _due(daily, after)
    assert found is not None
    assert found[0] == date(2027, 12, 30)
    assert _due(daily, after + timedelta(days=9)) is None  # more than 7 days late


async def test_every_member_of_the_audience_is_credited_once_per_occurrence(
    database: Database,
) -> None:
    program_id = await apply_program(database, WEEKLY)
    ann = await enrol(database, program_id, "ann")
    bob = await enrol(database, program_id, "bob")
    await enrol(database, program_id, "late", at=NOW)  # enrolled after 09:00: not yet a member
    first = await run_schedule_campaigns(database, key="default", now=NOW)
    assert first == ScheduleCampaignsReport(members_due=2, applied=2, points=50)
    assert await awards(database) == [
        (ann, "tuesday", "schedule:2026-12-08", 25),
        (bob, "tuesday", "schedule:2026-12-08", 25),
    ]
    again = await run_schedule_campaigns(database, key="default", now=NOW + timedelta(hours=3))
    assert again == ScheduleCampaignsReport()
    keys = [key for _, _, _, key in await campaign_credits(database)]
    assert len(keys) == len(set(keys)) == 2
    # next Tuesday: the per-member limit (once a month) holds both back, late gets its first
    week = await run_schedule_campaigns(database, key="default", now=NOW + timedelta(days=7))
    assert week.applied == 1
    assert week.points == 25
    # a January Tuesday: the limit's new month
    january = await run_schedule_campaigns(database, key="default", now=NOW + timedelta(days=28))
    assert january.applied == 3


async def test_a_budget_holds_and_a_blocked_member_gets_nothing(database: Database) -> None:
    program_id = await apply_program(
        database, WEEKLY.replace("limits: {per_member: 1, period: month}", "budget: {points: 50}")
    )
    members = [await enrol(database, program_id, f"m{n}") for n in range(4)]
    async with database.write() as session:
        await blocking.block_member(session, member_id=members[0], reason="x", now=NOW)
    report = await run_schedule_campaigns(database, key="default", now=NOW)
    assert report.members_due == 3
    assert report.applied == 2
    assert report.points == 50
    assert [m for m, *_ in await awards(database)] == members[1:3]


async def test_each_application_emits_campaigns_applied(database: Database) -> None:
    program_id = await apply_program(database, WEEKLY)
    ann = await enrol(database, program_id, "ann")
    await run_schedule_campaigns(database, key="default", now=NOW)
    await run_schedule_campaigns(database, key="default", now=NOW + timedelta(hours=1))
    async with database.read() as session:
        rows = await session.execute(
            select(OutboxEvent.member_id, OutboxEvent.payload).where(
                OutboxEvent.type == "campaigns.applied"
            )
        )
        found = [(member_id, dict(payload)) for member_id, payload in rows]
    assert found == [
        (
            ann,
            {
                "campaign_key": "tuesday",
                "member_id": ann,
                "trigger": "schedule",
                "occurrence": "schedule:2026-12-08",
                "points": 25,
                "purchase_id": None,
                "cashback": "0.00",
                "currency": "RUB",
                "rewards": [],
            },
        )
    ]


async def test_the_daily_jobs_run_the_schedule_campaigns(database: Database) -> None:
    program_id = await apply_program(database, WEEKLY)
    await enrol(database, program_id, "ann")
    report = await run_daily_jobs(database, now=NOW)
    assert report.failures == []
    assert report.schedule_campaigns["default"] == {"members_due": 1, "applied": 1, "points": 25}
    twice = await run_daily_jobs(database, now=NOW + timedelta(minutes=5))
    assert twice.schedule_campaigns["default"]["applied"] == 0


async def test_a_tier_audience_reads_only_those_tiers(database: Database) -> None:
    program_id = await apply_program(
        database, WEEKLY.replace("    effect:", "    audience: {tiers: [gold]}\n    effect:")
    )
    await enrol(database, program_id, "ann")  # bronze
    report = await run_schedule_campaigns(database, key="default", now=NOW)
    assert report == ScheduleCampaignsReport()
