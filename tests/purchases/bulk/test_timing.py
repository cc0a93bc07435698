"""Lot timing as columns equals :func:`patron.programs.expiry.lot_timing` for every policy,
including month ends, leap days and daylight saving changes (DB-free)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from patron.programs.expiry import lot_timing
from patron.programs.schema import Program
from patron.purchases.bulk.timing import with_lot_timing

POLICIES: list[dict[str, Any]] = [
    {"never": True},
    {"after_days": 1},
    {"after_days": 365},
    {"after_months": 1},
    {"after_months": 12},
    {"after_months": 1, "round_to": "end_of_month"},
    {"after_days": 40, "round_to": "end_of_month"},
    {"round_to": "end_of_year"},
    {"after_months": 13, "round_to": "end_of_year"},
]


def _program(expiry: dict[str, Any], pending_days: int, timezone: str) -> Program:
    return Program.model_validate(
        {
            "program": {"name": "T", "currency": "EUR", "timezone": timezone},
            "earning": {
                "base": {"points": 1, "per_amount": "1.00"},
                "pending_days": pending_days,
                "expiry": expiry,
            },
        }
    )


def _instants() -> list[datetime]:
    rng = random.Random(11)
    edges = [
        datetime(2024, 1, 31, 23, 30, tzinfo=UTC),
        datetime(2024, 2, 29, 12, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 22, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 30, 21, tzinfo=UTC),
    ]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return edges + [start + timedelta(seconds=rng.randrange(4 * 365 * 86_400)) for _ in range(300)]


@pytest.mark.parametrize("expiry", POLICIES)
@pytest.mark.parametrize(
    ("pending_days", "timezone"),
    [(0, "Europe/Warsaw"), (14, "Europe/Moscow"), (3, "America/Sao_Paulo")],
)
def test_columns_equal_lot_timing(expiry: dict[str, Any], pending_days: int, timezone: str) -> None:
    program = _program(expiry, pending_days, timezone)
    instants = _instants()
    frame = with_lot_timing(
        pl.DataFrame({"at": instants}, schema={"at": pl.Datetime("us", "UTC")}), program
    )
    found = list(zip(frame["pending_until"].to_list(), frame["expires_at"].to_list(), strict=True))
    assert found == [lot_timing(program, at) for at in instants]
