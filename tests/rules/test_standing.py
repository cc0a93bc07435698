"""The standing discount, pure (issue 12 part 4): which discount a member gets, its exact
rounding in minor units, and how it stacks with coupons (never a negative total)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.programs.schema import RewardKind
from patron.rewards.discounts import Cart, CartLine, apply_coupons
from patron.rules.allocation import order_discount
from patron.rules.standing import amount_off, choose, goods_due, recorded
from patron.rules.vocabulary.audience import Code, MemberFacts, check_audience
from patron.rules.vocabulary.discounts import StandingDiscount

K = RewardKind


def discount(key: str, percent: str, **audience: list[str]) -> StandingDiscount:
    return StandingDiscount.model_validate(
        {"key": key, "name": {"en": key}, "percent": percent, "audience": audience}
    )


GOLD = discount("gold", "5", tiers=["gold"])
VIP = discount("vip", "10", flags=["vip"])
CHAMPIONS = discount("champions", "7.5", segments=["champions"])
EVERYONE = discount("everyone", "2.5")
ALL = [GOLD, VIP, CHAMPIONS, EVERYONE]


@pytest.mark.parametrize(
    ("goods", "percent", "expected"),
    [
        (120000, "10", 12000),  # 1,200.00 at 10 % = 120.00
        (99999, "10", 9999),  # 999.99 -> 99.999 -> 99.99 (down)
        (1, "99.99", 0),  # a kopeck: 0.9999 of a kopeck is nothing
        (133, "7.5", 9),  # 1.33 at 7.5 % = 0.09975 -> 0.09
        (100000, "100", 100000),  # all of it, never more
        (0, "50", 0),
        (12345678901, "33.33", 4114814777),  # 41148147777033 // 10000
    ],
)
def test_amount_off_is_rounded_down_once_in_minor_units(
    goods: int, percent: str, expected: int
) -> None:
    assert amount_off(goods, discount("d", percent).hundredths) == expected


def test_the_highest_percent_of_the_audiences_the_member_is_in_applies_alone() -> None:
    gold_vip = MemberFacts(tier_id="gold", flags=frozenset({"vip"}))
    assert choose(ALL, gold_vip).chosen is VIP
    gold_champion = MemberFacts(tier_id="gold", segments=frozenset({"champions"}))
    assert choose(ALL, gold_champion).chosen is CHAMPIONS
    assert choose(ALL, MemberFacts(tier_id="silver")).chosen is EVERYONE
    assert choose([GOLD], MemberFacts(tier_id="silver")).chosen is None
    # ties: the first in the file
    twin = discount("twin", "10", tiers=["gold"])
    assert choose([VIP, twin], gold_vip).chosen is VIP
    # no member, no discount: every discount says why
    nobody = choose(ALL, None)
    assert nobody.chosen is None
    assert {check.eligibility.code for check in nobody.checks} == {Code.NO_MEMBER}


def test_each_audience_says_why_with_a_stable_code_and_params() -> None:
    silver = MemberFacts(tier_id="silver", segments=frozenset({"loyal", "high_value"}))
    assert check_audience(GOLD.audience, silver).to_dict() == {
        "eligible": False,
        "code": "tier_not_in_audience",
        "params": {"tiers": ["gold"], "tier": "silver"},
    }
    assert check_audience(CHAMPIONS.audience, silver).to_dict() == {
        "eligible": False,
        "code": "segment_not_in_audience",
        "params": {"segments": ["champions"], "member_segments": ["high_value", "loyal"]},
    }
    assert check_audience(VIP.audience, silver).to_dict() == {
        "eligible": False,
        "code": "flag_missing",
        "params": {"flags": ["vip"], "missing": ["vip"]},
    }
    both = discount("both", "1", tiers=["gold", "silver"], segments=["high_value"])
    assert check_audience(both.audience, silver).to_dict() == {
        "eligible": True,
        "code": "in_audience",
        "params": {"tier": "silver", "segments": ["high_value"]},
    }
    assert check_audience(EVERYONE.audience, silver).code == "everyone"


def test_only_a_json_true_attribute_is_a_flag() -> None:
    from patron.rules.vocabulary.audience import flags_of

    assert flags_of({"vip": True, "staff": "true", "beta": 1, "gone": False}) == {"vip"}
    assert flags_of(None) == frozenset()


@dataclass(frozen=True)
class Coupon:
    code: str
    kind: RewardKind
    value: int | None = None
    sku: str | None = None


LINES = st.lists(
    st.tuples(
        st.integers(1, 5),  # quantity
        st.integers(0, 10**7),  # unit price, minor units
        st.integers(0, 100),  # the line's own discount, in % of the line
    ),
    min_size=1,
    max_size=6,
)
COUPONS = st.lists(
    st.one_of(
        st.builds(Coupon, st.just("P"), st.just(K.PERCENT_DISCOUNT), st.integers(1, 100)),
        st.builds(Coupon, st.just("F"), st.just(K.FIXED_DISCOUNT), st.integers(0, 10**8)),
        st.builds(Coupon, st.just("G"), st.just(K.GIFT_CERTIFICATE), st.integers(0, 10**8)),
        st.builds(Coupon, st.just("S"), st.just(K.FREE_SHIPPING)),
        st.builds(Coupon, st.just("B"), st.just(K.FREE_PRODUCT), st.none(), st.just("sku-0")),
    ),
    max_size=4,
)


@given(
    lines=LINES,
    hundredths=st.integers(1, 10_000),
    coupons=COUPONS,
    shipping=st.integers(0, 10**6),
)
def test_stacked_with_coupons_the_total_is_exact_and_never_negative(
    lines: list[tuple[int, int, int]], hundredths: int, coupons: list[Coupon], shipping: int
) -> None:
    """The checkout's arithmetic, as the quote runs it: the standing discount first, on the
    goods less the lines' own discounts, then the coupons capped at what it left."""
    coupons = [Coupon(f"{c.code}{i}", c.kind, c.value, c.sku) for i, c in enumerate(coupons)]
    cart = Cart(
        lines=tuple(CartLine(f"sku-{i}", q, p) for i, (q, p, _) in enumerate(lines)),
        shipping=shipping,
    )
    own = [q * p * share // 100 for q, p, share in lines]
    nets = [q * p - d for (q, p, _), d in zip(lines, own, strict=True)]
    goods_net = sum(nets)
    standing = amount_off(goods_net, hundredths)
    # exact: the floor of the rational amount, never above the goods
    assert standing == floor(Fraction(goods_net * hundredths, 10_000))
    assert 0 <= standing <= goods_net
    assert goods_net * hundredths - standing * 10_000 < 10_000  # less than one minor unit lost
    applied = apply_coupons(cart, coupons, already_off=standing)
    assert 0 <= applied.goods_discount <= cart.goods - standing
    shipping_due = shipping - applied.shipping_discount
    due = goods_due(cart.goods, sum(own), standing, applied.goods_discount)
    total = due + shipping_due
    assert due >= 0
    assert total >= shipping_due >= 0
    # the discount never raises the price: without it the goods cost at least as much
    without = apply_coupons(cart, coupons)
    assert total <= goods_due(cart.goods, sum(own), 0, without.goods_discount) + shipping_due
    # a purchase recorded at this total shows the whole standing discount as given
    assert recorded(standing, order_discount(nets, shipping_due, total)) == standing


def test_percent_is_checked_by_the_program_file_model() -> None:
    from pydantic import ValidationError

    for bad in ("0", "100.01", "7.555", "-1"):
        with pytest.raises(ValidationError):
            discount("d", bad)
    assert discount("d", "7.50").hundredths == 750
    assert discount("d", "100").percent == Decimal(100)
