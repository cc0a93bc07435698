"""The compiled program both evaluators read: ratios, order, minor units and the cache."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.rules.compiled import _CACHE_SIZE, _cache, compile_program, ratio_of

from .helpers import make_program, seed_program


@pytest.mark.parametrize(
    ("value", "ratio"),
    [
        ("1.25", (5, 4)),
        ("2", (2, 1)),
        ("1.5000", (3, 2)),
        ("0.0001", (1, 10_000)),
        ("99.9999", (999_999, 10_000)),
    ],
)
def test_multipliers_become_reduced_ratios(value: str, ratio: tuple[int, int]) -> None:
    assert ratio_of(Decimal(value)) == ratio


def test_seed_program_compiles_to_exact_integers() -> None:
    compiled = compile_program(seed_program())
    assert [rule.rule.id for rule in compiled.rules] == [
        "coffee-double",
        "big-basket",
        "weekend-boost",
    ]
    assert (compiled.points, compiled.per_amount) == (100, 100_000)
    assert compiled.rules[1].when.total_gte == 1_000_000
    assert compiled.rules[2].when.weekdays == frozenset({5, 6})
    assert [rule.ratio for rule in compiled.rules] == [(2, 1), (1, 1), (3, 2)]
    assert [rule.bonus for rule in compiled.rules] == [0, 500, 0]
    assert {key: tier.ratio for key, tier in compiled.tiers.items()} == {
        "bronze": (1, 1),
        "silver": (5, 4),
        "gold": (3, 2),
    }
    assert compiled.tier("platinum") is None
    assert compiled.tier(None) is None


def test_money_thresholds_follow_the_currency() -> None:
    rule = {
        "id": "r",
        "name": "R",
        "when": {"order_total_gte": "1500", "order_total_lt": "9000"},
        "effect": {"bonus_points": 1},
    }
    yen = compile_program(make_program([rule], currency="JPY", per_amount="100"))
    assert (yen.per_amount, yen.rules[0].when.total_gte, yen.rules[0].when.total_lt) == (
        100,
        1500,
        9000,
    )
    dinar = compile_program(make_program([rule], currency="KWD", per_amount="0.250"))
    assert (dinar.per_amount, dinar.rules[0].when.total_gte) == (250, 1_500_000)


def test_priority_orders_rules_and_ties_keep_file_order() -> None:
    rules = [
        {"id": name, "name": name, "priority": priority, "effect": {"bonus_points": 1}}
        for name, priority in [("a", 0), ("b", 3), ("c", 0), ("d", -1), ("e", 3)]
    ]
    assert [rule.rule.id for rule in compile_program(make_program(rules)).rules] == [
        "b",
        "e",
        "a",
        "c",
        "d",
    ]


def test_cache_is_by_identity_and_bounded() -> None:
    program = seed_program()
    assert compile_program(program) is compile_program(program)
    twin = seed_program()
    assert compile_program(twin) is not compile_program(program)
    assert compile_program(twin).program is twin
    for _ in range(_CACHE_SIZE + 5):
        compile_program(seed_program())
    assert len(_cache) <= _CACHE_SIZE
