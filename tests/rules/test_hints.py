"""'Why not' hints: exact missing amounts and the items that would qualify."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from patron.rules import EffectType, Hint, HintKind, evaluate, hints

from .helpers import line, make_program, purchase, seed_program

SEED = seed_program()
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_spend_more_for_big_basket_excludes_shipping() -> None:
    context = purchase(TUESDAY, line("coffee", 50_000), line("tea", 70_000), shipping=30_000)
    assert hints(SEED, context) == [
        Hint(
            HintKind.SPEND_MORE,
            "big-basket",
            "Big basket bonus",
            EffectType.BONUS_POINTS,
            500,
            missing_amount=880_000,
        )
    ]


def test_add_a_coffee_item_and_spend_more() -> None:
    context = purchase(TUESDAY, line("tea", 999_999))
    found = hints(SEED, context)
    assert [hint.to_dict() for hint in found] == [
        {
            "kind": "add_item",
            "rule_id": "coffee-double",
            "rule_name": "Double points on coffee",
            "effect": "multiply_lines",
            "value": "2",
            "missing_amount": None,
            "categories": ["coffee"],
            "skus": [],
        },
        {
            "kind": "spend_more",
            "rule_id": "big-basket",
            "rule_name": "Big basket bonus",
            "effect": "bonus_points",
            "value": "500",
            "missing_amount": 1,
            "categories": [],
            "skus": [],
        },
    ]


def test_no_hint_when_the_rule_applies_or_fails_on_something_else() -> None:
    # Weekend boost fails on the weekday (not the customer's to change at the till): no hint.
    context = purchase(TUESDAY, line("coffee", 1_000_000))
    assert hints(SEED, context) == []


def test_no_hint_for_rules_that_are_used_up_or_stopped() -> None:
    program = make_program(
        [
            {
                "id": "stop",
                "name": "Stop",
                "when": {"channel_in": ["web"]},
                "effect": {"bonus_points": 1},
                "stop_after": True,
                "priority": 9,
            },
            {
                "id": "used",
                "name": "Used",
                "when": {"order_total_gte": "50.00"},
                "effect": {"bonus_points": 1},
                "limit": {"per_member": 2, "period": "month"},
            },
            {
                "id": "sku",
                "name": "Sku",
                "when": {"line_sku_in": ["x", "y"], "order_total_gte": "1.00"},
                "effect": {"multiply_order": "1.5"},
            },
        ]
    )
    context = purchase(TUESDAY, line("tea", 1_000), channel="pos", rule_usage={"used": 2})
    assert hints(program, context) == [
        Hint(
            HintKind.ADD_ITEM,
            "sku",
            "Sku",
            EffectType.MULTIPLY_ORDER,
            value=Decimal("1.5"),
            skus=("x", "y"),
        )
    ]
    stopped = purchase(TUESDAY, line("tea", 1_000), channel="web")
    assert hints(program, stopped) == []


def test_hints_reuse_a_given_evaluation() -> None:
    context = purchase(TUESDAY, line("tea", 10_000))
    evaluation = evaluate(SEED, context)
    assert hints(SEED, context, evaluation) == hints(SEED, context)
    assert hints(SEED, context)[1].missing_amount == 990_000
