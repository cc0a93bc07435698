"""What campaigns on other triggers than a purchase would have applied to over a replay's
period: every *occurrence* (a member's signup, birthday, anniversary, review, survey answer,
custom event, rewarded referral or schedule date) with its moment and the campaigns due
for it, found with the live engine's own functions (docs/simulator.md, "Campaigns on other
triggers").

The period is the history's local days, from the first purchase's to the last one's, in the
program's time zone. The daily job is taken to run once on each of those days, at the start
of the day (local midnight): its birthday step (:func:`patron.campaigns.occasions.birthday_plan`:
the window of ``occasion.days`` around the birthday, 29 February, the abuse guard), its
anniversary step (:func:`patron.campaigns.occasions.anniversaries_due`, from each member's
first purchase in the history) and its schedule step
(:func:`patron.campaigns.schedules.occurrences_due`: the latest occurrence due, to the
members enrolled by its moment) give the occurrences of that run, at the run's moment (a
schedule's at its own). Event-driven triggers happen at their stored moments inside the
period: ``signup`` at the enrolment (not of an imported member), ``review`` and ``survey`` at
their creation, ``event`` at the custom event's ``occurred_at``, ``referral`` at the
referral's reward, to each side.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from patron.campaigns.occasions import anniversaries_due, birthday_plan, live
from patron.campaigns.schedules import occurrences_due
from patron.kit.time import local, start_of_local_day
from patron.rules.occasions import month_days_near
from patron.rules.vocabulary import Campaign, Trigger

# the order of a job run's steps, and of event-driven occurrences at the same moment
_STEP = {
    Trigger.SIGNUP: 0,
    Trigger.REVIEW: 1,
    Trigger.SURVEY: 2,
    Trigger.EVENT: 3,
    Trigger.BIRTHDAY: 4,
    Trigger.ANNIVERSARY: 5,
    Trigger.REFERRAL: 6,
    Trigger.SCHEDULE: 7,
}


@dataclass(frozen=True, slots=True)
class TriggerMember:
    """A member as the database holds them now (``imported``: enrolled by an import, so no
    welcome)."""

    id: int
    enrolled_at: datetime
    birth_date: date | None = None
    birth_date_changed_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    imported: bool = False


@dataclass(frozen=True, slots=True)
class TriggerData:
    """What the database holds besides purchases, for the occurrences: the active members;
    ``(id, member, moment)`` of reviews and survey responses; ``(id, member, type,
    occurred_at, created_at)`` of custom events; ``(id, referrer, referee, rewarded_at)``
    of rewarded referrals. A history file has none of it (``None`` in :func:`occurrences`)."""

    members: tuple[TriggerMember, ...] = ()
    reviews: tuple[tuple[int, int, datetime], ...] = ()
    surveys: tuple[tuple[int, int, datetime], ...] = ()
    events: tuple[tuple[int, int, str, datetime, datetime], ...] = ()
    referrals: tuple[tuple[int, int, int, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Campaigns due for one member's occurrence, checked at ``moment`` (the window, the
    limit period) and applied at ``at`` (when the member's tier is read: the job's run for
    a schedule, the request for a custom event; else ``moment``). ``order`` sorts them as
    live applies them: by ``at``, then step, then member."""

    moment: datetime
    member: Hashable
    trigger: Trigger
    name: str
    campaigns: tuple[Campaign, ...]
    at: datetime | None = None

    @property
    def applied_at(self) -> datetime:
        return self.moment if self.at is None else self.at

    def order(self) -> tuple[datetime, int, Any, str]:
        return (self.applied_at, _STEP[self.trigger], self.member, self.name)


def job_moments(timezone: str, first: datetime, last: datetime) -> list[datetime]:
    """The daily job's runs over the period: the start of each local day from ``first``'s
    to ``last``'s."""
    day, stop = local(first, timezone).date(), local(last, timezone).date()
    found: list[datetime] = []
    while day <= stop:
        found.append(start_of_local_day(day, timezone))
        day += timedelta(days=1)
    return found


def _of(campaigns: Sequence[Campaign], trigger: Trigger) -> list[Campaign]:
    return [campaign for campaign in campaigns if campaign.trigger is trigger]


