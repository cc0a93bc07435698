"""Yearly dates, pure: a member's birthday and the anniversary of their first purchase.

A yearly date falls on the same month and day every year; **29 February falls on
28 February in a year that has no 29 February** (a member born on 29 February 2000 has their
birthday on 28 February 2027 and on 29 February 2028).

A campaign's window around a yearly date is ``days`` days before and after it, in local
dates of the program's time zone (``days: 3`` and a birthday on 10 June: 7 to 13 June).
:func:`occurrence_near` says which yearly date, if any, a local day is inside the window
of. Windows never overlap (``days`` is at most 31), so a day is inside at most one, and an
occurrence (named by its year) is applied at most once: a member gets at most one birthday
bonus per birthday, at most one per year of birthdays.
"""

from __future__ import annotations

from calendar import isleap
from datetime import date, timedelta

MAX_WINDOW_DAYS = 31


def on_year(origin: date, year: int) -> date:
    """``origin``'s month and day in ``year`` (29 February on 28 February in other years)."""
    if origin.month == 2 and origin.day == 29 and not isleap(year):
        return date(year, 2, 28)
    return origin.replace(year=year)


def occurrence_near(origin: date, today: date, days: int) -> date | None:
    """The yearly date of ``origin`` (after its own year) whose window of ``days`` before and
    after holds ``today``, or ``None``."""
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"days must be 0 to {MAX_WINDOW_DAYS}, got {days}")
    for year in (today.year - 1, today.year, today.year + 1):
        if year <= origin.year or year > date.max.year:
            continue
        occurrence = on_year(origin, year)
        if abs((today - occurrence).days) <= days:
            return occurrence
    return None


def month_days_near(today: date, days: int) -> frozenset[tuple[int, int]]:
    """The ``(month, day)`` pairs of origins that may have an occurrence within ``days`` of
    ``today`` (a prefilter for a query; :func:`occurrence_near` decides)."""
    pairs: set[tuple[int, int]] = set()
    for offset in range(-days, days + 1):
        try:
            moment = today + timedelta(days=offset)
        except OverflowError:
            continue
        pairs.add((moment.month, moment.day))
        if moment.month == 2 and moment.day == 28 and not isleap(moment.year):
            pairs.add((2, 29))
    return frozenset(pairs)
