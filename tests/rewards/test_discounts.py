"""The pure checkout arithmetic: exact integers, table-driven, plus invariants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.programs.schema import RewardKind
from patron.rewards.discounts import (
    Cart,
    CartLine,
    DiscountNote,
    DiscountTarget,
    apply_coupons,
)

K = RewardKind
N = DiscountNote
T = DiscountTarget


@dataclass(frozen=True)
class C:
    code: str
    kind: RewardKind
    value: int | None = None
    sku: str | None = None


# Goods 160000 (two bags of coffee at 450.00, one tea at 700.00), shipping 299.00.
CART = Cart(
    lines=(CartLine("COFFEE-250", 2, 45000), CartLine("TEA", 1, 70000)),
    shipping=29900,
)

SINGLE = [
    # (coupon, expected target, amount, note)
    (C("P10", K.PERCENT_DISCOUNT, 10), T.GOODS, 16000, N.NONE),
    (C("P100", K.PERCENT_DISCOUNT, 100), T.GOODS, 160000, N.NONE),
    (C("F200", K.FIXED_DISCOUNT, 20000), T.GOODS, 20000, N.NONE),
    (C("F5000", K.FIXED_DISCOUNT, 500000), T.GOODS, 160000, N.NONE),
    (C("G500", K.GIFT_CERTIFICATE, 50000), T.GOODS, 50000, N.NONE),
    (C("G9999", K.GIFT_CERTIFICATE, 999900), T.GOODS, 160000, N.NONE),
    (C("SHIP", K.FREE_SHIPPING), T.SHIPPING, 29900, N.NONE),
    (C("BAG", K.FREE_PRODUCT, sku="COFFEE-250"), T.GOODS, 45000, N.NONE),
    (C("MUG", K.FREE_PRODUCT, sku="MUG"), T.GOODS, 0, N.SKU_NOT_IN_CART),
    (C("BACK", K.CASHBACK, 30000), T.NONE, 0, N.NOT_A_CHECKOUT_DISCOUNT),
    (C("VIP", K.EXCLUSIVE_ACCESS), T.NONE, 0, N.NOT_A_CHECKOUT_DISCOUNT),
    (C("PART", K.PARTNER_VOUCHER), T.NONE, 0, N.NOT_A_CHECKOUT_DISCOUNT),
]


@pytest.mark.parametrize(("coupon", "target", "amount", "note"), SINGLE)
def test_one_coupon(coupon: C, target: DiscountTarget, amount: int, note: DiscountNote) -> None:
    result = apply_coupons(CART, [coupon])
    (discount,) = result.discounts
    assert (discount.code, discount.kind, discount.target, discount.amount, discount.note) == (
        coupon.code,
        coupon.kind,
        target,
        amount,
        note,
    )
    assert result.total_due == 160000 + 29900 - amount


@pytest.mark.parametrize(
    ("goods", "percent", "expected"),
    [(99999, 15, 14999), (99999, 1, 999), (1, 99, 0), (199, 50, 99), (0, 10, 0)],
)
def test_percent_rounds_down(goods: int, percent: int, expected: int) -> None:
    cart = Cart(lines=(CartLine("X", 1, goods),))
    assert apply_coupons(cart, [C("P", K.PERCENT_DISCOUNT, percent)]).goods_discount == expected


def test_free_product_is_the_cheapest_unit_of_the_sku() -> None:
    cart = Cart(lines=(CartLine("BAG", 1, 52000), CartLine("BAG", 3, 45000)))
    assert apply_coupons(cart, [C("B", K.FREE_PRODUCT, sku="BAG")]).goods_discount == 45000


STACKS = [
    # (coupons in the order given, expected (code, amount, note) in the order applied)
    (
        [C("F200", K.FIXED_DISCOUNT, 20000), C("P10", K.PERCENT_DISCOUNT, 10)],
        [("P10", 16000, N.NONE), ("F200", 20000, N.NONE)],
    ),
    (
        [C("F1500", K.FIXED_DISCOUNT, 150000), C("G500", K.GIFT_CERTIFICATE, 50000)],
        [("F1500", 150000, N.NONE), ("G500", 10000, N.CAPPED)],
    ),
    (
        [C("P100", K.PERCENT_DISCOUNT, 100), C("BAG", K.FREE_PRODUCT, sku="COFFEE-250")],
        [("BAG", 45000, N.NONE), ("P100", 115000, N.CAPPED)],
    ),
    (
        [C("S1", K.FREE_SHIPPING), C("S2", K.FREE_SHIPPING)],
        [("S1", 29900, N.NONE), ("S2", 0, N.SHIPPING_ALREADY_FREE)],
    ),
    (
        [C("P10", K.PERCENT_DISCOUNT, 10), C("P10", K.PERCENT_DISCOUNT, 10)],
        [("P10", 16000, N.NONE), ("P10", 0, N.DUPLICATE)],
    ),
    (
        [
            C("B1", K.FREE_PRODUCT, sku="COFFEE-250"),
            C("B2", K.FREE_PRODUCT, sku="COFFEE-250"),
            C("B3", K.FREE_PRODUCT, sku="COFFEE-250"),
        ],
        [("B1", 45000, N.NONE), ("B2", 45000, N.NONE), ("B3", 0, N.SKU_NOT_IN_CART)],
    ),
    (
        [
            C("SHIP", K.FREE_SHIPPING),
            C("BACK", K.CASHBACK, 100),
            C("F200", K.FIXED_DISCOUNT, 20000),
            C("BAG", K.FREE_PRODUCT, sku="TEA"),
        ],
        [
            ("BAG", 70000, N.NONE),
            ("F200", 20000, N.NONE),
            ("SHIP", 29900, N.NONE),
            ("BACK", 0, N.NOT_A_CHECKOUT_DISCOUNT),
        ],
    ),
]


@pytest.mark.parametrize(("coupons", "expected"), STACKS)
def test_stacked_coupons(coupons: list[C], expected: list[tuple[str, int, DiscountNote]]) -> None:
    result = apply_coupons(CART, coupons)
    assert [(d.code, d.amount, d.note) for d in result.discounts] == expected


def test_totals_of_a_stack() -> None:
    result = apply_coupons(
        CART,
        [
            C("P10", K.PERCENT_DISCOUNT, 10),
            C("F200", K.FIXED_DISCOUNT, 20000),
            C("S", K.FREE_SHIPPING),
        ],
    )
    assert (result.goods, result.shipping) == (160000, 29900)
    assert (result.goods_discount, result.shipping_discount, result.total_discount) == (
        36000,
        29900,
        65900,
    )
    assert result.total_due == 124000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CartLine("X", 0, 100), "quantity"),
        (lambda: CartLine("X", 1, -1), "unit price"),
        (lambda: Cart(lines=(), shipping=-1), "shipping"),
        (lambda: apply_coupons(CART, [C("P", K.PERCENT_DISCOUNT)]), "needs a value"),
        (lambda: apply_coupons(CART, [C("P", K.PERCENT_DISCOUNT, 101)]), "at most 100"),
        (lambda: apply_coupons(CART, [C("F", K.FIXED_DISCOUNT, None)]), "needs a value"),
    ],
)
def test_invalid_input_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


_KINDS = st.sampled_from(list(RewardKind))
_COUPONS = st.lists(
    st.builds(
        C,
        code=st.sampled_from(["A", "B", "C", "D", "E"]),
        kind=_KINDS,
        value=st.integers(min_value=1, max_value=100),
        sku=st.sampled_from(["X", "Y", "Z"]),
    ),
    max_size=6,
)
_CARTS = st.builds(
    Cart,
    lines=st.lists(
        st.builds(
            CartLine,
            sku=st.sampled_from(["X", "Y"]),
            quantity=st.integers(min_value=1, max_value=5),
            unit_price=st.integers(min_value=0, max_value=1_000_000),
        ),
        max_size=4,
    ).map(tuple),
    shipping=st.integers(min_value=0, max_value=100_000),
)


@given(cart=_CARTS, coupons=_COUPONS)
def test_discounts_never_exceed_what_the_cart_costs(cart: Cart, coupons: list[C]) -> None:
    result = apply_coupons(cart, coupons)
    assert len(result.discounts) == len(coupons)
    assert all(d.amount >= 0 for d in result.discounts)
    assert result.goods_discount <= cart.goods
    assert result.shipping_discount <= cart.shipping
    assert 0 <= result.total_due <= cart.goods + cart.shipping
