"""The order-level discount spread over the lines (``patron.rules.allocation``): exact values,
and the vectorised twin giving the same shares, ties included."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from patron.rules import LineContext, PurchaseContext
from patron.rules.allocation import allocate, order_discount, paid_amounts
from patron.rules.frame_inputs import prepare_lines, prepare_purchases

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("nets", "discount", "shares"),
    [
        ([10_000, 10_000, 10_000], 1, [1, 0, 0]),  # equal remainders: the earliest line
        ([10_000, 10_000, 10_000], 2, [1, 1, 0]),
        ([20_000, 10_000], 10_000, [6_667, 3_333]),  # the larger remainder takes the unit
        ([50_000, 70_000], 20_000, [8_333, 11_667]),
        ([30_000, 3_300], 3_300, [2_973, 327]),
        ([0, 500, 0], 500, [0, 500, 0]),  # a line worth nothing takes nothing
        ([1, 1, 1], 3, [1, 1, 1]),
        ([7, 0], 0, [0, 0]),
        ([0, 0], 0, [0, 0]),
        ([], 0, []),
    ],
)
def test_allocate_by_largest_remainder(nets: list[int], discount: int, shares: list[int]) -> None:
    assert allocate(nets, discount) == shares
    assert sum(shares) == discount


@pytest.mark.parametrize(
    ("nets", "shipping", "total", "discount"),
    [
        ([1_000, 2_000], 500, 3_500, 0),
        ([1_000, 2_000], 500, 3_000, 500),
        ([1_000, 2_000], 500, 500, 3_000),
        ([1_000, 2_000], 500, 0, 3_000),  # never out of the shipping
        ([1_000, 2_000], 500, 4_000, 0),  # a total above is no discount (refused upstream)
    ],
)
def test_order_discount(nets: list[int], shipping: int, total: int, discount: int) -> None:
    assert order_discount(nets, shipping, total) == discount


def _context(lines: list[tuple[int, int, int]], total: int, shipping: int = 0) -> PurchaseContext:
    return PurchaseContext(
        occurred_at=AT,
        lines=tuple(
            LineContext(sku=f"s{n}", category=None, quantity=q, unit_price=p, discount=d)
            for n, (q, p, d) in enumerate(lines)
        ),
        total=total,
        shipping=shipping,
    )


CASES = [
    ([(1, 10_000, 0), (1, 10_000, 0), (1, 10_000, 0)], 29_999, 0),
    ([(3, 10_000, 0), (1, 3_300, 0)], 30_000, 0),
    ([(1, 50_000, 0), (1, 90_000, 20_000)], 100_000, 0),
    ([(2, 999, 1), (5, 7, 35), (1, 0, 0), (3, 333, 0)], 2_000, 300),
    ([(1, 10_000, 10_000), (1, 5_000, 0)], 1_000, 0),
]


@pytest.mark.parametrize(("lines", "total", "shipping"), CASES)
def test_the_vectorised_spread_pays_each_line_the_same(
    lines: list[tuple[int, int, int]], total: int, shipping: int
) -> None:
    context = _context(lines, total, shipping)
    purchases = prepare_purchases(
        pl.DataFrame(
            {"purchase_id": [7], "occurred_at": [AT], "total": [total], "shipping": [shipping]}
        ),
        purchase_key="purchase_id",
        member_key="member_id",
    )
    frame = pl.DataFrame(
        {
            "purchase_id": [7] * len(lines),
            "sku": [f"s{n}" for n in range(len(lines))],
            "category": [None] * len(lines),
            "quantity": [q for q, _, _ in lines],
            "unit_price": [p for _, p, _ in lines],
            "discount": [d for _, _, d in lines],
        },
        schema_overrides={"category": pl.String},
    )
    paid = prepare_lines(frame, purchases, purchase_key="purchase_id")["amount"].to_list()
    assert paid == paid_amounts(context)


def test_a_line_discount_above_the_line_is_refused() -> None:
    with pytest.raises(ValueError, match="discount must be <= the line amount 200"):
        LineContext(sku="s", category=None, quantity=2, unit_price=100, discount=201)
