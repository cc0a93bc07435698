"""A small store with every KPI worked out by hand (docs/metrics.md uses the same figures).

Window: 2026-01-01 to 2026-03-31 (90 days), per month. Members 1 (gold, enrolled Dec 2025),
2 (silver, Jan 2026), 3 (no tier, Feb 2026), 5 (no tier, Nov 2025, never buys), 4 (enrolled in
April: after the window).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from patron.analytics.kpis.inputs import MEMBERS, PURCHASES, RETURNS, KpiInputs, Window
from patron.analytics.kpis.points import member_points

WINDOW = Window.of_days(date(2026, 1, 1), date(2026, 3, 31))
BASELINE = Window.of_days(date(2025, 10, 1), date(2025, 12, 31))


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


PURCHASE_ROWS = [
    (1, 1, at(12, 15, 2025), 10000, 0),
    (2, 1, at(1, 10), 20000, 1000),
    (3, 1, at(2, 3), 30000, 0),
    (4, 2, at(1, 20), 15000, 0),
    (5, 2, at(3, 5), 5000, 0),
    (6, 3, at(2, 15), 8000, 0),
    (7, None, at(1, 12), 12000, 0),
    (8, None, at(3, 20), 6000, 0),
    (9, 1, at(4, 2), 9999, 0),
]
RETURN_ROWS = [(3, 10000, at(2, 10)), (4, 5000, at(4, 5))]
MEMBER_ROWS = [
    (1, at(12, 1, 2025), "gold"),
    (2, at(1, 5), "silver"),
    (3, at(2, 10), None),
    (4, at(4, 10), None),
    (5, at(11, 1, 2025), None),
]
ENTRY_ROWS = [
    (1, "earn", 100, at(12, 15, 2025)),
    (1, "earn", 190, at(1, 10)),
    (1, "earn", 300, at(2, 3)),
    (1, "reverse", -100, at(2, 10)),
    (1, "redeem", -200, at(3, 1)),
    (2, "earn", 150, at(1, 20)),
    (2, "earn", 50, at(3, 5)),
    (2, "expire", -20, at(3, 31)),
    (3, "earn", 80, at(2, 15)),
    (3, "adjust", 10, at(2, 20)),
    (3, "adjust", -5, at(2, 21)),
    (3, "redeem", -100, at(3, 10)),
    (1, "redeem", 50, at(3, 15)),
    (5, "bonus", 30, at(11, 5, 2025)),
    (5, "expire", -30, at(1, 15)),
    (1, "earn", 99, at(4, 2)),
]
ENTRIES = {
    "member_id": pl.Int64,
    "kind": pl.String,
    "amount": pl.Int64,
    "occurred_at": pl.Datetime("us", "UTC"),
}


def frame(
    rows: list[tuple[object, ...]], schema: dict[str, pl.DataType] | dict[str, object]
) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")  # type: ignore[arg-type]


def entries() -> pl.DataFrame:
    return frame(ENTRY_ROWS, ENTRIES)  # type: ignore[arg-type]


def inputs(window: Window = WINDOW) -> KpiInputs:
    return KpiInputs(
        purchases=frame(PURCHASE_ROWS, PURCHASES),  # type: ignore[arg-type]
        returns=frame(RETURN_ROWS, RETURNS),  # type: ignore[arg-type]
        members=frame(MEMBER_ROWS, MEMBERS),  # type: ignore[arg-type]
        points=member_points(entries(), window),
        reward_values=pl.DataFrame(
            {"value": [50000, 10000], "cost_points": [1000, 250]},
            schema={"value": pl.Int64, "cost_points": pl.Int64},
        ),
        reward_values_source="coupons",
    )
