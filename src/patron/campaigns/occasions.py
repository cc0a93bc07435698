"""Birthday and anniversary campaigns: which members are due today (the daily job's step,
:mod:`patron.worker.campaigns`).

``today`` is the local date of the job's moment in the program's time zone. A member is due
for a ``birthday`` campaign when today is inside the campaign's window around their birthday
(``occasion.days`` before and after; 29 February on 28 February in other years,
:mod:`patron.rules.occasions`), for an ``anniversary`` campaign when today is inside the
window around the anniversary of their first purchase (its local date; the first anniversary
is a year after it). The occurrence is named by the year of the birthday or anniversary
(``birthday:2027``, ``anniversary:2027``): a campaign applies to it once, however often the
job runs, so at most once per year of birthdays.

The birthday's abuse guard: a member whose birth date changed fewer than
``occasion.birth_date_unchanged_days`` days (default 30) before the moment gets nothing that
day. The guard refuses the day, not the birthday: nothing is recorded for the refusal, so a
later run inside the window, once the change is old enough, applies the birthday (once: its
occurrence is still ``birthday:<year>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.time import local
from patron.members.models import Member, MemberStatus
from patron.rules.occasions import month_days_near, occurrence_near
from patron.rules.vocabulary import Campaign, CampaignStatus, Trigger


@dataclass(frozen=True, slots=True)
class Due:
    """Campaigns to apply to one member for one occurrence."""

    member_id: int
    trigger: Trigger
    occurrence: str
    campaigns: tuple[Campaign, ...]


def live(campaigns: Sequence[Campaign], moment: datetime, timezone: str) -> list[Campaign]:
    return [c for c in campaigns if c.status_at(moment, timezone) is CampaignStatus.ACTIVE]


def plan(
    member_id: int,
    trigger: Trigger,
    origin: date,
    today: date,
    campaigns: Sequence[Campaign],
) -> list[Due]:
    """The occurrences of ``origin`` whose windows (per campaign) hold ``today``, each with the
    campaigns whose window holds it."""
    groups: dict[date, list[Campaign]] = {}
    for campaign in campaigns:
        found = occurrence_near(origin, today, campaign.window_days)
        if found is not None:
            groups.setdefault(found, []).append(campaign)
    return [
        Due(member_id, trigger, f"{trigger.value}:{occurrence.year}", tuple(group))
        for occurrence, group in sorted(groups.items())
    ]


async def birthdays_due(
    session: AsyncSession,
    *,
    program_id: int,
    campaigns: Sequence[Campaign],
    timezone: str,
    now: datetime,
) -> tuple[list[Due], int]:
    """Members due for the ``birthday`` campaigns today, and how many the abuse guard refused."""
    if not campaigns:
        return [], 0
    today = local(now, timezone).date()
    pairs = month_days_near(today, max(c.window_days for c in campaigns))
    month = func.extract("month", Member.birth_date)
    day = func.extract("day", Member.birth_date)
    rows = await session.execute(
        select(Member.id, Member.birth_date, Member.birth_date_changed_at)
        .where(
            Member.program_id == program_id,
            Member.birth_date.is_not(None),
            Member.status == MemberStatus.ACTIVE,
            Member.erased_at.is_(None),
            or_(*(and_(month == m, day == d) for m, d in sorted(pairs))),
        )
        .order_by(Member.id)
    )
    due: list[Due] = []
    refused = 0
    for member_id, birth_date, changed_at in rows:
        if birth_date is None:
            continue
        found, guarded = birthday_plan(member_id, birth_date, changed_at, campaigns, now, today)
        due += found
        refused += guarded
    return due, refused


def birthday_plan(
    member_id: int,
    birth_date: date,
    changed_at: datetime | None,
    campaigns: Sequence[Campaign],
    now: datetime,
    today: date,
) -> tuple[list[Due], int]:
    """The member's birthday occurrences due ``today`` (the job's moment ``now``), each with
    the campaigns the abuse guard allows, and how many the guard refused (the simulator's
    projection runs it too, :mod:`patron.simulator.trigger_occurrences`)."""
    due: list[Due] = []
    refused = 0
    for item in plan(member_id, Trigger.BIRTHDAY, birth_date, today, campaigns):
        allowed = tuple(
            c
            for c in item.campaigns
            if changed_at is None or now - changed_at >= timedelta(days=c.unchanged_days)
        )
        if not allowed:
            refused += 1
            continue
        due.append(Due(item.member_id, item.trigger, item.occurrence, allowed))
    return due, refused


def anniversaries_due(
    firsts: Iterable[tuple[int, datetime]],
    *,
    campaigns: Sequence[Campaign],
    timezone: str,
    now: datetime,
) -> list[Due]:
    """Members due for the ``anniversary`` campaigns today, from each active member's first
    purchase (``(member id, its moment)``,
    :func:`patron.purchases.repository.first_purchases`)."""
    if not campaigns:
        return []
    today = local(now, timezone).date()
    due: list[Due] = []
    for member_id, first in firsts:
        origin = local(first, timezone).date()
        due += plan(member_id, Trigger.ANNIVERSARY, origin, today, campaigns)
    return due
