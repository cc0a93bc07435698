"""High-value customers, regular buyers and category lovers on small frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from patron.programs.segmentation import RegularBuyers
from patron.segments.groups import LINE_SCHEMA, category_lovers, high_value, regular_buyers
from patron.segments.rfm import PURCHASE_SCHEMA

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("monetary", "share", "expected"),
    [
        ([500, 100, 300, 200, 400], "0.2", [True, False, False, False, False]),
        ([500, 100, 300, 200, 400], "0.4", [True, False, False, False, True]),
        # ceil(0.2 x 6) = 2: cut-off 400, shared by two members: all three are in
        ([500, 400, 400, 100, 200, 300], "0.2", [True, True, True, False, False, False]),
        ([0, 0, 0], "0.5", [False, False, False]),  # nothing spent is never high value
        ([7], "0.01", [True]),
        ([], "0.2", []),
    ],
)
def test_high_value(monetary: list[int], share: str, expected: list[bool]) -> None:
    flags = high_value(pl.Series("monetary", monetary, dtype=pl.Int64), share=Decimal(share))
    assert flags.to_list() == expected
    assert flags.name == "is_high_value"


def purchases(days_by_member: dict[int, list[float]]) -> pl.DataFrame:
    rows = [
        (member, AS_OF - timedelta(days=day), 100)
        for member, days in days_by_member.items()
        for day in days
    ]
    return pl.DataFrame(rows, schema=PURCHASE_SCHEMA, orient="row")


def test_regular_buyers() -> None:
    frame = purchases(
        {
            1: [1, 11, 21],  # intervals 10, 10: cv 0
            2: [1, 6, 21],  # intervals 15, 5: mean 10, deviation 5, cv 0.5 (the limit)
            3: [1, 3, 21],  # intervals 18, 2: cv 0.8
            4: [1, 11],  # two purchases only
            5: [1, 71, 141],  # mean interval 70 days > 60
            6: [2, 2, 2],  # all at one moment: mean interval 0
            7: [1, 61, 121],  # mean exactly 60
        }
    )
    result = regular_buyers(frame, RegularBuyers())
    assert result.rows() == [
        (1, True), (2, True), (3, False), (4, False), (5, False), (6, False), (7, True)
    ]  # fmt: skip


def test_regular_buyers_with_another_rule() -> None:
    frame = purchases({1: [1, 11], 2: [1, 3, 21]})
    rule = RegularBuyers(min_purchases=2, max_mean_interval_days=10, max_interval_variation=1)
    assert regular_buyers(frame, rule).rows() == [(1, True), (2, True)]


def test_category_lovers() -> None:
    lines = pl.DataFrame(
        [
            (1, "coffee", 600), (1, "tea", 300), (1, None, 100),  # coffee 0.6
            (2, "coffee", 250), (2, "tea", 250),  # tie: coffee (alphabetical), 0.5
            (3, "tea", 499), (3, "cakes", 1), (3, None, 500),  # tea 0.499: not a lover
            (4, None, 800),  # no category at all
            (5, "tea", 0),  # nothing spent: no row
        ],
        schema=LINE_SCHEMA,
        orient="row",
    )  # fmt: skip
    result = category_lovers(lines, share=Decimal("0.5"))
    assert result.rows() == [
        (1, "coffee", 0.6, True),
        (2, "coffee", 0.5, True),
        (3, "tea", 0.499, False),
        (4, None, None, False),
    ]
