"""UTC time helpers. Patron stores and computes in UTC; calendar rules (weekdays, months,
birthdays, "per day" limits) read a UTC instant in the program's time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


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
