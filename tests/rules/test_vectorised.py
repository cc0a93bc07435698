"""The vectorised evaluator on exact cases, limits in the frame, and input checking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from patron.rules import evaluate
from patron.rules.errors import ScoringInputError, ScoringOverflowError
from patron.rules.vectorised import score_frame

from .helpers import Sale, frames, line, make_program, purchase, seed_program
from .test_engine import SEED_CASES

SEED = seed_program()
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
TEA_1000 = line("tea", 100_000)


def _rows(result: pl.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["points", "base_points", "eligible", "applied_rule_ids"]
    return [(r[0], r[1], r[2], tuple(r[3])) for r in result.select(columns).iter_rows()]


def test_seed_cases_in_one_frame() -> None:
    sales = [Sale(index, None, case[0]) for index, case in enumerate(SEED_CASES)]
    purchases, lines = frames(sales)
    result = score_frame(SEED, purchases, lines)
    assert result["purchase_id"].to_list() == list(range(len(SEED_CASES)))
    assert _rows(result) == [(p, b, e, a) for _, p, b, e, a in SEED_CASES]
    assert result.schema["points"] == pl.Int64


def test_weekend_boost_limit_per_member_per_month() -> None:
    saturdays = [SATURDAY + timedelta(days=7 * week) for week in range(4)]
    sundays = [moment + timedelta(days=1) for moment in saturdays]
    moments = sorted(saturdays + sundays)  # 8 weekend days in December 2026
    sales = [Sale(10 + i, "ann", purchase(at, TEA_1000)) for i, at in enumerate(moments)]
    sales += [
        Sale(30, "bob", purchase(moments[-1], TEA_1000)),
        Sale(40, None, purchase(moments[-1], TEA_1000)),
    ]
    sales += [Sale(41, None, purchase(moments[-1], TEA_1000))]
    purchases, lines = frames(list(reversed(sales)))  # input order does not matter
    result = score_frame(SEED, purchases, lines).sort("purchase_id")
    assert result["points"].to_list() == [150] * 4 + [100] * 4 + [150, 150, 150]


def test_prior_usage_counts_against_the_limit() -> None:
    sales = [Sale(i, "ann", purchase(SATURDAY + timedelta(hours=i), TEA_1000)) for i in range(3)]
    prior = pl.DataFrame(
        {
            "member_id": ["ann", "ann", "bob"],
            "rule_id": ["weekend-boost"] * 3,
            "period_key": ["2026-12", "2026-12", "2026-12"],
            "used": [1, 2, 4],
        }
    )
    purchases, lines = frames(sales)
    result = score_frame(SEED, purchases, lines, prior_usage=prior)
    assert result["points"].to_list() == [150, 100, 100]
    other_month = prior.with_columns(pl.lit("2026-11").alias("period_key"))
    assert (
        score_frame(SEED, purchases, lines, prior_usage=other_month)["points"].to_list()
        == [150] * 3
    )


def test_ties_at_the_same_instant_are_ordered_by_purchase_key() -> None:
    program = make_program(
        [
            {
                "id": "first",
                "name": "First",
                "when": {"line_category_in": ["x"]},
                "effect": {"bonus_points": 9},
                "limit": {"per_member": 1},
            }
        ]
    )
    sales = [Sale(key, "ann", purchase(SATURDAY, line("x", 1000))) for key in (2, 3, 1, 5, 4)]
    sales.append(Sale(0, "ann", purchase(SATURDAY + timedelta(microseconds=1), line("x", 1000))))
    purchases, lines = frames(sales)
    result = score_frame(program, purchases, lines)
    # Key 1 is the first of the tied purchases, so it uses the member's only application.
    expected = [(2, 1), (3, 1), (1, 10), (5, 1), (4, 1), (0, 1)]
    assert result.select("purchase_id", "points").rows() == expected


def test_stop_after_and_limits_interact_in_the_frame() -> None:
    program = make_program(
        [
            {
                "id": "gate",
                "name": "Gate",
                "effect": {"bonus_points": 1},
                "stop_after": True,
                "priority": 1,
                "limit": {"per_member": 1, "period": "day"},
            },
            {"id": "after", "name": "After", "effect": {"multiply_order": 2}},
        ]
    )
    day = [Sale(i, "ann", purchase(SATURDAY + timedelta(minutes=i), TEA_1000)) for i in range(3)]
    next_day = Sale(9, "ann", purchase(SATURDAY + timedelta(days=1), TEA_1000))
    purchases, lines = frames([*day, next_day])
    result = score_frame(program, purchases, lines)
    assert result["points"].to_list() == [101, 200, 200, 101]
    assert result["applied_rule_ids"].to_list() == [["gate"], ["after"], ["after"], ["gate"]]


def test_optional_columns_and_string_keys() -> None:
    purchases = pl.DataFrame(
        {
            "order": ["b", "a"],
            "occurred_at": [datetime(2026, 12, 1, 10), datetime(2026, 12, 5, 10)],
            "total": [120_000, 100_000],
        }
    )
    lines = pl.DataFrame(
        {
            "order": ["b", "b", "a"],
            "sku": ["c", "t", "t"],
            "category": ["coffee", "tea", None],
            "quantity": [1, 1, 4],
            "unit_price": [50_000, 70_000, 25_000],
        }
    )
    result = score_frame(SEED, purchases, lines, purchase_key="order")
    assert result.rows() == [
        ("b", 170, 120, 170_000, 0, ["coffee-double"]),
        ("a", 150, 100, 100_000, 0, ["weekend-boost"]),
    ]


def test_occurred_at_in_another_zone_is_converted() -> None:
    moscow = pl.DataFrame(
        {"purchase_id": [1], "occurred_at": [datetime(2026, 12, 5, 1, 30)], "total": [100_000]}
    ).with_columns(pl.col("occurred_at").dt.replace_time_zone("Europe/Moscow"))
    lines = pl.DataFrame(
        {
            "purchase_id": [1],
            "sku": ["t"],
            "category": ["tea"],
            "quantity": [1],
            "unit_price": [100_000],
        }
    )
    assert score_frame(SEED, moscow, lines)["points"].to_list() == [150]
    earlier = moscow.with_columns(pl.col("occurred_at") - pl.duration(hours=2))  # Friday 23:30
    assert score_frame(SEED, earlier, lines)["points"].to_list() == [100]


def test_a_program_without_rules_or_tiers() -> None:
    program = make_program(rounding="ceil", exclude_shipping=False)
    sales = [Sale(1, "ann", purchase(SATURDAY, line("tea", 1001), shipping=1, tier_id="gold"))]
    result = score_frame(program, *frames(sales))
    assert result.rows() == [(1, 2, 2, 1002, 0, [])]


PURCHASES = {
    "purchase_id": [1, 2],
    "occurred_at": [datetime(2026, 12, 1, tzinfo=UTC)] * 2,
    "total": [100, 200],
}
LINES = {"purchase_id": [1], "sku": ["a"], "category": ["b"], "quantity": [1], "unit_price": [100]}


@pytest.mark.parametrize(
    ("purchases", "lines", "field"),
    [
        ({**PURCHASES, "purchase_id": [1, 1]}, LINES, "purchase_id"),
        ({**PURCHASES, "purchase_id": [1, None]}, LINES, "purchase_id"),
        ({**PURCHASES, "total": [100, -1]}, LINES, "total"),
        ({**PURCHASES, "shipping": [0, -1]}, LINES, "shipping"),
        ({**PURCHASES, "occurred_at": ["2026-12-01", "2026-12-02"]}, LINES, "occurred_at"),
        ({key: value for key, value in PURCHASES.items() if key != "total"}, LINES, "total"),
        (PURCHASES, {**LINES, "quantity": [0]}, "quantity"),
        (PURCHASES, {**LINES, "unit_price": [-5]}, "unit_price"),
        (PURCHASES, {**LINES, "sku": [None]}, "sku"),
        (PURCHASES, {**LINES, "purchase_id": [3]}, "purchase_id"),
        (PURCHASES, {key: value for key, value in LINES.items() if key != "category"}, "category"),
    ],
)
def test_malformed_frames_are_refused(
    purchases: dict[str, Any], lines: dict[str, Any], field: str
) -> None:
    with pytest.raises(ScoringInputError) as caught:
        score_frame(
            SEED, pl.DataFrame(purchases), pl.DataFrame(lines, schema_overrides={"sku": pl.String})
        )
    assert caught.value.field == field


def test_prior_usage_must_be_well_formed() -> None:
    sales = [Sale(1, "ann", purchase(SATURDAY, TEA_1000))]
    bad = pl.DataFrame(
        {
            "member_id": ["ann"],
            "rule_id": ["weekend-boost"],
            "period_key": ["2026-12"],
            "used": [-1],
        }
    )
    with pytest.raises(ScoringInputError):
        score_frame(SEED, *frames(sales), prior_usage=bad)
    with pytest.raises(ScoringInputError):
        score_frame(SEED, *frames(sales), prior_usage=bad.drop("used"))


def test_absurd_multipliers_are_refused_rather_than_overflowing() -> None:
    rules = [
        {"id": f"r{i}", "name": "R", "effect": {"multiply_lines": "99.9999"}} for i in range(4)
    ]
    rules += [
        {"id": f"o{i}", "name": "O", "effect": {"multiply_order": "99.9999"}} for i in range(3)
    ]
    program = make_program(rules, points=1_000_000)
    sales = [Sale(1, "ann", purchase(SATURDAY, line("tea", 10**12)))]
    with pytest.raises(ScoringOverflowError):
        score_frame(program, *frames(sales))
    small = make_program(rules[:2], points=1_000_000)
    # 10**12 minor x 99.9999**2 x 1,000,000 / 100,000 minor: exact, no float anywhere.
    assert score_frame(small, *frames(sales))["points"].to_list() == [99_999_800_000_100_000]
    assert evaluate(small, sales[0].context).points == 99_999_800_000_100_000
