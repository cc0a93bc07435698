"""UTC time helpers. Patron stores and computes in UTC; calendar rules (weekdays, months,
birthdays, "per day" limits) read a UTC instant in the program's time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo

from patron.kit.errors import InvalidInputError


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (that is how SQLite gives them back)."""
    if moment.tzinfo is UTC:  # already UTC (the usual case): no copy
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """ISO 8601 instant; a naive value is taken as UTC."""
    return ensure_utc(datetime.fromisoformat(text))


def local(moment: datetime, timezone: str) -> datetime:
    return ensure_utc(moment).astimezone(ZoneInfo(timezone))


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later; the day is clamped to the month's end (Jan 31 + 1 = Feb 28/29)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)


def start_of_local_day(day: date, timezone: str) -> datetime:
    """The UTC instant at which ``day`` begins in ``timezone``."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@overload
def period(
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
    days: int,
    fields: tuple[str, str] = ...,
    years: tuple[int, int] | None = ...,
    ordered: bool = ...,
) -> tuple[datetime, datetime]: ...


@overload
def period(
    start: datetime | None,
    end: datetime | None,
    *,
    now: None = ...,
    days: None = ...,
    fields: tuple[str, str] = ...,
    years: tuple[int, int] | None = ...,
    ordered: bool = ...,
) -> tuple[datetime | None, datetime | None]: ...


def period(
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime | None = None,
    days: int | None = None,
    fields: tuple[str, str] = ("start", "end"),
    years: tuple[int, int] | None = None,
    ordered: bool = False,
) -> tuple[datetime | None, datetime | None]:
    """The period a report asks for, in UTC, as every surface reads it (the API's ticket and
    feedback reports, ``patron feedback``, the console). With ``now`` and ``days`` a missing
    end is ``now`` and a missing start ``days`` before the end; ``years`` refuses a year
    outside its bounds before any arithmetic could overflow; ``ordered`` refuses a start
    after the end. A refusal is 422 ``invalid_input`` naming the field (``fields``)."""
    for name, value in zip(fields, (start, end), strict=True):
        if value is not None and years is not None and not years[0] <= value.year <= years[1]:
            raise InvalidInputError(
                f"{name} must be between {years[0]} and {years[1]}",
                field=name,
                params={"least": years[0], "most": years[1]},
            )
    until = ensure_utc(end) if end is not None else now
    since = ensure_utc(start) if start is not None else None
    if since is None and until is not None and days is not None:
        since = until - timedelta(days=days)
    if ordered and since is not None and until is not None and since > until:
        raise InvalidInputError(
            f"{fields[0]} must not be after {fields[1]}",
            field=fields[0],
            params={"after": fields[1]},
        )
    return since, until
