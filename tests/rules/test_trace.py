"""The breakdown answers "why did I get N points": exact rows that sum to the total."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from patron.rules import evaluate

from .helpers import line, make_program, purchase, seed_program

SEED = seed_program()


def test_header_example_breakdown() -> None:
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    evaluation = evaluate(
        SEED, purchase(at, line("coffee", 50_000), line("tea", 70_000), tier_id="silver")
    )
    assert evaluation.to_breakdown() == [
        {
            "rule_id": "base",
            "name": "Base rate",
            "applied": True,
            "reason": None,
            "effect": "base",
            "value": "100 per 1000.00 RUB",
            "points": 120,
        },
        {
            "rule_id": "coffee-double",
            "name": "Double points on coffee",
            "applied": True,
            "reason": None,
            "effect": "multiply_lines",
            "value": "2",
            "points": 50,
        },
        {
            "rule_id": "big-basket",
            "name": "Big basket bonus",
            "applied": False,
            "reason": "conditions not met: order_total_gte",
            "effect": "bonus_points",
            "value": "500",
            "points": 0,
        },
        {
            "rule_id": "weekend-boost",
            "name": "Weekend boost",
            "applied": False,
            "reason": "conditions not met: weekday_in",
            "effect": "multiply_order",
            "value": "1.5",
            "points": 0,
        },
        {
            "rule_id": "tier",
            "name": "Silver",
            "applied": True,
            "reason": None,
            "effect": "tier",
            "value": "1.25",
            "points": 42,
        },
    ]
    assert sum(row["points"] for row in evaluation.to_breakdown()) == evaluation.points == 212
    json.dumps(evaluation.to_breakdown())


def test_breakdown_with_every_effect_and_no_tier() -> None:
    at = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # Saturday in Moscow
    evaluation = evaluate(SEED, purchase(at, line("coffee", 1_200_000), line("tea", 33_333)))
    rows = {row["rule_id"]: row for row in evaluation.to_breakdown()}
    # base floor(12333.33 x 0.1) = 1233; coffee doubles: floor(2433.333) - 1233 = 1200;
    # weekend: floor(3649.9995) - 2433 = 1216; bonus 500; no tier: 0.
    assert {key: row["points"] for key, row in rows.items()} == {
        "base": 1233,
        "coffee-double": 1200,
        "big-basket": 500,
        "weekend-boost": 1216,
        "tier": 0,
    }
    assert (rows["tier"]["name"], rows["tier"]["applied"], rows["tier"]["reason"]) == (
        "No tier",
        False,
        "no tier",
    )
    assert evaluation.points == 4149 == sum(row["points"] for row in rows.values())


def test_a_multiplier_below_one_gives_a_negative_row() -> None:
    program = make_program(
        [
            {
                "id": "half",
                "name": "Half on clearance",
                "when": {"line_category_in": ["clearance"]},
                "effect": {"multiply_lines": "0.5"},
            }
        ],
        tiers=[{"id": "t", "name": "T", "threshold": 0, "earn_multiplier": "1.1"}],
    )
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    evaluation = evaluate(
        program, purchase(at, line("clearance", 100_000), line("tea", 5_000), tier_id="odd")
    )
    rows = evaluation.to_breakdown()
    assert [row["points"] for row in rows] == [105, -50, 0]
    assert rows[-1]["reason"] == "unknown tier 'odd'"
    assert evaluation.points == 55
