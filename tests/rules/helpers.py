"""Builders shared by the rules tests: programs from plain dicts, purchases, frames, and the
sequential per-event replay that feeds ``rule_usage`` from earlier results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from patron.programs.schema import Program
from patron.rules import Evaluation, LineContext, PurchaseContext, evaluate, limit_period_key

SEED_PROGRAM = Path(__file__).resolve().parents[2] / "examples" / "seed-program.yaml"


def seed_program() -> Program:
    return Program.model_validate(yaml.safe_load(SEED_PROGRAM.read_text(encoding="utf-8")))


def make_program(
    rules: Sequence[Mapping[str, Any]] = (),
    *,
    tiers: Sequence[Mapping[str, Any]] | None = None,
    timezone: str = "Europe/Moscow",
    currency: str = "RUB",
    points: int = 100,
    per_amount: str = "1000.00",
    rounding: str = "floor",
    exclude_shipping: bool = True,
    messages: Sequence[Mapping[str, Any]] = (),
) -> Program:
    document: dict[str, Any] = {
        "program": {"name": "Test", "currency": currency, "timezone": timezone},
        "earning": {
            "base": {"points": points, "per_amount": per_amount, "rounding": rounding},
            "exclude_shipping": exclude_shipping,
            "rules": [dict(rule) for rule in rules],
        },
    }
    if tiers is not None:
        document["tiers"] = {"levels": [dict(level) for level in tiers]}
    if messages:
        document["messages"] = [dict(message) for message in messages]
    return Program.model_validate(document)


def line(
    category: str | None, amount: int, *, sku: str | None = None, quantity: int = 1
) -> LineContext:
    """A line of ``quantity`` units whose total is ``amount`` minor units."""
    return LineContext(
        sku=sku or f"sku-{category}",
        category=category,
        quantity=quantity,
        unit_price=amount // quantity,
    )


def purchase(
    at: datetime,
    *lines: LineContext,
    shipping: int = 0,
    total: int | None = None,
    **extra: Any,
) -> PurchaseContext:
    goods = sum(item.amount for item in lines)
    paid = goods + shipping if total is None else total
    return PurchaseContext(occurred_at=at, lines=lines, total=paid, shipping=shipping, **extra)


@dataclass(frozen=True)
class Sale:
    """A purchase of the property test: a context without usage, plus keys."""

    key: int
    member: str | None
    context: PurchaseContext


def replay(
    program: Program, sales: Sequence[Sale], prior: Mapping[tuple[str, str, str], int]
) -> dict[int, Evaluation]:
    """Evaluate sales one by one in (member, occurred_at, key) order, feeding each the usage
    of limited rules counted from the prior usage and the earlier results."""
    counts: dict[tuple[str, str, str], int] = dict(prior)
    timezone = program.program.timezone
    limited = [rule for rule in program.earning.rules if rule.limit is not None]
    results: dict[int, Evaluation] = {}
    order = sorted(
        sales, key=lambda s: (s.member is None, s.member or "", s.context.occurred_at, s.key)
    )
    for sale in order:
        usage: dict[str, int] = {}
        keys: dict[str, tuple[str, str, str]] = {}
        if sale.member is not None:
            for rule in limited:
                assert rule.limit is not None
                period = limit_period_key(rule.limit.period, sale.context.occurred_at, timezone)
                keys[rule.id] = (sale.member, rule.id, period)
                usage[rule.id] = counts.get(keys[rule.id], 0)
        evaluation = evaluate(program, replace(sale.context, rule_usage=usage))
        for rule_id in evaluation.applied_rule_ids:
            if rule_id in keys:
                counts[keys[rule_id]] = counts.get(keys[rule_id], 0) + 1
        results[sale.key] = evaluation
    return results


def frames(sales: Sequence[Sale]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The purchases and lines frames of ``score_frame`` for these sales."""
    purchases = pl.DataFrame(
        {
            "purchase_id": [s.key for s in sales],
            "member_id": [s.member for s in sales],
            "occurred_at": [s.context.occurred_at for s in sales],
            "total": [s.context.total for s in sales],
            "shipping": [s.context.shipping for s in sales],
            "channel": [s.context.channel for s in sales],
            "store": [s.context.store for s in sales],
            "tier_id": [s.context.tier_id for s in sales],
        },
        schema_overrides={
            "member_id": pl.String,
            "channel": pl.String,
            "store": pl.String,
            "tier_id": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
        },
    )
    rows = [
        (s.key, item.sku, item.category, item.quantity, item.unit_price, item.discount)
        for s in sales
        for item in s.context.lines
    ]
    lines = pl.DataFrame(
        rows,
        schema=[
            ("purchase_id", pl.Int64),
            ("sku", pl.String),
            ("category", pl.String),
            ("quantity", pl.Int64),
            ("unit_price", pl.Int64),
            ("discount", pl.Int64),
        ],
        orient="row",
    )
    return purchases, lines
