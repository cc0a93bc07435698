"""Pure checkout arithmetic: which discounts a set of coupons gives on a cart.

Exact integers in minor units, no I/O, no clock (check validity with the service first).

- ``percent_discount``: ``floor(goods × percent / 100)``, ``goods`` being the cart's subtotal
  of lines (shipping excluded).
- ``fixed_discount``, ``gift_certificate``: ``min(value, goods)``.
- ``free_shipping``: the cart's shipping.
- ``free_product``: one unit of the coupon's sku, at the lowest unit price among the cart's
  lines of that sku; nothing when the sku is not in the cart.
- ``cashback``, ``exclusive_access``, ``partner_voucher``: no checkout discount; reported with
  amount 0 and the note ``not_a_checkout_discount``.

Several coupons stack in a fixed order: free products, then percentages, then fixed amounts,
then gift certificates, then free shipping (the input order breaks ties). Every percentage
is taken of the full subtotal, but the goods discounts together never exceed the subtotal:
a discount that would is cut down to what is left (note ``capped``). Free shipping is given
once; a second one gives 0. A code that appears twice counts once.

A member's standing discount (:mod:`patron.rules.standing`) comes before every coupon:
``apply_coupons(cart, coupons, already_off=D)`` starts with ``D`` of the subtotal already
taken, so the coupons are capped at what it left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from patron.programs.schema import RewardKind


class CouponTerms(Protocol):
    """What the arithmetic needs of a coupon (:class:`~patron.rewards.schemas.CouponView`)."""

    @property
    def code(self) -> str: ...
    @property
    def kind(self) -> RewardKind: ...
    @property
    def value(self) -> int | None: ...
    @property
    def sku(self) -> str | None: ...


class DiscountTarget(StrEnum):
    GOODS = "goods"
    SHIPPING = "shipping"
    NONE = "none"


class DiscountNote(StrEnum):
    NONE = ""
    CAPPED = "capped"  # cut down so that the goods discounts do not exceed the subtotal
    NOT_A_CHECKOUT_DISCOUNT = "not_a_checkout_discount"
    SKU_NOT_IN_CART = "sku_not_in_cart"
    SHIPPING_ALREADY_FREE = "shipping_already_free"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: int  # minor units

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError("a cart line's quantity must be positive")
        if self.unit_price < 0:
            raise ValueError("a cart line's unit price must not be negative")


@dataclass(frozen=True, slots=True)
class Cart:
    lines: tuple[CartLine, ...]
    shipping: int = 0  # minor units

    def __post_init__(self) -> None:
        if self.shipping < 0:
            raise ValueError("shipping must not be negative")

    @property
    def goods(self) -> int:
        return sum(line.quantity * line.unit_price for line in self.lines)


@dataclass(frozen=True, slots=True)
class Discount:
    code: str
    kind: RewardKind
    target: DiscountTarget
    amount: int  # minor units, >= 0
    note: DiscountNote = DiscountNote.NONE


@dataclass(frozen=True, slots=True)
class CartDiscounts:
    goods: int
    shipping: int
    discounts: tuple[Discount, ...]

    @property
    def goods_discount(self) -> int:
        return sum(d.amount for d in self.discounts if d.target is DiscountTarget.GOODS)

    @property
    def shipping_discount(self) -> int:
        return sum(d.amount for d in self.discounts if d.target is DiscountTarget.SHIPPING)

    @property
    def total_discount(self) -> int:
        return self.goods_discount + self.shipping_discount

    @property
    def total_due(self) -> int:
        return self.goods + self.shipping - self.total_discount


_ORDER: dict[RewardKind, int] = {
    RewardKind.FREE_PRODUCT: 0,
    RewardKind.PERCENT_DISCOUNT: 1,
    RewardKind.FIXED_DISCOUNT: 2,
    RewardKind.GIFT_CERTIFICATE: 3,
    RewardKind.FREE_SHIPPING: 4,
}
_NO_CHECKOUT_DISCOUNT = frozenset(
    {RewardKind.CASHBACK, RewardKind.EXCLUSIVE_ACCESS, RewardKind.PARTNER_VOUCHER}
)


class _Till:
    """What is left to discount while coupons are applied one by one."""

    def __init__(self, cart: Cart, already_off: int = 0) -> None:
        self.cart = cart
        self.goods_left = max(cart.goods - already_off, 0)
        self.shipping_given = False
        self.units_left = [line.quantity for line in cart.lines]

    def goods_discount(self, coupon: CouponTerms, wanted: int) -> Discount:
        amount = min(wanted, self.goods_left)
        self.goods_left -= amount
        note = DiscountNote.CAPPED if amount < wanted else DiscountNote.NONE
        return Discount(coupon.code, coupon.kind, DiscountTarget.GOODS, amount, note)

    def free_unit_price(self, sku: str | None) -> int | None:
        """Take the cheapest unit of ``sku`` still undiscounted; its price, or None."""
        candidates = [
            (line.unit_price, index)
            for index, line in enumerate(self.cart.lines)
            if line.sku == sku and self.units_left[index] > 0
        ]
        if not candidates:
            return None
        price, index = min(candidates)
        self.units_left[index] -= 1
        return price

    def apply(self, coupon: CouponTerms) -> Discount:
        kind = coupon.kind
        if kind in _NO_CHECKOUT_DISCOUNT:
            return _nothing(coupon, DiscountTarget.NONE, DiscountNote.NOT_A_CHECKOUT_DISCOUNT)
        if kind is RewardKind.FREE_SHIPPING:
            if self.shipping_given:
                return _nothing(coupon, DiscountTarget.SHIPPING, DiscountNote.SHIPPING_ALREADY_FREE)
            self.shipping_given = True
            return Discount(coupon.code, kind, DiscountTarget.SHIPPING, self.cart.shipping)
        if kind is RewardKind.FREE_PRODUCT:
            price = self.free_unit_price(coupon.sku)
            if price is None:
                return _nothing(coupon, DiscountTarget.GOODS, DiscountNote.SKU_NOT_IN_CART)
            return self.goods_discount(coupon, price)
        value = _required_value(coupon)
        if kind is RewardKind.PERCENT_DISCOUNT:
            return self.goods_discount(coupon, self.cart.goods * value // 100)
        return self.goods_discount(coupon, min(value, self.cart.goods))


def _nothing(coupon: CouponTerms, target: DiscountTarget, note: DiscountNote) -> Discount:
    return Discount(coupon.code, coupon.kind, target, 0, note)


def _required_value(coupon: CouponTerms) -> int:
    if coupon.value is None or coupon.value < 0:
        raise ValueError(f"coupon {coupon.code!r} of kind {coupon.kind.value} needs a value")
    if coupon.kind is RewardKind.PERCENT_DISCOUNT and coupon.value > 100:
        raise ValueError(f"coupon {coupon.code!r}: a percentage is at most 100")
    return coupon.value


def checkout_order(coupons: Iterable[CouponTerms]) -> list[CouponTerms]:
    """The coupons in the order they are applied (see the module docstring)."""
    return sorted(coupons, key=lambda coupon: _ORDER.get(coupon.kind, len(_ORDER)))


def apply_coupons(
    cart: Cart, coupons: Sequence[CouponTerms], *, already_off: int = 0
) -> CartDiscounts:
    """The discount of each coupon on ``cart``, in the order they were applied, after
    ``already_off`` of the subtotal was taken by the member's standing discount."""
    if already_off < 0:
        raise ValueError("already_off must not be negative")
    till = _Till(cart, already_off)
    seen: set[str] = set()
    discounts: list[Discount] = []
    for coupon in checkout_order(coupons):
        if coupon.code in seen:
            discounts.append(_nothing(coupon, DiscountTarget.NONE, DiscountNote.DUPLICATE))
            continue
        seen.add(coupon.code)
        discounts.append(till.apply(coupon))
    return CartDiscounts(goods=cart.goods, shipping=cart.shipping, discounts=tuple(discounts))
