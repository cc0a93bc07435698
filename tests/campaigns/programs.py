"""Program texts for the campaign tests: the seed program with campaigns appended."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import SEED_PROGRAM

# Tuesday 8 December 2026, 13:00 in Moscow
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def with_campaigns(campaigns: str) -> str:
    """The seed program (RUB, Europe/Moscow, 100 points per 1,000.00) and ``campaigns``."""
    return SEED_PROGRAM.read_text() + "\ncampaigns:\n" + campaigns


BONUS = """
  - key: bonus
    name: {en: "December bonus", ru: "Декабрьский бонус"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 100}
"""
