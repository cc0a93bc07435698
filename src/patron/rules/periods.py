"""Calendar periods of per-member rule limits, read in the program's time zone.

Keys are stable strings that callers store and count by: day ``2026-12-05``, week
``2026-W49`` (ISO weeks, starting on Monday, with the ISO week-numbering year), month
``2026-12``, year ``2026`` and ``lifetime``. The vectorised evaluator produces the same keys.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from patron.kit.time import local, start_of_local_day
from patron.rules.vocabulary import LimitPeriod

LIFETIME_KEY = "lifetime"


def limit_period_key(period: LimitPeriod, occurred_at: datetime, timezone: str) -> str:
    """The key of the ``period`` containing ``occurred_at`` (local calendar of ``timezone``)."""
    day = local(occurred_at, timezone).date()
    if period is LimitPeriod.DAY:
        return day.isoformat()
    if period is LimitPeriod.WEEK:
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period is LimitPeriod.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    if period is LimitPeriod.YEAR:
        return f"{day.year:04d}"
    return LIFETIME_KEY


def _local_range(period: LimitPeriod, day: date) -> tuple[date, date]:
    if period is LimitPeriod.DAY:
        return day, day + timedelta(days=1)
    if period is LimitPeriod.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    if period is LimitPeriod.MONTH:
        year, month = divmod(day.year * 12 + day.month, 12)
        return day.replace(day=1), date(year, month + 1, 1)
    return date(day.year, 1, 1), date(day.year + 1, 1, 1)


def limit_period_bounds(
    period: LimitPeriod, occurred_at: datetime, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` in UTC of the ``period`` containing ``occurred_at``.

    Both ends are local midnights of ``timezone`` turned into UTC, so a Moscow month is
    ``[Nov 30 21:00 UTC, Dec 31 21:00 UTC)``. ``lifetime`` has no bounds: ``(None, None)``.
    Count a member's earlier applications of a rule with ``start <= occurred_at < end``.
    """
    if period is LimitPeriod.LIFETIME:
        return None, None
    first, following = _local_range(period, local(occurred_at, timezone).date())
    return start_of_local_day(first, timezone), start_of_local_day(following, timezone)
