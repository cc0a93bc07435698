"""The array path and the sort path of the per-member summaries agree, row for row."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from patron.analytics.kpis.inputs import PURCHASES, RETURNS, Period, Window
from patron.analytics.kpis.sales import with_net_sales
from patron.analytics.kpis.summary import MemberFrames, member_frames

WINDOW = Window.of_days(date(2025, 2, 10), date(2025, 11, 20))


def random_sales(seed: int, rows: int = 5000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    purchases = pl.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "member_id": rng.integers(1, 400, rows),
            "occurred_at": [start] * rows,
            "total": rng.integers(0, 100_000, rows),
            "shipping": rng.integers(0, 500, rows),
        }
    ).with_columns(
        member_id=pl.when(pl.Series(rng.random(rows)) >= 0.2).then(pl.col("member_id")),
        occurred_at=pl.col("occurred_at")
        + pl.duration(seconds=pl.Series(rng.integers(0, 600 * 86400, rows))),
    )
    returned = rng.choice(rows, 200, replace=False) + 1
    returns = pl.DataFrame(
        {"purchase_id": returned, "amount": rng.integers(1, 100, 200), "occurred_at": [start] * 200}
    )
    return with_net_sales(purchases.cast(PURCHASES), returns.cast(RETURNS), WINDOW.end)  # type: ignore[arg-type]


def ordered(frames: MemberFrames) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        frames.totals.sort("member_id"),
        frames.pairs,
        frames.firsts.sort("member_id"),
    )


@pytest.mark.parametrize("period", list(Period))
@pytest.mark.parametrize("seed", [1, 2])
def test_array_and_sort_paths_agree(period: Period, seed: int) -> None:
    sales = random_sales(seed)
    dense = ordered(member_frames(sales, WINDOW, period, dense=True))
    sorted_ = ordered(member_frames(sales, WINDOW, period, dense=False))
    for left, right in zip(dense, sorted_, strict=True):
        assert left.equals(right), (left, right)
    assert dense[1].equals(dense[1].sort("member_id", "period"))
    assert dense[0].height > 0


def test_no_members() -> None:
    sales = random_sales(3).filter(pl.col("member_id").is_null())
    frames = member_frames(sales, WINDOW, Period.MONTH)
    assert (frames.totals.height, frames.pairs.height, frames.firsts.height) == (0, 0, 0)
