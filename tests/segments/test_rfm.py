"""RFM values and quintile scores on small frames, worked out by hand (see docs/segments.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from patron.programs.segmentation import SegmentSettings
from patron.segments.rfm import PURCHASE_SCHEMA, quintile_scores, rfm, rfm_values

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GRID = SegmentSettings().segment_of()


def frame(rows: list[tuple[int, timedelta, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(member, AS_OF - ago, total) for member, ago, total in rows],
        schema=PURCHASE_SCHEMA,
        orient="row",
    )


def scores(values: list[int]) -> list[int]:
    return quintile_scores(pl.Series("value", values)).to_list()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        ([7], [3]),  # p = 1/2
        ([1, 2], [2, 4]),  # p = 1/4, 3/4
        ([10, 20, 30, 40, 50], [1, 2, 3, 4, 5]),
        ([50, 10, 40, 20, 30], [5, 1, 4, 2, 3]),  # order of rows does not matter
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        ([4, 4, 4, 4], [3, 3, 3, 3]),  # all tied: ranks 1-4, p = (2.5 - 0.5) / 4
        ([1, 1, 1, 2], [2, 2, 2, 5]),  # 5 (1 + 3 - 1) // 8 + 1 = 2; 5 (4 + 4 - 1) // 8 + 1 = 5
        # ten values, ties: ranks 1-3 -> 5*3//20+1 = 1; 4-5 -> 5*8//20+1 = 3; 6-7 -> 4;
        # 8 -> 5*15//20+1 = 4; 9 -> 5; 10 -> 5
        ([6, 1, 4, 3, 5, 2, 2, 1, 3, 1], [5, 1, 4, 4, 5, 3, 3, 1, 4, 1]),
    ],
)
def test_quintile_scores(values: list[int], expected: list[int]) -> None:
    assert scores(values) == expected


def test_ties_share_a_score_whatever_the_member_ids() -> None:
    forward = rfm(frame([(1, timedelta(days=5), 100), (2, timedelta(days=5), 100)]),
                  as_of=AS_OF, segment_of=GRID)  # fmt: skip
    backward = rfm(frame([(2, timedelta(days=5), 100), (1, timedelta(days=5), 100)]),
                   as_of=AS_OF, segment_of=GRID)  # fmt: skip
    assert forward.equals(backward)
    assert forward.get_column("recency_score").to_list() == [3, 3]


def test_values_recency_in_whole_days_frequency_monetary() -> None:
    purchases = frame(
        [
            (2, timedelta(days=3, hours=23), 1500),
            (1, timedelta(hours=1), 1000),
            (1, timedelta(days=10), 250),
            (1, timedelta(days=1), 0),  # fully refunded: not a purchase
            (3, timedelta(days=-1), 999),  # after as_of: left out
        ]
    )
    values = rfm_values(purchases, as_of=AS_OF)
    assert values.rows() == [(1, 0, 2, 1250), (2, 3, 1, 1500)]


def test_scores_and_segments_of_five_members() -> None:
    # recency 0, 3, 8, 30, 90 days -> R 5, 4, 3, 2, 1 (fewer days score higher)
    # frequency 1, 4, 2, 2, 6 -> ranks 1, 4, 2-3, 2-3, 5 -> F 1, 4, 3, 3, 5
    # monetary 100, 400, 300, 200, 600 -> M 1, 4, 3, 2, 5
    rows: list[tuple[int, timedelta, int]] = [(1, timedelta(hours=2), 100)]
    rows += [(2, timedelta(days=3 + k), 100) for k in range(4)]
    rows += [(3, timedelta(days=8 + k), 150) for k in range(2)]
    rows += [(4, timedelta(days=30 + k), 100) for k in range(2)]
    rows += [(5, timedelta(days=90 + k), 100) for k in range(6)]
    scored = rfm(frame(rows), as_of=AS_OF, segment_of=GRID)
    assert scored.select(
        "member_id", "recency_score", "frequency_score", "monetary_score", "rfm_segment"
    ).rows() == [
        (1, 5, 1, 1, "new"),
        (2, 4, 4, 4, "loyal"),
        (3, 3, 3, 3, "need_attention"),
        (4, 2, 3, 2, "at_risk"),
        (5, 1, 5, 5, "cant_lose"),
    ]


def test_no_purchases_no_rows() -> None:
    assert rfm(frame([]), as_of=AS_OF, segment_of=GRID).height == 0
