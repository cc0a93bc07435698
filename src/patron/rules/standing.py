"""The standing discount, pure: which of the program's standing discounts a member gets, and
how much it takes off, in integer minor units.

* **Which:** of the discounts whose audience holds the member, the one with the highest
  percent (ties: the first in the file). Standing discounts never add up with each other.
* **How much:** ``floor(goods_net x hundredths / 10000)``, ``goods_net`` being the goods
  less the lines' own discounts (shipping never), ``hundredths`` the percent in hundredths
  (``7.5`` % is 750). Rounded down once, so a member is never given a minor unit the percent
  does not cover, and the amount is never above ``goods_net``.
* **With coupons:** it comes first; the coupons' goods discounts are then capped at what is
  left of the goods (:func:`patron.rewards.discounts.apply_coupons` with ``already_off``), so
  the discounts together never exceed the goods and the total is never below the shipping
  due, nor negative.
* **In a recorded purchase** the shop's total already took it off: the purchase records
  ``min(entitled, order-level discount)`` (:func:`recorded`), the rest of the order-level
  discount being the coupons' or the till's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from patron.rules.vocabulary.audience import Code, Eligibility, MemberFacts, check_audience
from patron.rules.vocabulary.discounts import StandingDiscount

ROW_PREFIX = "discount:"
EFFECT = "percent_discount"


def amount_off(goods_net: int, hundredths: int) -> int:
    """``floor(goods_net x hundredths / 10000)``; 0 for no goods."""
    if goods_net < 0 or not 0 <= hundredths <= 10_000:
        raise ValueError("goods must not be negative and the percent is 0 to 100")
    return goods_net * hundredths // 10_000


def goods_due(goods: int, line_discounts: int, standing_off: int, coupons_off: int) -> int:
    """What the goods still cost at checkout: ``max(goods - line discounts - standing
    discount - coupons' goods discounts, 0)``. The quote's total is this plus the shipping
    due, so it is never below the shipping, nor negative."""
    return max(goods - line_discounts - standing_off - coupons_off, 0)


def recorded(entitled: int, order_discount: int) -> int:
    """What a recorded purchase shows as given: the entitlement, at most the order-level
    discount its total took off."""
    return max(0, min(entitled, order_discount))


@dataclass(frozen=True, slots=True)
class DiscountCheck:
    discount: StandingDiscount
    eligibility: Eligibility


@dataclass(frozen=True, slots=True)
class Choice:
    """``chosen``: the discount the member gets (``None``: none); ``checks``: every standing
    discount with the member's eligibility, in file order."""

    chosen: StandingDiscount | None
    checks: tuple[DiscountCheck, ...]


def choose(discounts: Sequence[StandingDiscount], facts: MemberFacts | None) -> Choice:
    """Standing discounts are for members only: without one, each says ``no_member``."""
    checks = tuple(
        DiscountCheck(
            d,
            check_audience(d.audience, facts)
            if facts is not None
            else Eligibility(False, Code.NO_MEMBER),
        )
        for d in discounts
    )
    chosen: StandingDiscount | None = None
    for check in checks:
        if check.eligibility.eligible and (
            chosen is None or check.discount.hundredths > chosen.hundredths
        ):
            chosen = check.discount
    return Choice(chosen, checks)
