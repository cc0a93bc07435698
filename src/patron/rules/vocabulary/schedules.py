"""The schedule of a ``trigger: schedule`` campaign, as the program file writes it, and its
occurrences (pure).

``schedule: {every: day}``, ``{every: week, weekday: mon}``, ``{every: month, day: 1}`` (a
month without that day: its last day) or ``{dates: ["2027-01-01", "2027-03-08"]}``, each with
an optional ``at: "09:00"`` (default midnight), all local to the program's time zone. An
occurrence is one local date of the schedule at ``at``; it is named ``schedule:<local date>``
(``schedule:2027-01-04``), and a campaign credits each member once per occurrence.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from patron.kit.strict import WHOLE, Strict
from patron.rules.vocabulary.base import Weekday

CATCH_UP_DAYS = 7  # the daily job credits an occurrence at most this many days late


class Every(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class CampaignSchedule(Strict):
    """When a schedule campaign credits its audience (module docstring)."""

    every: Every | None = Field(default=None, exclude_if=lambda value: value is None)
    weekday: Weekday | None = Field(default=None, exclude_if=lambda value: value is None)
    day: Annotated[int, WHOLE, Field(ge=1, le=31, strict=True)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )
    dates: Annotated[list[date], Field(min_length=1, max_length=366)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )
    at: time | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        problems: list[str] = []
        if (self.every is None) == (self.dates is None):
            problems.append("give exactly one of every (day, week, month) and dates")
        if self.weekday is not None and self.every is not Every.WEEK:
            problems.append("weekday: only with every: week")
        if self.every is Every.WEEK and self.weekday is None:
            problems.append("weekday: every: week needs the weekday (mon to sun)")
        if self.day is not None and self.every is not Every.MONTH:
            problems.append("day: only with every: month")
        if self.every is Every.MONTH and self.day is None:
            problems.append("day: every: month needs the day of the month (1 to 31)")
        if self.at is not None and (
            self.at.tzinfo is not None or self.at.second or self.at.microsecond
        ):
            problems.append("at: a local time of day in hours and minutes (09:00)")
        if self.dates is not None and len(set(self.dates)) != len(self.dates):
            problems.append("dates: a date is written twice")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def holds(self, day: date) -> bool:
        """Whether ``day`` (a local date) is one of the schedule's dates."""
        if self.dates is not None:
            return day in self.dates
        if self.every is Every.DAY:
            return True
        if self.every is Every.WEEK:
            assert self.weekday is not None
            return day.weekday() == self.weekday.index
        assert self.day is not None
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(self.day, last)

    def moment(self, day: date, timezone: str) -> datetime:
        """The occurrence of ``day`` as an aware instant (``day`` at ``at``, local)."""
        at = self.at if self.at is not None else time()
        return datetime.combine(day, at).replace(tzinfo=ZoneInfo(timezone))


def occurrence_name(day: date) -> str:
    return f"schedule:{day.isoformat()}"


def latest_due(
    schedule: CampaignSchedule,
    *,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    now: datetime,
) -> tuple[date, datetime] | None:
    """The latest occurrence that has come by ``now`` (its moment at or before ``now``), inside
    the window ``[starts_at, ends_at)`` and at most :data:`CATCH_UP_DAYS` old: its local date
    and its moment; ``None`` when there is none."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    for back in range(CATCH_UP_DAYS + 1):
        day = today - timedelta(days=back)
        if not schedule.holds(day):
            continue
        moment = schedule.moment(day, timezone)
        if moment > now or now - moment > timedelta(days=CATCH_UP_DAYS):
            continue
        if starts_at <= moment < ends_at:
            return day, moment
        if moment < starts_at:
            return None
    return None
