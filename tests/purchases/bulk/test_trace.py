"""The vectorised breakdown is the per-event one, byte for byte: for random purchases, the
JSON text the bulk path stores equals the one the per-event path stores,
``json_text(pack(evaluate(...).to_breakdown()))`` (rows as arrays, compact, non-ASCII kept),
with the rule usage of the purchases before it (DB-free, property-based)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.kit.raw import json_text
from patron.programs.schema import Program
from patron.purchases.breakdown import pack, unpack
from patron.purchases.bulk.trace import breakdowns
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.engine import evaluate
from patron.rules.periods import limit_period_key
from patron.rules.vectorised import score_frame
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import VARIANT_PROGRAM

BLAME_PROGRAM = """
program: {name: Blame, currency: EUR, timezone: America/New_York}
earning:
  base: {points: 3, per_amount: "2.50", rounding: ceil}
  exclude_shipping: false
  rules:
    - id: both-lines
      name: "Tea from the garden ×0.5"
      when: {line_category_in: [tea], line_sku_in: [garden]}
      effect: {multiply_lines: 0.5}
    - id: first-ever
      name: "First purchase"
      when: {}
      effect: {bonus_points: 40}
      limit: {per_member: 1, period: lifetime}
    - id: stopper-a
      name: "Stopper 'A'"
      priority: 5
      when: {order_total_gte: "20.00"}
      effect: {multiply_order: 1.5}
      stop_after: true
    - id: stopper-b
      name: Stopper B
      priority: 5
      when: {channel_in: [app]}
      effect: {bonus_points: 7}
      stop_after: true
      limit: {per_member: 2, period: year}
tiers:
  levels:
    - {id: one, name: "Ünö", threshold: 10, earn_multiplier: 1.05}
