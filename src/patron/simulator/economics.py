"""What a point is worth: the money value of each reward of the catalogue per point, and the
mix of rewards members redeem.

A reward's money value (minor units) is its cost to the business when redeemed once:

- ``fixed_discount``, ``gift_certificate``, ``cashback``: its face value;
- ``percent_discount``: the percent of the average basket (lines subtotal) of the history's
  member purchases;
- ``free_shipping``: the average shipping of the member purchases that paid shipping;
- ``free_product``: the average unit price of the sku's lines in the history (0 when the
  history never sold it);
- ``exclusive_access``, ``partner_voucher``: 0 (no money leaves the program; a partner's
  voucher is settled with the partner).

Rewards that cost no points are left out. The value of a point is the weighted mean of
``value / cost_points`` over the rewards, the weights being each reward's share of the
points spent on rewards (coupons issued and not cancelled, when the database has them for
the catalogue's codes), else equal. Averages are exact fractions rounded half up to a minor
unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from patron.kit.money import format_amount
from patron.programs.schema import Program, RewardKind
from patron.rewards.catalogue import coupon_value
from patron.simulator.history import History

_FACE_VALUE = frozenset(
    {RewardKind.FIXED_DISCOUNT, RewardKind.GIFT_CERTIFICATE, RewardKind.CASHBACK}
)


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves away from zero (values here are never negative)."""
    return int((value * 2 + 1) // 2)


@dataclass(frozen=True, slots=True)
class RewardValue:
    code: str
    kind: RewardKind
    cost_points: int
    value: int  # minor units per redemption
    basis: str
    weight: Fraction

    @property
    def per_point(self) -> Fraction:
        return Fraction(self.value, self.cost_points)


def _mean(frame: pl.DataFrame, column: str) -> Fraction | None:
    if not frame.height:
        return None
    total = frame.select(pl.col(column).cast(pl.Int128).sum()).item()
    return Fraction(int(total), frame.height)


def _basket_value(program: Program, history: History, percent: int) -> tuple[int, str]:
    members = history.member_purchases.select("seq")
    lines = history.lines.join(members, on="seq", how="semi")
    baskets = lines.group_by("seq").agg(
        (pl.col("quantity").cast(pl.Int128) * pl.col("unit_price")).sum().alias("goods")
    )
    mean = _mean(baskets, "goods") or Fraction(0)
    basket = format_amount(round_half_up(mean), program.currency)
    basis = f"{percent}% of the average basket ({basket} {program.currency})"
    return round_half_up(mean * percent / 100), basis


def _value(program: Program, history: History, code: str) -> tuple[int, str]:
    """The money value of one redemption of reward ``code`` and how it was found."""
    reward = program.reward(code)
    assert reward is not None
    if reward.kind in _FACE_VALUE:
        return coupon_value(program, reward) or 0, "face value"
    if reward.kind is RewardKind.PERCENT_DISCOUNT:
        return _basket_value(program, history, int(reward.value or 0))
    if reward.kind is RewardKind.FREE_SHIPPING:
        shipping = _mean(history.member_purchases.filter(pl.col("shipping") > 0), "shipping")
        if shipping is None:
            return 0, "no shipping paid in the history"
        return round_half_up(shipping), "average shipping paid"
    if reward.kind is RewardKind.FREE_PRODUCT:
        price = _mean(history.lines.filter(pl.col("sku") == reward.sku), "unit_price")
        if price is None:
            return 0, f"sku {reward.sku} never sold in the history"
        return round_half_up(price), f"average price of sku {reward.sku}"
    return 0, "no money cost"


def reward_values(
    program: Program, history: History, spent: Mapping[str, int] | None = None
) -> list[RewardValue]:
    """The catalogue's rewards that cost points, valued (see the module docstring);
    ``spent``: points spent per reward code in the database (None or empty: equal weights)."""
    costly = [reward for reward in program.rewards if reward.cost_points > 0]
    known = {code: points for code, points in (spent or {}).items() if program.reward(code)}
    total = sum(known.get(reward.code, 0) for reward in costly)
    found: list[RewardValue] = []
    for reward in costly:
        value, basis = _value(program, history, reward.code)
        weight = Fraction(known.get(reward.code, 0), total) if total else Fraction(1, len(costly))
        found.append(
            RewardValue(reward.code, reward.kind, reward.cost_points, value, basis, weight)
        )
    return found


def value_per_point(values: list[RewardValue]) -> Fraction:
    """Minor units per point redeemed (0 for a catalogue without rewards that cost points)."""
    return sum((item.weight * item.per_point for item in values), Fraction(0))
