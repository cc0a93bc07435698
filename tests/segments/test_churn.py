"""The win-back list: high value, P(alive) below the threshold and falling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from patron.programs.segmentation import SegmentSettings
from patron.segments.churn import CHURN_SCHEMA, PREVIOUS_SCHEMA, at_risk, previous_p_alive
from patron.segments.rfm import PURCHASE_SCHEMA
from patron.segments.scoring import score_members, segment_rows

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def test_at_risk_rule() -> None:
    frame = pl.DataFrame(
        {
            "high": [True, True, True, True, True, False, True, True],
            "p_alive": [0.3, 0.3, 0.3, 0.5, 0.3, 0.1, None, 0.49],
            "previous": [None, 0.4, 0.2, None, 0.3, None, 0.9, 0.5],
        },
        schema={"high": pl.Boolean, "p_alive": pl.Float64, "previous": pl.Float64},
    )
    flags = frame.select(
        at_risk(pl.col("high"), pl.col("p_alive"), pl.col("previous"), threshold=Decimal("0.5"))
    )
    # first scoring counts as falling; rising or level is not falling; 0.5 is not below 0.5;
    # low value never; no P(alive) never
    assert flags.to_series().to_list() == [True, True, False, False, False, False, False, True]


def test_previous_p_alive_moves_on_a_new_day_and_stays_on_the_same_day() -> None:
    stored = pl.DataFrame(
        [
            (1, 0.8, 0.9, NOW - timedelta(days=1)),  # yesterday: 0.8 becomes the previous
            (2, 0.7, 0.95, NOW - timedelta(hours=2)),  # earlier today: keeps 0.95
            (3, None, None, NOW - timedelta(days=3)),
        ],
        schema=PREVIOUS_SCHEMA,
        orient="row",
    )
    assert previous_p_alive(stored, now=NOW).rows() == [(1, 0.8), (2, 0.95), (3, None)]


def test_rows_of_a_refresh() -> None:
    purchases = pl.DataFrame(
        [
            (1, NOW - timedelta(days=40), 90000),
            (1, NOW - timedelta(days=30), 10000),
            (2, NOW - timedelta(days=2), 500),
            (3, NOW - timedelta(days=5), 700),
        ],
        schema=PURCHASE_SCHEMA,
        orient="row",
    )
    lines = pl.DataFrame(schema={"member_id": pl.Int64, "category": pl.String, "amount": pl.Int64})
    settings = SegmentSettings()
    scores = score_members(purchases, lines, settings=settings, as_of=NOW)
    churn = pl.DataFrame(
        [(1, 0.25, 0.4, 12345), (2, 1.0, 2.5, 600)], schema=CHURN_SCHEMA, orient="row"
    )
    previous = pl.DataFrame(
        [(1, 0.35, None, NOW - timedelta(days=1))], schema=PREVIOUS_SCHEMA, orient="row"
    )
    rows = segment_rows(
        scores, churn, previous, settings=settings, program_id=9, currency="RUB", now=NOW
    )
    assert [(r["member_id"], r["is_high_value"], r["p_alive"], r["previous_p_alive"],
             r["clv"], r["is_at_risk"]) for r in rows] == [
        (1, True, 0.25, 0.35, 12345, True),  # top 20 %: ceil(0.6) = 1 member; 0.25 < 0.35
        (2, False, 1.0, None, 600, False),
        (3, False, None, None, None, False),  # no model score
    ]  # fmt: skip
    first = rows[0]
    assert (first["recency_days"], first["frequency"], first["monetary"]) == (30, 2, 100000)
    assert (first["program_id"], first["currency"], first["horizon_days"]) == (9, "RUB", 365)
    assert first["computed_at"] == NOW