"""
PROGRAMS = {
    "seed": (
        SEED_PROGRAM.read_text(),
        ("coffee", "tea", "cakes"),
        ("bronze", "silver", "gold", "gone"),
    ),
    "variant": (VARIANT_PROGRAM, ("coffee", "tea"), ("silver", "gold")),
    "blame": (BLAME_PROGRAM, ("tea", "coffee"), ("one", "other")),
}
START = datetime(2026, 11, 27, tzinfo=UTC)

sales = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(1, 4)),  # member
        st.integers(0, 40 * 24 * 60),  # minutes after START
        st.lists(
            st.tuples(
                st.sampled_from(["sku-1", "sku-2", "garden", "x"]),
                st.integers(0, 2),
                st.integers(1, 3),
                st.integers(0, 900_000),
            ),
            min_size=1,
            max_size=4,
        ),
        st.sampled_from([0, 0, 2_500]),  # shipping
        st.sampled_from([None, "web", "app"]),
        st.sampled_from([None, "centrum"]),
        st.integers(0, 4),  # tier index (the last ones are unknown to some programs)
    ),
    min_size=1,
    max_size=25,
)


def _program(name: str) -> Program:
    return Program.model_validate(yaml.safe_load(PROGRAMS[name][0]))


def _frames(program_name: str, drawn: list[tuple]) -> tuple[pl.DataFrame, pl.DataFrame]:  # type: ignore[type-arg]
    _, categories, tiers = PROGRAMS[program_name]
    purchases, lines = [], []
    for index, (member, minutes, items, shipping, channel, store, tier) in enumerate(drawn):
        goods = sum(quantity * price for _, _, quantity, price in items)
        tier_id = ([*tiers, None])[min(tier, len(tiers))] if member is not None else None
        purchases.append(
            (
                index,
                member,
                START + timedelta(minutes=minutes),
                goods + shipping,
                shipping,
                channel,
                store,
                tier_id,
            )
        )
        for sku, category, quantity, price in items:
            lines.append(
                (index, sku, ([*categories, None])[min(category, len(categories))], quantity, price)
            )
    purchase_frame = pl.DataFrame(
        purchases,
        orient="row",
        schema={
            "i": pl.Int64,
            "member_id": pl.Int64,
            "at": pl.Datetime("us", "UTC"),
            "total": pl.Int64,
            "shipping": pl.Int64,
            "channel": pl.String,
            "store": pl.String,
            "tier_id": pl.String,
        },
    )
    line_frame = pl.DataFrame(
        lines,
        orient="row",
        schema={
            "i": pl.Int64,
            "sku": pl.String,
            "category": pl.String,
            "quantity": pl.Int64,
            "unit_price": pl.Int64,
        },
    )
    return purchase_frame, line_frame


def _expected(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    prior: dict[tuple[int, str, str], int],
) -> list[str]:
    """Per-event breakdowns in (member, time, key) order, usage counted as it goes."""
    counts = dict(prior)
    limited = [rule for rule in program.earning.rules if rule.limit is not None]
    texts: dict[int, str] = {}
    rows = purchases.rows(named=True)
    order = sorted(
        rows, key=lambda r: (r["member_id"] is None, r["member_id"] or 0, r["at"], r["i"])
    )
    for row in order:
        own = lines.filter(pl.col("i") == row["i"]).rows(named=True)
        usage: dict[str, int] = {}
        keys: dict[str, tuple[int, str, str]] = {}
        if row["member_id"] is not None:
            for rule in limited:
                assert rule.limit is not None
                keys[rule.id] = (
                    row["member_id"],
                    rule.id,
                    limit_period_key(rule.limit.period, row["at"], program.program.timezone),
                )
                usage[rule.id] = counts.get(keys[rule.id], 0)
        context = PurchaseContext(
            occurred_at=row["at"],
            total=row["total"],
            shipping=row["shipping"],
            channel=row["channel"],
            store=row["store"],
            tier_id=row["tier_id"],
            rule_usage=usage,
            lines=tuple(
                LineContext(x["sku"], x["category"], x["quantity"], x["unit_price"]) for x in own
            ),
        )
        evaluation = evaluate(program, context)
        for rule_id in evaluation.applied_rule_ids:
            if rule_id in keys:
                counts[keys[rule_id]] = counts.get(keys[rule_id], 0) + 1
        texts[row["i"]] = json_text(pack(evaluation.to_breakdown()))
    return [texts[index] for index in range(purchases.height)]


def _actual(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    prior: dict[tuple[int, str, str], int],
) -> list[str]:
    usage = pl.DataFrame(
        [(member, rule, key, used) for (member, rule, key), used in prior.items()],
        orient="row",
        schema={
            "member_id": pl.Int64,
            "rule_id": pl.String,
            "period_key": pl.String,
            "used": pl.Int64,
        },
    )
    scored = score_frame(
        program, purchases.rename({"at": "occurred_at"}), lines, prior_usage=usage, purchase_key="i"
    )
    return breakdowns(program, purchases, lines, scored, usage).to_list()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@settings(max_examples=40, deadline=None)
@given(drawn=sales)
def test_breakdown_text_equals_the_per_event_one(name: str, drawn: list[tuple]) -> None:  # type: ignore[type-arg]
    program = _program(name)
    purchases, lines = _frames(name, drawn)
    prior = {
        (1, "weekend-boost", "2026-12"): 3,
        (2, "first-ever", "lifetime"): 1,
        (3, "happy-hour", "2026-12-01"): 5,
        (4, "stopper-b", "2026"): 2,
    }
    assert _actual(program, purchases, lines, prior) == _expected(program, purchases, lines, prior)


def test_both_line_conditions_are_blamed_when_no_single_line_meets_both() -> None:
    program = _program("blame")
    drawn = [(None, 60, [("garden", 1, 1, 100), ("sku-1", 0, 1, 100)], 0, None, None, 4)]
    purchases, lines = _frames("blame", drawn)
    rows = unpack(json.loads(_actual(program, purchases, lines, {})[0]))
    assert rows[3] == {
        "rule_id": "both-lines",
        "name": "Tea from the garden ×0.5",
        "applied": False,
        "reason": "conditions not met: line_category_in, line_sku_in",
        "effect": "multiply_lines",
        "value": "0.5",
        "points": 0,
    }
    assert _actual(program, purchases, lines, {}) == _expected(program, purchases, lines, {})
