"""Plurals, numbers, money and dates in the member's language (Babel's CLDR data)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patron.notifications.formatting import day, money_amount, plural, points


def _plain(text: str) -> str:
    """Babel groups thousands with no-break spaces; compare with plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", ["1 балл", "2 балла", "5 баллов", "11 баллов", "21 балл", "22 балла", "0 баллов"]),
        ("pl", ["1 punkt", "2 punkty", "5 punktów", "11 punktów", "21 punktów", "22 punkty",
                "0 punktów"]),
        ("en", ["1 point", "2 points", "5 points", "11 points", "21 points", "22 points",
                "0 points"]),
    ],
)  # fmt: skip
def test_points_take_the_plural_of_the_language(language: str, expected: list[str]) -> None:
    assert [points(n, language) for n in (1, 2, 5, 11, 21, 22, 0)] == expected


def test_large_counts_are_grouped_for_the_locale() -> None:
    assert _plain(points(1500, "ru")) == "1 500 баллов"
    assert _plain(points(1500, "pl")) == "1 500 punktów"
    assert points(1500, "en") == "1,500 points"
    assert _plain(plural(3, "days", "ru")) == "3 дня"
    assert plural(5, "days", "pl") == "5 dni"


def test_money_and_dates_follow_the_locale() -> None:
    assert _plain(money_amount(100_000, "RUB", "ru")) == "1 000,00 ₽"
    assert _plain(money_amount(4_999, "PLN", "pl")) == "49,99 zł"
    assert money_amount(100_000, "RUB", "en") == "RUB1,000.00"
    assert _plain(day(date(2026, 12, 31), "ru")) == "31 декабря 2026 г."
    assert day(date(2026, 12, 31), "pl") == "31 grudnia 2026"
    assert day(date(2026, 12, 31), "en") == "December 31, 2026"
    # a moment is read in the program's time zone: 22:30 UTC is the next day in Moscow
    moment = datetime(2026, 12, 30, 22, 30, tzinfo=UTC)
    assert _plain(day(moment, "ru", "Europe/Moscow")) == "31 декабря 2026 г."
    assert day(moment, "en", "UTC") == "December 30, 2026"
