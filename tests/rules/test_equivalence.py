"""Property: for random valid programs and purchases, the vectorised evaluator gives exactly
the integers of the per-event evaluator (line discounts and order-level discounts
included) replayed in (member, occurred_at, key) order with
``rule_usage`` fed from earlier results, and every breakdown sums to its points."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from patron.kit.money import exponent
from patron.programs.schema import LimitPeriod, Program
from patron.rules import LineContext, PurchaseContext, limit_period_key
from patron.rules.vectorised import score_frame

from .helpers import Sale, frames, make_program, replay

TIMEZONES = ["UTC", "Europe/Moscow", "Europe/Warsaw", "America/New_York", "Asia/Kathmandu"]
CATEGORIES = ["coffee", "tea", "cakes"]
SKUS = ["s1", "s2", "s3", "s4"]
CHANNELS = ["web", "pos"]
STORES = ["north", "south"]
TIER_IDS = ["bronze", "silver", "gold"]
MEMBERS = ["ann", "bob", "cid"]
START = datetime(2026, 10, 20, tzinfo=UTC)
SPAN_SECONDS = 80 * 24 * 3600  # to 8 January 2027: DST ends, month, year and ISO-week turns

multipliers = st.one_of(
    st.sampled_from(["2", "1.5", "1.25", "3", "0.5", "1.1", "0.75"]).map(Decimal),
    st.integers(1, 100_000).map(lambda n: Decimal(n).scaleb(-4)),
)
days = st.dates(date(2026, 10, 15), date(2027, 1, 15))
clock = st.times().map(lambda t: t.replace(microsecond=0))


@st.composite
def conditions(draw: st.DrawFn, tiers: bool, places: int) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "line_category_in": st.lists(
            st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True
        ),
        "line_sku_in": st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True),
        "order_total_gte": st.integers(0, 300_000).map(lambda n: str(Decimal(n).scaleb(-places))),
        "order_total_lt": st.integers(0, 600_000).map(lambda n: str(Decimal(n).scaleb(-places))),
        "channel_in": st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True),
        "store_in": st.lists(st.sampled_from(STORES), min_size=1, unique=True),
        "between": st.tuples(days, days).map(lambda pair: [str(min(pair)), str(max(pair))]),
        "weekday_in": st.lists(
            st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            min_size=1,
            unique=True,
        ),
        "time_between": st.tuples(clock, clock).map(lambda pair: [t.isoformat() for t in pair]),
    }
    if tiers:
        optional["tier_in"] = st.lists(st.sampled_from(TIER_IDS), min_size=1, unique=True)
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=3, unique=True)):
        chosen[name] = draw(optional[name])
    return chosen


@st.composite
def rules(draw: st.DrawFn, index: int, tiers: bool, places: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["multiply_lines", "multiply_order", "bonus_points"]))
    value: Any = draw(st.integers(1, 5_000)) if kind == "bonus_points" else str(draw(multipliers))
    rule: dict[str, Any] = {
        "id": f"rule-{index}",
        "name": f"Rule {index}",
        "when": draw(conditions(tiers, places)),
        "effect": {kind: value},
        "priority": draw(st.integers(-2, 2)),
        "stop_after": draw(st.integers(0, 3)) == 0,
    }
    if draw(st.booleans()):
        period = draw(st.sampled_from([p.value for p in LimitPeriod]))
        rule["limit"] = {"per_member": draw(st.integers(1, 3)), "period": period}
    return rule


@st.composite
def programs(draw: st.DrawFn) -> Program:
    has_tiers = draw(st.booleans())
    tiers = None
    if has_tiers:
        tiers = [
            {
                "id": tier_id,
                "name": tier_id.title(),
                "threshold": 100 * i,
                "earn_multiplier": str(draw(multipliers)),
            }
            for i, tier_id in enumerate(TIER_IDS)
        ]
    currency = draw(st.sampled_from(["RUB", "JPY", "KWD"]))  # 2, 0 and 3 decimal places
    places = exponent(currency)
    count = draw(st.integers(0, 5))
    return make_program(
        [draw(rules(i, has_tiers, places)) for i in range(count)],
        tiers=tiers,
        timezone=draw(st.sampled_from(TIMEZONES)),
        points=draw(st.integers(1, 1_000)),
        currency=currency,
        per_amount=str(
            Decimal(draw(st.sampled_from([1, 100, 333, 1000, 100_000]))).scaleb(-places)
        ),
        rounding=draw(st.sampled_from(["floor", "round", "ceil"])),
        exclude_shipping=draw(st.booleans()),
    )


@st.composite
def lines(draw: st.DrawFn) -> LineContext:
    """A line, often with a discount on the whole line (up to all of it)."""
    quantity = draw(st.integers(1, 5))
    unit_price = draw(st.sampled_from([0, 1, 3, draw(st.integers(0, 120_000))]))
    amount = quantity * unit_price
    discount = draw(st.sampled_from([0, 0, amount, draw(st.integers(0, amount))]))
    return LineContext(
        sku=draw(st.sampled_from(SKUS)),
        category=draw(st.sampled_from([*CATEGORIES, None])),
        quantity=quantity,
        unit_price=unit_price,
        discount=discount,
    )


@st.composite
def sales(draw: st.DrawFn) -> list[Sale]:
    found: list[Sale] = []
    instants = st.one_of(
        st.integers(0, SPAN_SECONDS).map(lambda s: START + timedelta(seconds=s)),
        st.integers(0, SPAN_SECONDS * 10**6).map(lambda us: START + timedelta(microseconds=us)),
    )
    shared = draw(st.lists(instants, min_size=1, max_size=4))  # repeated instants make ties
    for key in range(draw(st.integers(1, 14))):
        items = draw(st.lists(lines(), max_size=4))
        goods = sum(item.net for item in items)
        shipping = draw(st.sampled_from([0, 0, 29_900, draw(st.integers(0, 50_000))]))
        # an order-level discount of any size, often none, sometimes the whole goods
        order_discount = draw(st.sampled_from([0, goods, draw(st.integers(0, goods))]))
        context = PurchaseContext(
            occurred_at=draw(st.one_of(st.sampled_from(shared), instants)),
            lines=tuple(items),
            total=goods + shipping - order_discount,
            shipping=shipping,
            channel=draw(st.sampled_from([*CHANNELS, None])),
            store=draw(st.sampled_from([*STORES, None])),
            tier_id=draw(st.sampled_from([*TIER_IDS, "unknown", None])),
        )
        found.append(Sale(key, draw(st.sampled_from([*MEMBERS, MEMBERS[0], None])), context))
    return found


def _prior(
    data: st.DataObject, program: Program, found: list[Sale]
) -> dict[tuple[str, str, str], int]:
    draw = data.draw
    prior: dict[tuple[str, str, str], int] = {}
    limited = [rule for rule in program.earning.rules if rule.limit is not None]
    members = [sale for sale in found if sale.member is not None]
    if not limited or not members:
        return prior
    for _ in range(draw(st.integers(0, 3))):
        rule, sale = draw(st.sampled_from(limited)), draw(st.sampled_from(members))
        assert rule.limit is not None
        assert sale.member is not None
        key = limit_period_key(
            rule.limit.period, sale.context.occurred_at, program.program.timezone
        )
        prior[(sale.member, rule.id, key)] = draw(st.integers(0, 3))
    return prior


def _prior_frame(prior: dict[tuple[str, str, str], int]) -> pl.DataFrame:
    return pl.DataFrame(
        [(member, rule_id, key, used) for (member, rule_id, key), used in prior.items()],
        schema=[
            ("member_id", pl.String),
            ("rule_id", pl.String),
            ("period_key", pl.String),
            ("used", pl.Int64),
        ],
        orient="row",
    )


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(program=programs(), found=sales(), data=st.data())
def test_vectorised_equals_per_event(
    program: Program, found: list[Sale], data: st.DataObject
) -> None:
    prior = _prior(data, program, found)
    expected = replay(program, found, prior)
    purchases, lines = frames(data.draw(st.permutations(found)))  # row order must not matter
    result = score_frame(program, purchases, lines, prior_usage=_prior_frame(prior))
    got = {
        row["purchase_id"]: (
            row["points"],
            row["base_points"],
            row["eligible"],
            row["bonus_points"],
            tuple(row["applied_rule_ids"]),
        )
        for row in result.iter_rows(named=True)
    }
    want = {
        key: (e.points, e.base_points, e.eligible, e.bonus_points, e.applied_rule_ids)
        for key, e in expected.items()
    }
    assert got == want
    for evaluation in expected.values():
        for trace in evaluation.trace:
            event(f"{trace.outcome.value} {trace.effect.value}")
    for evaluation in expected.values():
        assert sum(row["points"] for row in evaluation.to_breakdown()) == evaluation.points
