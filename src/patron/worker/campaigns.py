"""The daily job's steps of the date-driven campaigns: birthdays and anniversaries of the first
purchase (:mod:`patron.campaigns.occasions`), and schedule campaigns (step
``schedule_campaigns``, :mod:`patron.campaigns.schedules`).

The members due are read in one read unit of work; each member's campaigns are then applied
in a write unit of work of its own (:func:`patron.campaigns.triggers.apply_trigger`: the
member's account, then the campaigns' counters), so the step never holds a counter while it
waits for another member's account. Idempotent: an occurrence (``birthday:2027``,
``schedule:2027-01-04``) is applied once, so a second run the same day (or the next days of
the window) credits nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.occasions import Due, anniversaries_due, birthdays_due, live
from patron.campaigns.schedules import schedules_due
from patron.campaigns.triggers import apply_trigger, trigger_campaigns
from patron.kit.db import Database
from patron.programs import service as program_service
from patron.purchases.repository import first_purchases
from patron.rules.vocabulary import Trigger


@dataclass(frozen=True, slots=True)
class DateCampaignsReport:
    """``applied``: campaign applications made (credits), ``points`` they gave;
    ``guarded``: birthdays the abuse guard refused (birth date changed recently)."""

    members_due: int = 0
    applied: int = 0
    points: int = 0
    guarded: int = 0


async def run_date_campaigns(database: Database, *, key: str, now: datetime) -> DateCampaignsReport:
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=key)
        timezone = active.program.program.timezone
        birthdays = live(trigger_campaigns(active, Trigger.BIRTHDAY), now, timezone)
        anniversaries = live(trigger_campaigns(active, Trigger.ANNIVERSARY), now, timezone)
        due, guarded = await birthdays_due(
            session,
            program_id=active.program_id,
            campaigns=birthdays,
            timezone=timezone,
            now=now,
        )
        if anniversaries:
            firsts = await first_purchases(session, active.program_id)
            due += anniversaries_due(firsts, campaigns=anniversaries, timezone=timezone, now=now)
    applied = points = 0
    for item in due:
        outcome = await _apply(database, key, item, now)
        applied += len(outcome[0])
        points += outcome[1]
    return DateCampaignsReport(
        members_due=len({item.member_id for item in due}),
        applied=applied,
        points=points,
        guarded=guarded,
    )


@dataclass(frozen=True, slots=True)
class ScheduleCampaignsReport:
    """``members_due``: members read for the occurrences due; ``applied``: campaign
    applications made (credits), ``points`` they gave."""

    members_due: int = 0
    applied: int = 0
    points: int = 0


async def run_schedule_campaigns(
    database: Database, *, key: str, now: datetime
) -> ScheduleCampaignsReport:
    """Credit the latest due occurrence of each schedule campaign to its audience."""
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=key)
        campaigns = trigger_campaigns(active, Trigger.SCHEDULE)
        if not campaigns:
            return ScheduleCampaignsReport()
        due = await schedules_due(
            session,
            program_id=active.program_id,
            campaigns=campaigns,
            timezone=active.program.program.timezone,
            now=now,
        )
    applied = points = 0
    for item, moment in due:
        keys, given = await _apply(database, key, item, now, occurred_at=moment)
        applied += len(keys)
        points += given
    return ScheduleCampaignsReport(
        members_due=len({item.member_id for item, _ in due}), applied=applied, points=points
    )


async def _apply(
    database: Database, key: str, item: Due, now: datetime, *, occurred_at: datetime | None = None
) -> tuple[tuple[str, ...], int]:
    async def work(session: AsyncSession) -> tuple[tuple[str, ...], int]:
        active = await program_service.get_active_program(session, key=key)
        outcome = await apply_trigger(
            session,
            active=active,
            member_id=item.member_id,
            campaigns=item.campaigns,
            occurrence=item.occurrence,
            occurred_at=now if occurred_at is None else occurred_at,
            now=now,
        )
        return tuple(result.key for result in outcome.applied), outcome.points

    return await database.write_again_on_deadlock(work)
