"""Exact cases of the per-event evaluator, from the seed program's header and its rules."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from patron.programs.schema import Program
from patron.rules import Evaluation, LineContext, Outcome, PurchaseContext, evaluate

from .helpers import line, make_program, purchase, seed_program

SEED = seed_program()
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
FRIDAY_LATE_UTC = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # Saturday 01:30 in Moscow
NOVEMBER_SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SUNDAY_LATE_UTC = datetime(2026, 12, 27, 21, 30, tzinfo=UTC)  # Monday 00:30 in Moscow

COFFEE_500 = line("coffee", 50_000)
TEA_700 = line("tea", 70_000)
TEA_1000 = line("tea", 100_000)


def _applied(evaluation: Evaluation) -> tuple[str, ...]:
    return evaluation.applied_rule_ids


SEED_CASES: list[tuple[PurchaseContext, int, int, int, tuple[str, ...]]] = [
    # The header's example: 500 x 2 + 700 = 1700.00; floor(170 x 1.25) = 212.
    (
        purchase(TUESDAY, COFFEE_500, TEA_700, tier_id="silver"),
        212,
        120,
        170_000,
        ("coffee-double",),
    ),
    (purchase(TUESDAY, COFFEE_500, TEA_700), 170, 120, 170_000, ("coffee-double",)),
    (
        purchase(TUESDAY, COFFEE_500, TEA_700, tier_id="gold"),
        255,
        120,
        170_000,
        ("coffee-double",),
    ),
    (
        purchase(TUESDAY, COFFEE_500, TEA_700, tier_id="bronze"),
        170,
        120,
        170_000,
        ("coffee-double",),
    ),
    # An id the program does not know earns like no tier.
    (purchase(TUESDAY, TEA_700, tier_id="platinum"), 70, 70, 70_000, ()),
    # Big basket: 10,000.00 of goods gives the bonus, unmultiplied by the tier.
    (
        purchase(TUESDAY, line("tea", 1_000_000), tier_id="silver"),
        1750,
        1000,
        1_000_000,
        ("big-basket",),
    ),
    (purchase(TUESDAY, line("tea", 999_999)), 999, 999, 999_999, ()),
    # Shipping is excluded from the order total: 9,900.00 of goods + 400.00 shipping.
    (purchase(TUESDAY, line("tea", 990_000), shipping=40_000), 990, 990, 990_000, ()),
    # Weekend boost in December, read in Moscow time.
    (purchase(SATURDAY, TEA_1000), 150, 100, 100_000, ("weekend-boost",)),
    (purchase(FRIDAY_LATE_UTC, TEA_1000), 150, 100, 100_000, ("weekend-boost",)),
    (purchase(NOVEMBER_SATURDAY, TEA_1000), 100, 100, 100_000, ()),
    (purchase(SUNDAY_LATE_UTC, TEA_1000), 100, 100, 100_000, ()),
    # Everything at once: 12,000.00 of coffee x 2 = 2400 points, x 1.5 (weekend) x 1.5 (gold)
    # + 500 (big basket) = 5900.
    (
        purchase(FRIDAY_LATE_UTC, line("coffee", 1_200_000), tier_id="gold"),
        5900,
        1200,
        2_400_000,
        ("coffee-double", "big-basket", "weekend-boost"),
    ),
    # No lines and no member: nothing to earn, still a valid evaluation.
    (purchase(TUESDAY), 0, 0, 0, ()),
    # 5.55 RUB of tea is 0.555 points: floored away.
    (purchase(TUESDAY, line("tea", 555)), 0, 0, 555, ()),
]


@pytest.mark.parametrize(("context", "points", "base_points", "eligible", "applied"), SEED_CASES)
def test_seed_program(
    context: PurchaseContext, points: int, base_points: int, eligible: int, applied: tuple[str, ...]
) -> None:
    evaluation = evaluate(SEED, context)
    assert (evaluation.points, evaluation.base_points, evaluation.eligible) == (
        points,
        base_points,
        eligible,
    )
    assert _applied(evaluation) == applied


@pytest.mark.parametrize(
    ("used", "points", "outcome"),
    [
        (0, 150, Outcome.APPLIED),
        (3, 150, Outcome.APPLIED),
        (4, 100, Outcome.LIMIT_REACHED),
        (9, 100, Outcome.LIMIT_REACHED),
    ],
)
def test_weekend_boost_limit_four_per_month(used: int, points: int, outcome: Outcome) -> None:
    evaluation = evaluate(SEED, purchase(SATURDAY, TEA_1000, rule_usage={"weekend-boost": used}))
    assert evaluation.points == points
    boost = evaluation.trace[2]
    assert (boost.rule_id, boost.outcome, boost.usage) == ("weekend-boost", outcome, used)
    assert boost.matched is True
    if outcome is Outcome.LIMIT_REACHED:
        assert boost.reason == f"limit reached: already applied {used} of 4 times per month"


def test_exclude_shipping_false_counts_shipping_in_total_and_eligible() -> None:
    program = make_program(
        [
            {
                "id": "big",
                "name": "Big",
                "when": {"order_total_gte": "10000.00"},
                "effect": {"bonus_points": 500},
            },
            {"id": "double", "name": "Double", "effect": {"multiply_lines": 2}},
        ],
        exclude_shipping=False,
    )
    evaluation = evaluate(program, purchase(TUESDAY, line("tea", 990_000), shipping=40_000))
    # (9900.00 x 2 + 400.00 shipping, which is not a line) x 0.1 = 2020, + 500.
    assert (evaluation.points, evaluation.eligible, evaluation.base_points) == (
        2520,
        2_020_000,
        1030,
    )


RULE_A = {"id": "a", "name": "A", "effect": {"multiply_order": 2}}
RULE_B = {"id": "b", "name": "B", "effect": {"bonus_points": 7}}
RULE_C = {"id": "c", "name": "C", "effect": {"multiply_lines": 3}}


@pytest.mark.parametrize(
    ("rules", "points", "outcomes"),
    [
        ([RULE_A, RULE_B, RULE_C], 607, "AAA"),
        # stop_after on the first rule: the later ones are not evaluated.
        ([{**RULE_A, "stop_after": True}, RULE_B, RULE_C], 200, "ASS"),
        # Priority moves the stopping rule last: every rule applies.
        ([{**RULE_A, "stop_after": True, "priority": -1}, RULE_B, RULE_C], 607, "AAA"),
        # Priority runs C, then a stopping B, so A is stopped.
        (
            [RULE_A, {**RULE_B, "stop_after": True, "priority": 1}, {**RULE_C, "priority": 5}],
            307,
            "SAA",
        ),
        # A stop_after rule whose conditions fail stops nothing.
        ([{**RULE_A, "stop_after": True, "when": {"channel_in": ["pos"]}}, RULE_B], 107, "NA"),
        # A stop_after rule blocked by its limit stops nothing.
        ([{**RULE_A, "stop_after": True, "limit": {"per_member": 1}}, RULE_B], 107, "LA"),
    ],
)
def test_priority_and_stop_after(rules: list[dict[str, Any]], points: int, outcomes: str) -> None:
    program = make_program(rules)
    evaluation = evaluate(program, purchase(TUESDAY, TEA_1000, rule_usage={"a": 1}))
    letters = {
        Outcome.APPLIED: "A",
        Outcome.STOPPED: "S",
        Outcome.CONDITIONS_NOT_MET: "N",
        Outcome.LIMIT_REACHED: "L",
    }
    by_id = {trace.rule_id: letters[trace.outcome] for trace in evaluation.trace}
    assert "".join(by_id[rule["id"]] for rule in rules) == outcomes
    assert evaluation.points == points


def test_trace_is_in_evaluation_order_and_names_the_stopper() -> None:
    rules: list[dict[str, Any]] = [
        RULE_A,
        {**RULE_B, "stop_after": True, "priority": 1},
        {**RULE_C, "priority": 5},
    ]
    program = make_program(rules)
    evaluation = evaluate(program, purchase(TUESDAY, TEA_1000))
    assert [trace.rule_id for trace in evaluation.trace] == ["c", "b", "a"]
    assert evaluation.trace[2].reason == "not evaluated: rule 'b' stops later rules"
    assert evaluation.trace[2].matched is False


@pytest.mark.parametrize(
    ("rounding", "amount", "points"),
    [
        ("floor", 500, 0),
        ("round", 500, 1),
        ("ceil", 500, 1),
        ("floor", 499, 0),
        ("round", 499, 0),
        ("ceil", 499, 1),
        ("floor", 1500, 1),
        ("round", 1500, 2),
        ("ceil", 1500, 2),
        ("floor", 1000, 1),
        ("round", 1000, 1),
        ("ceil", 1000, 1),
        ("round", 1499, 1),
        ("ceil", 1001, 2),
        ("ceil", 0, 0),
    ],
)
def test_rounding_modes(rounding: str, amount: int, points: int) -> None:
    program = make_program(points=1, per_amount="10.00", rounding=rounding)
    evaluation = evaluate(program, purchase(TUESDAY, line("tea", amount)))
    assert (evaluation.points, evaluation.base_points) == (points, points)


def test_rounding_happens_once_on_the_exact_value() -> None:
    # 3 lines of 3.33 x 1.5 = 14.985 points, x 1.25 = 18.73125, floored once: 18. Flooring
    # before the tier would give floor(14 x 1.25) = 17, flooring each line floor(3 x 4 x 1.25) = 15.
    program = make_program(
        [{"id": "x", "name": "X", "effect": {"multiply_lines": "1.5"}}],
        tiers=[{"id": "t", "name": "T", "threshold": 0, "earn_multiplier": "1.25"}],
        points=1,
        per_amount="1.00",
        rounding="floor",
    )
    items = (line("a", 333), line("b", 333), line("c", 333))
    evaluation = evaluate(program, purchase(TUESDAY, *items, tier_id="t"))
    assert evaluation.eligible_exact == Fraction(29970, 20)
    assert (evaluation.points, evaluation.eligible, evaluation.base_points) == (18, 1498, 9)


@pytest.mark.parametrize(
    ("local_time", "applies"),
    [
        ("21:59:59", False),
        ("22:00:00", True),
        ("23:59:59", True),
        ("00:00:00", True),
        ("05:59:59", True),
        ("06:00:00", False),
        ("12:00:00", False),
    ],
)
def test_time_between_wraps_midnight(local_time: str, applies: bool) -> None:
    program = make_program(
        [
            {
                "id": "night",
                "name": "Night owls",
                "when": {"time_between": ["22:00", "06:00"]},
                "effect": {"bonus_points": 5},
            }
        ],
        timezone="Europe/Moscow",
    )
    hour, minute, second = (int(part) for part in local_time.split(":"))
    at = datetime(2026, 12, 2, hour, minute, second, tzinfo=ZoneInfo("Europe/Moscow"))
    assert (evaluate(program, purchase(at, TEA_1000)).points == 105) is applies


@pytest.mark.parametrize(
    ("window", "applies"),
    [(("09:00", "18:00"), True), (("10:00", "10:00"), False), (("10:00:01", "18:00"), False)],
)
def test_time_between_plain_window(window: tuple[str, str], applies: bool) -> None:
    program = make_program(
        [
            {
                "id": "day",
                "name": "Day",
                "when": {"time_between": list(window)},
                "effect": {"bonus_points": 5},
            }
        ]
    )
    at = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert (evaluate(program, purchase(at, TEA_1000)).points == 105) is applies


CONDITION_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"channel_in": ["web"]}, {"channel": "web"}, True),
    ({"channel_in": ["web"]}, {"channel": "pos"}, False),
    ({"channel_in": ["web"]}, {}, False),
    ({"store_in": ["s1", "s2"]}, {"store": "s2"}, True),
    ({"store_in": ["s1"]}, {}, False),
    ({"tier_in": ["silver", "gold"]}, {"tier_id": "gold"}, True),
    ({"tier_in": ["silver"]}, {"tier_id": "bronze"}, False),
    ({"tier_in": ["silver"]}, {}, False),
    ({"between": ["2026-12-02", "2026-12-02"]}, {}, True),
    ({"between": ["2026-12-03", "2026-12-31"]}, {}, False),
    ({"weekday_in": ["wed"]}, {}, True),
    ({"order_total_lt": "1000.01"}, {}, True),
    ({"order_total_lt": "1000.00"}, {}, False),
    ({"order_total_gte": "1000.00"}, {}, True),
    ({"order_total_gte": "1000.00", "channel_in": ["web"]}, {"channel": "pos"}, False),
]


@pytest.mark.parametrize(("when", "extra", "applies"), CONDITION_CASES)
def test_order_conditions(when: dict[str, Any], extra: dict[str, Any], applies: bool) -> None:
    program = make_program(
        [{"id": "r", "name": "R", "when": when, "effect": {"bonus_points": 5}}],
        tiers=[
            {"id": "bronze", "name": "Bronze", "threshold": 0},
            {"id": "silver", "name": "Silver", "threshold": 10},
            {"id": "gold", "name": "Gold", "threshold": 20},
        ],
    )
    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
    assert (evaluate(program, purchase(at, TEA_1000, **extra)).points == 105) is applies


LINES = (
    LineContext("bean-1", "coffee", 2, 10_000),
    LineContext("leaf-1", "tea", 1, 30_000),
    LineContext("bean-2", "coffee", 1, 50_000),
)


@pytest.mark.parametrize(
    ("when", "effect", "points", "failed"),
    [
        ({"line_category_in": ["coffee"]}, {"multiply_lines": 3}, 240, ()),  # (200+500) x 3 + 300
        ({"line_sku_in": ["bean-2"]}, {"multiply_lines": 3}, 200, ()),
        (
            {"line_category_in": ["coffee"], "line_sku_in": ["bean-2", "leaf-1"]},
            {"multiply_lines": 3},
            200,
            (),
        ),
        (
            {"line_category_in": ["coffee"], "line_sku_in": ["leaf-1"]},
            {"multiply_lines": 3},
            100,
            ("line_category_in", "line_sku_in"),
        ),
        ({"line_category_in": ["juice"]}, {"multiply_lines": 3}, 100, ("line_category_in",)),
        (
            {"line_category_in": ["coffee"], "line_sku_in": ["nope"]},
            {"multiply_lines": 3},
            100,
            ("line_sku_in",),
        ),
        ({"line_category_in": ["tea"]}, {"multiply_order": 2}, 200, ()),
        ({"line_category_in": ["juice"]}, {"multiply_order": 2}, 100, ("line_category_in",)),
        ({}, {"multiply_lines": 2}, 200, ()),
    ],
)
def test_line_conditions(
    when: dict[str, Any], effect: dict[str, Any], points: int, failed: tuple[str, ...]
) -> None:
    program = make_program(
        [{"id": "r", "name": "R", "when": when, "effect": effect}], points=1, per_amount="10.00"
    )
    evaluation = evaluate(program, purchase(TUESDAY, *LINES))
    assert evaluation.points == points
    assert evaluation.trace[0].failed_conditions == failed


def test_multiply_lines_records_the_lines_it_multiplied() -> None:
    program = make_program(
        [
            {
                "id": "r",
                "name": "R",
                "when": {"line_category_in": ["coffee"]},
                "effect": {"multiply_lines": 2},
            }
        ]
    )
    assert evaluate(program, purchase(TUESDAY, *LINES)).trace[0].lines == (0, 2)


def test_evaluation_does_not_mutate_inputs_and_is_repeatable() -> None:
    context = purchase(
        SATURDAY, COFFEE_500, TEA_700, tier_id="silver", rule_usage={"weekend-boost": 1}
    )
    snapshot = SEED.model_dump()
    first, second = evaluate(SEED, context), evaluate(SEED, context)
    assert first == second
    assert SEED.model_dump() == snapshot
    assert dict(context.rule_usage) == {"weekend-boost": 1}
    with pytest.raises(FrozenInstanceError):
        context.total = 1  # type: ignore[misc]


def test_tier_multiplier_is_reported() -> None:
    evaluation = evaluate(SEED, purchase(TUESDAY, TEA_700, tier_id="gold"))
    assert (evaluation.tier_multiplier, evaluation.tier_name, evaluation.tier_points) == (
        Decimal("1.5"),
        "Gold",
        35,
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"occurred_at": datetime(2026, 12, 1, 10, 0)}, ValueError),
        ({"total": -1}, ValueError),
        ({"shipping": -5}, ValueError),
        ({"total": 1.5}, TypeError),
        ({"lines": [LineContext("a", None, 1, 1)]}, TypeError),
        ({"rule_usage": {"x": -1}}, ValueError),
    ],
)
def test_purchase_context_refuses_invalid_values(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    values: dict[str, Any] = {"occurred_at": TUESDAY, "lines": (), "total": 0, **kwargs}
    with pytest.raises(error):
        PurchaseContext(**values)


@pytest.mark.parametrize(("quantity", "unit_price"), [(0, 100), (-1, 100), (1, -1), (True, 5)])
def test_line_context_refuses_invalid_values(quantity: int, unit_price: int) -> None:
    with pytest.raises((ValueError, TypeError)):
        LineContext("a", "b", quantity, unit_price)


def test_program_fixture_is_the_seed() -> None:
    assert isinstance(SEED, Program)
    assert [rule.id for rule in SEED.earning.rules] == [
        "coffee-double",
        "big-basket",
        "weekend-boost",
    ]
