"""Birthdays and anniversaries, pure: 29 February, the window of ``days`` before and after,
and a property over dates, time zones and a job run at any hour (even twice a day): a
member's birthday campaign applies at most once per birthday, only inside the window, and
exactly once when the job ran every day of the window."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.campaigns.occasions import plan
from patron.rules.occasions import month_days_near, occurrence_near, on_year
from patron.rules.vocabulary import Campaign, Trigger

ZONES = [
    "UTC",
    "Europe/Moscow",
    "Europe/Warsaw",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "America/St_Johns",  # UTC-3:30, with summer time
    "Asia/Kathmandu",  # UTC+5:45
]


def _birthday(days: int) -> Campaign:
    return Campaign.model_validate(
        {
            "key": "bday",
            "name": {"en": "Birthday"},
            "window": {"start": "2000-01-01", "end": "2099-12-31"},
            "trigger": "birthday",
            "occasion": {"days": days},
            "effect": {"bonus_points": 500},
        }
    )


def test_29_february_falls_on_28_february_in_other_years() -> None:
    leapling = date(2000, 2, 29)
    assert on_year(leapling, 2027) == date(2027, 2, 28)
    assert on_year(leapling, 2028) == date(2028, 2, 29)
    assert on_year(date(1990, 12, 31), 2026) == date(2026, 12, 31)


def test_the_window_is_days_before_and_after() -> None:
    born = date(1990, 6, 10)
    assert occurrence_near(born, date(2026, 6, 7), 3) == date(2026, 6, 10)
    assert occurrence_near(born, date(2026, 6, 13), 3) == date(2026, 6, 10)
    assert occurrence_near(born, date(2026, 6, 6), 3) is None
    assert occurrence_near(born, date(2026, 6, 14), 3) is None
    assert occurrence_near(born, date(2026, 6, 10), 0) == date(2026, 6, 10)
    assert occurrence_near(born, date(2026, 6, 11), 0) is None


def test_a_window_crosses_the_year_end_and_names_the_birthdays_year() -> None:
    born = date(1990, 12, 30)
    assert occurrence_near(born, date(2027, 1, 2), 3) == date(2026, 12, 30)
    born = date(1990, 1, 2)
    assert occurrence_near(born, date(2026, 12, 30), 3) == date(2027, 1, 2)


def test_no_occurrence_in_the_year_of_origin() -> None:
    assert occurrence_near(date(2026, 6, 10), date(2026, 6, 10), 3) is None
    assert occurrence_near(date(2025, 6, 10), date(2026, 6, 10), 3) == date(2026, 6, 10)


def test_the_prefilter_includes_29_february_on_28_february_of_common_years() -> None:
    assert (2, 29) in month_days_near(date(2027, 2, 28), 0)
    assert (2, 29) not in month_days_near(date(2028, 2, 28), 0)
    assert (2, 29) in month_days_near(date(2027, 3, 2), 2)  # 28 Feb is 2 days before


def test_days_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="days must be 0 to 31"):
        occurrence_near(date(1990, 1, 1), date(2026, 1, 1), 32)


@st.composite
def _origins(draw: st.DrawFn) -> date:
    if draw(st.booleans()):
        return date(draw(st.sampled_from([1980, 1984, 1996, 2000, 2004])), 2, 29)
    month = draw(st.sampled_from([1, 2, 3, 12]))  # around the year's end and 29 February
    day = draw(st.integers(1, 28 if month == 2 else 31))
    return date(draw(st.integers(1950, 2010)), month, day)


@settings(max_examples=60, deadline=None)
@given(
    origin=_origins(),
    days=st.integers(0, 31),
    zone=st.sampled_from(ZONES),
    hours=st.lists(st.integers(0, 23), min_size=1, max_size=2, unique=True),
    start=st.dates(date(2025, 10, 1), date(2026, 3, 1)),
)
def test_a_birthday_applies_once_per_year_inside_the_window(
    origin: date, days: int, zone: str, hours: list[int], start: date
) -> None:
    campaign = _birthday(days)
    applied: dict[str, date] = {}  # occurrence -> the local day it applied
    moments = [
        datetime.combine(start + timedelta(days=n), time(hour), tzinfo=UTC)
        for n in range(3 * 366)
        for hour in hours
    ]
    for moment in moments:
        today = moment.astimezone(ZoneInfo(zone)).date()
        for due in plan(1, Trigger.BIRTHDAY, origin, today, [campaign]):
            applied.setdefault(due.occurrence, today)  # the job applies each occurrence once
    years = [int(key.split(":")[1]) for key in applied]
    assert len(years) == len(set(years))  # at most once per year of birthdays
    for key, day in applied.items():
        birthday = on_year(origin, int(key.split(":")[1]))
        assert abs((day - birthday).days) <= days  # only inside the window
    first_local = moments[0].astimezone(ZoneInfo(zone)).date()
    last_local = moments[-1].astimezone(ZoneInfo(zone)).date()
    for year in range(first_local.year, last_local.year + 1):
        birthday = on_year(origin, year)
        if first_local <= birthday - timedelta(days=days) and birthday <= last_local:
            assert f"birthday:{year}" in applied  # a job run daily never misses a birthday
    # two applications are at least a year less both windows apart
    ordered = sorted(applied.values())
    for before, after in itertools.pairwise(ordered):
        assert (after - before).days >= 365 - 2 * days
