"""``kit.time.period``: the one reading of a report's period for the API, the CLI and the
console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from patron.kit.errors import InvalidInputError
from patron.kit.time import period

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WARSAW = timezone(timedelta(hours=1))


def test_defaults_count_back_from_the_end() -> None:
    assert period(None, None, now=NOW, days=30) == (NOW - timedelta(days=30), NOW)
    end = datetime(2026, 1, 31, 1, 0, tzinfo=WARSAW)
    since, until = period(None, end, now=NOW, days=1)
    assert (since, until) == (datetime(2026, 1, 30, 0, 0, tzinfo=UTC), end)
    assert until.tzinfo == UTC


def test_without_defaults_a_missing_end_stays_open() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert period(start, None) == (start, None)
    assert period(None, None) == (None, None)


def test_years_and_order_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInputError) as refused:
        period(datetime(1969, 12, 31, tzinfo=UTC), None, now=NOW, days=1, years=(1970, 2200))
    assert refused.value.field == "start"
    late, early = NOW, NOW - timedelta(seconds=1)
    with pytest.raises(InvalidInputError) as refused:
        period(late, early, fields=("from", "to"), ordered=True)
    assert (refused.value.field, refused.value.message) == ("from", "from must not be after to")
    assert period(late, early) == (late, early)  # unordered: the caller's rule
