"""Limit period keys and bounds, read in the program's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patron.programs.schema import LimitPeriod
from patron.rules import limit_period_bounds, limit_period_key

FRIDAY_LATE_UTC = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # Saturday 01:30 in Moscow


@pytest.mark.parametrize(
    ("period", "at", "timezone", "key"),
    [
        (LimitPeriod.DAY, FRIDAY_LATE_UTC, "Europe/Moscow", "2026-12-05"),
        (LimitPeriod.DAY, FRIDAY_LATE_UTC, "UTC", "2026-12-04"),
        (LimitPeriod.WEEK, FRIDAY_LATE_UTC, "Europe/Moscow", "2026-W49"),
        (LimitPeriod.WEEK, datetime(2027, 1, 1, 12, tzinfo=UTC), "Europe/Moscow", "2026-W53"),
        (LimitPeriod.WEEK, datetime(2027, 1, 3, 20, 59, tzinfo=UTC), "Europe/Moscow", "2026-W53"),
        (LimitPeriod.WEEK, datetime(2027, 1, 3, 21, 0, tzinfo=UTC), "Europe/Moscow", "2027-W01"),
        (LimitPeriod.MONTH, datetime(2026, 11, 30, 21, 0, tzinfo=UTC), "Europe/Moscow", "2026-12"),
        (LimitPeriod.MONTH, datetime(2026, 11, 30, 20, 59, tzinfo=UTC), "Europe/Moscow", "2026-11"),
        (LimitPeriod.YEAR, datetime(2026, 12, 31, 21, 0, tzinfo=UTC), "Europe/Moscow", "2027"),
        (LimitPeriod.LIFETIME, FRIDAY_LATE_UTC, "Europe/Moscow", "lifetime"),
    ],
)
def test_period_keys(period: LimitPeriod, at: datetime, timezone: str, key: str) -> None:
    assert limit_period_key(period, at, timezone) == key


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "at", "timezone", "bounds"),
    [
        (
            LimitPeriod.DAY,
            FRIDAY_LATE_UTC,
            "Europe/Moscow",
            (_utc(2026, 12, 4, 21), _utc(2026, 12, 5, 21)),
        ),
        (
            LimitPeriod.WEEK,
            FRIDAY_LATE_UTC,
            "Europe/Moscow",
            (_utc(2026, 11, 29, 21), _utc(2026, 12, 6, 21)),
        ),
        (
            LimitPeriod.MONTH,
            FRIDAY_LATE_UTC,
            "Europe/Moscow",
            (_utc(2026, 11, 30, 21), _utc(2026, 12, 31, 21)),
        ),
        (
            LimitPeriod.YEAR,
            FRIDAY_LATE_UTC,
            "Europe/Moscow",
            (_utc(2025, 12, 31, 21), _utc(2026, 12, 31, 21)),
        ),
        (LimitPeriod.MONTH, _utc(2026, 1, 31, 12), "UTC", (_utc(2026, 1, 1), _utc(2026, 2, 1))),
        # A 23-hour day: Warsaw moves its clocks forward on 29 March 2026.
        (
            LimitPeriod.DAY,
            _utc(2026, 3, 29, 12),
            "Europe/Warsaw",
            (_utc(2026, 3, 28, 23), _utc(2026, 3, 29, 22)),
        ),
        (LimitPeriod.LIFETIME, FRIDAY_LATE_UTC, "Europe/Moscow", (None, None)),
    ],
)
def test_period_bounds(
    period: LimitPeriod,
    at: datetime,
    timezone: str,
    bounds: tuple[datetime | None, datetime | None],
) -> None:
    assert limit_period_bounds(period, at, timezone) == bounds


@pytest.mark.parametrize("period", [p for p in LimitPeriod if p is not LimitPeriod.LIFETIME])
def test_bounds_contain_the_moment_and_share_its_key(period: LimitPeriod) -> None:
    start, end = limit_period_bounds(period, FRIDAY_LATE_UTC, "Asia/Kathmandu")
    assert start is not None
    assert end is not None
    assert start <= FRIDAY_LATE_UTC < end
    key = limit_period_key(period, FRIDAY_LATE_UTC, "Asia/Kathmandu")
    assert limit_period_key(period, start, "Asia/Kathmandu") == key
    assert limit_period_key(period, end, "Asia/Kathmandu") != key