class _ByMonthDay:
    """Items by the (month, day) of their yearly date: the members whose birthday or
    anniversary may be near a day (the prefilter of the job's query,
    :func:`patron.rules.occasions.month_days_near`), in the order they were given."""

    def __init__(self, items: Iterable[tuple[date, Any]]) -> None:
        self.groups: dict[tuple[int, int], list[tuple[int, Any]]] = {}
        for index, (origin, item) in enumerate(items):
            self.groups.setdefault((origin.month, origin.day), []).append((index, item))

    def near(self, today: date, days: int) -> list[Any]:
        found: list[tuple[int, Any]] = []
        for pair in month_days_near(today, days):
            found += self.groups.get(pair, [])
        return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def _daily(
    campaigns: Sequence[Campaign],
    timezone: str,
    moments: Sequence[datetime],
    firsts: Sequence[tuple[Hashable, datetime]],
    members: Sequence[TriggerMember],
) -> Iterable[Occurrence]:
    birthdays = _of(campaigns, Trigger.BIRTHDAY)
    anniversaries = _of(campaigns, Trigger.ANNIVERSARY)
    schedules = _of(campaigns, Trigger.SCHEDULE)
    born = _ByMonthDay(
        (m.birth_date, m) for m in sorted(members, key=lambda m: m.id) if m.birth_date is not None
    )
    # anniversaries_due takes int ids: each member's index in ``firsts`` (in member order)
    bought = _ByMonthDay(
        (local(first, timezone).date(), (index, first)) for index, (_, first) in enumerate(firsts)
    )
    for now in moments:
        today = local(now, timezone).date()
        due_birthdays = live(birthdays, now, timezone)
        wide = max((c.window_days for c in due_birthdays), default=0)
        for member in born.near(today, wide) if due_birthdays else ():
            if member.enrolled_at > now:
                continue  # not a member yet
            found, _ = birthday_plan(
                member.id,
                member.birth_date,
                member.birth_date_changed_at,
                due_birthdays,
                now,
                today,
            )
            for item in found:
                yield Occurrence(now, member.id, item.trigger, item.occurrence, item.campaigns)
        due_anniversaries = live(anniversaries, now, timezone)
        if due_anniversaries:
            wide = max(c.window_days for c in due_anniversaries)
            for item in anniversaries_due(
                bought.near(today, wide), campaigns=due_anniversaries, timezone=timezone, now=now
            ):
                owner = firsts[item.member_id][0]
                yield Occurrence(now, owner, item.trigger, item.occurrence, item.campaigns)
        # each run while the occurrence is due visits its members again (those credited
        # already get nothing more: the run leaves out what was applied to the occurrence)
        for (name, moment), group in sorted(occurrences_due(schedules, timezone, now).items()):
            for member in members:
                if member.enrolled_at <= moment:
                    yield Occurrence(
                        moment, member.id, Trigger.SCHEDULE, name, tuple(group), at=now
                    )


def _members(
    campaigns: Sequence[Campaign], data: TriggerData, inside: Callable[[datetime], bool]
) -> Iterable[Occurrence]:
    """Signups (not of imported members) and rewarded referrals (each active side, with the
    campaigns of its ``referral_side``)."""
    signups = tuple(_of(campaigns, Trigger.SIGNUP))
    for member in data.members if signups else ():
        if not member.imported and inside(member.enrolled_at):
            yield Occurrence(member.enrolled_at, member.id, Trigger.SIGNUP, "signup", signups)
    referrals = tuple(_of(campaigns, Trigger.REFERRAL))
    known = {member.id for member in data.members}
    for referral, referrer, referee, moment in data.referrals if referrals else ():
        for side, member_id in (("referrer", referrer), ("referee", referee)):
            group = tuple(
                c for c in referrals if c.referral_side is None or c.referral_side.value == side
            )
            if group and inside(moment) and member_id in known:  # blocked, erased: nothing
                name = f"referral:{referral}:{side}"
                yield Occurrence(moment, member_id, Trigger.REFERRAL, name, group)


def _events(
    campaigns: Sequence[Campaign], data: TriggerData, inside: Callable[[datetime], bool]
) -> Iterable[Occurrence]:
    """Reviews, survey answers and custom events."""
    reviews = tuple(_of(campaigns, Trigger.REVIEW))
    for review, member_id, moment in data.reviews if reviews else ():
        if inside(moment):
            yield Occurrence(moment, member_id, Trigger.REVIEW, f"review:{review}", reviews)
    surveys = tuple(_of(campaigns, Trigger.SURVEY))
    for response, member_id, moment in data.surveys if surveys else ():
        if inside(moment):
            yield Occurrence(moment, member_id, Trigger.SURVEY, f"survey:{response}", surveys)
    by_type: dict[str | None, tuple[Campaign, ...]] = {}
    for campaign in _of(campaigns, Trigger.EVENT):
        by_type[campaign.event] = (*by_type.get(campaign.event, ()), campaign)
    for event, member_id, kind, moment, created in data.events:
        group = by_type.get(kind)
        if group and inside(created):
            name = f"event:{event}"
            yield Occurrence(moment, member_id, Trigger.EVENT, name, group, at=created)


def occurrences(
    campaigns: Sequence[Campaign],
    timezone: str,
    *,
    first: datetime,
    last: datetime,
    firsts: Sequence[tuple[Hashable, datetime]],
    data: TriggerData | None,
) -> list[Occurrence]:
    """Every occurrence of the period of ``first`` and ``last`` (the history's first and last
    purchase) for ``campaigns`` (the projected campaigns on other triggers), in the order
    live applies them. ``firsts``: each member's first purchase of the history (the
    anniversaries' origin); ``data``: the database's members and events (``None`` for a
    history file: then only anniversaries have occurrences)."""
    moments = job_moments(timezone, first, last)
    members = data.members if data is not None else ()
    found = list(_daily(campaigns, timezone, moments, firsts, members))
    if data is not None and moments:
        start = moments[0]
        end = start_of_local_day(local(last, timezone).date() + timedelta(days=1), timezone)

        def inside(moment: datetime) -> bool:
            return start <= moment < end

        found += _members(campaigns, data, inside)
        found += _events(campaigns, data, inside)
    found.sort(key=Occurrence.order)
    return found
