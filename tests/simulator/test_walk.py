"""The vectorised tier walk equals the purchase-by-purchase loop (``reference_walk.py``) on
random histories and random points, for every kind of tier policy: points or money, a
lifetime, calendar-year or rolling window, downgrades at review or never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from patron.programs.loader import load_program
from patron.simulator.balances import month_grid
from patron.simulator.replay import walk_input
from patron.simulator.walk import walk
from tests.simulator.reference_walk import reference_walk

TIERS = """
program: {name: Walk, currency: PLN, timezone: Europe/Warsaw}
earning: {base: {points: 1, per_amount: "1.00"}}
tiers:
  qualify_on: QUALIFY
  window: WINDOW
  downgrade: DOWNGRADE
  levels:
    - {id: bronze, name: Bronze, threshold: 100}
    - {id: silver, name: Silver, threshold: 300, earn_multiplier: 1.5}
    - {id: gold, name: Gold, threshold: 700, earn_multiplier: 2}
"""
POLICIES = [
    (qualify, window, downgrade)
    for qualify in ("points_earned", "money_spent")
    for window in ("lifetime", "calendar_year", "rolling_2_months", "rolling_12_months")
    for downgrade in ("at_review", "never")
]


def _history(rng: np.random.Generator, purchases: int) -> pl.DataFrame:
    start = datetime(2025, 11, 3, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 420 * 86_400, purchases))
    # some purchases at the very instant of a month end (Warsaw midnight) and at equal times
    seconds[::17] = (datetime(2026, 1, 31, 23, tzinfo=UTC) - start).total_seconds()
    return pl.DataFrame(
        {
            "seq": np.arange(purchases),
            "member": rng.integers(0, 6, purchases),
            "at": [start + timedelta(seconds=int(s)) for s in np.sort(seconds)],
            "total": rng.integers(0, 30_000, purchases),
            "shipping": rng.integers(0, 2, purchases) * 500,
        }
    ).with_columns(
        pl.col("at").cast(pl.Datetime("us", "UTC")),
        pl.col("member").rank("dense").cast(pl.Int64).alias("member_index"),
    )


@pytest.mark.parametrize(("qualify", "window", "downgrade"), POLICIES)
def test_vectorised_walk_equals_the_loop(qualify: str, window: str, downgrade: str) -> None:
    text = TIERS.replace("QUALIFY", qualify).replace("WINDOW", window)
    program = load_program(text.replace("DOWNGRADE", downgrade))
    rng = np.random.default_rng(len(qualify) * 100 + len(window) * 10 + len(downgrade))
    for _ in range(6):
        history = _history(rng, int(rng.integers(1, 120))).sort("member_index", "seq")
        first, last = history["at"].min(), history["at"].max()
        months = month_grid("Europe/Warsaw", first, last)  # type: ignore[arg-type]
        data = walk_input(program, history, [month.end for month in months])
        points = np.sort(rng.integers(0, 160, (4, history.height)), axis=0)
        expected = reference_walk(program, data, points)
        found = walk(program, data, points)
        assert found.ranks.tolist() == expected.ranks.tolist()
        assert found.month_counts.tolist() == expected.month_counts.tolist()
