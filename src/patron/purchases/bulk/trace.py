"""The breakdown of vectorised-scored purchases: the JSON text that ``record_purchase`` stores
in ``purchases.breakdown``, byte for byte (the rows of
:meth:`patron.rules.engine.Evaluation.to_breakdown` packed as arrays by
:func:`patron.purchases.breakdown.pack`, serialised as :func:`patron.kit.raw.json_text` does:
compact separators, non-ASCII kept).

Attribution is the per-event one (:mod:`patron.rules.trace`): the base row, each rule's row
(a multiplier earns ``round(after it) - round(before it)`` with the tier not yet applied, a
bonus its points), and the tier row. The running state after rule ``j`` is
``(weighted_j + shipping x Dl_j) x points x Oa_j / (Dl_j x per_amount x Ob_j)`` where ``Dl_j``
is the product of the line rules' ``b`` so far, ``Oa_j`` / ``Ob_j`` the product of the order
rules' ``a`` where they applied (else ``b``) / of their ``b``: the same rational numbers as
the engine's, so the same rounded integers. The rows must add up to ``score_frame``'s points
for each purchase, or this raises (a bug, never silently stored).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import polars as pl

from patron.kit.money import format_amount
from patron.kit.raw import json_text
from patron.programs.schema import Program, Rounding
from patron.purchases.bulk.trace_lines import LineFacts, line_facts
from patron.purchases.bulk.trace_reasons import (
    check_consistency,
    failed_columns,
    local_columns,
    meets_column,
    prior_usage_columns,
    reason_json,
    stopped_by_columns,
)
from patron.rules.arithmetic import decimal_text
from patron.rules.compiled import CompiledProgram, CompiledRule, compile_program
from patron.rules.vectorised import FrameEffect
from patron.rules.vocabulary import EffectType

_NO_TIER = "\x00"

TRACE_EFFECTS: dict[EffectType, FrameEffect] = {
    EffectType.MULTIPLY_LINES: FrameEffect.LINE_FACTOR,
    EffectType.MULTIPLY_ORDER: FrameEffect.ORDER_FACTOR,
    EffectType.BONUS_POINTS: FrameEffect.BONUS,
}
"""The trace's registry of immediate effects: how each one's points are attributed to its
breakdown row (``tests/rules/test_registries.py``)."""


def _rounded(numerator: pl.Expr, denominator: pl.Expr, rounding: Rounding) -> pl.Expr:
    if rounding is Rounding.FLOOR:
        return numerator // denominator
    if rounding is Rounding.CEIL:
        return (numerator + denominator - 1) // denominator
    return (numerator * 2 + denominator) // (denominator * 2)


def _big(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.Int128)


def _rule_points(
    compiled: CompiledProgram, facts: LineFacts
) -> tuple[list[pl.Expr], pl.Expr, pl.Expr]:
    """(points after each rule before the tier, the eligible numerator x order numerator at
    the end, its denominator) as Int128 expressions over the purchase frame."""
    shipping = _big(0) if compiled.exclude_shipping else pl.col("shipping").cast(pl.Int128)
    weighted: pl.Expr = pl.lit(facts.goods)
    line_denominator, order_numerator, order_denominator = 1, _big(1), 1
    after: list[pl.Expr] = []
    for index, rule in enumerate(compiled.rules):
        a, b = rule.ratio
        role = TRACE_EFFECTS[rule.kind]
        if role is FrameEffect.LINE_FACTOR:
            weighted = pl.lit(facts.weighted[index])
            line_denominator *= b
        elif role is FrameEffect.ORDER_FACTOR:
            factor = pl.when(pl.col(f"applied_{index}")).then(_big(a)).otherwise(_big(b))
            order_numerator = order_numerator * factor
            order_denominator *= b
        numerator = (weighted + shipping * line_denominator) * compiled.points * order_numerator
        denominator = line_denominator * compiled.per_amount * order_denominator
        after.append(_rounded(numerator, _big(denominator), compiled.rounding))
    numerator = (weighted + shipping * line_denominator) * compiled.points * order_numerator
    final = _big(line_denominator * compiled.per_amount * order_denominator)
    return after, numerator, final


def _row_prefix(rule: CompiledRule) -> tuple[str, str]:
    """The static JSON around a rule row's ``applied``, ``reason`` and ``points``."""
    value = rule.value
    text = decimal_text(value) if isinstance(value, Decimal) else str(value)
    rule_id, name = json_text(rule.rule.id), json_text(rule.rule.name)
    head = f"[{rule_id},{name},"
    tail = f",{json_text(rule.kind.value)},{json_text(text)},"
    return head, tail


def _tier_prefixes(compiled: CompiledProgram, tier_ids: Sequence[str | None]) -> dict[str, str]:
    """The tier row's JSON up to its points, per distinct tier id of the batch."""
    found: dict[str, str] = {}
    for tier_id in tier_ids:
        tier = compiled.tier(tier_id)
        if tier is not None:
            name, applied, reason = tier.name, "true", "null"
            multiplier = decimal_text(tier.multiplier)
        else:
            name, applied, multiplier = "No tier", "false", decimal_text(Decimal(1))
            reason = json_text("no tier" if tier_id is None else f"unknown tier {tier_id!r}")
        found[_NO_TIER if tier_id is None else tier_id] = (
            f'["tier",{json_text(name)},{applied},{reason},"tier",{json_text(multiplier)},'
        )
    return found


def _tier_ratio(compiled: CompiledProgram, part: int) -> pl.Expr:
    mapping = {tier_id: rate.ratio[part] for tier_id, rate in compiled.tiers.items()}
    return pl.col("tier_id").replace_strict(mapping, default=1, return_dtype=pl.Int128)


def _with_points(frame: pl.DataFrame, compiled: CompiledProgram, facts: LineFacts) -> pl.DataFrame:
    after, numerator, denominator = _rule_points(compiled, facts)
    before_tier = after[-1] if after else pl.col("base_points").cast(pl.Int128)
    with_tier = _rounded(
        numerator * _tier_ratio(compiled, 0),
        denominator * _tier_ratio(compiled, 1),
        compiled.rounding,
    )
    previous = pl.col("base_points").cast(pl.Int128)
    deltas: list[pl.Expr] = []
    for index, rule in enumerate(compiled.rules):
        applied = pl.col(f"applied_{index}")
        if TRACE_EFFECTS[rule.kind] is FrameEffect.BONUS:
            delta = pl.when(applied).then(_big(rule.bonus)).otherwise(_big(0))
        else:
            delta = pl.when(applied).then(after[index] - previous).otherwise(_big(0))
            previous = after[index]
        deltas.append(delta.alias(f"points_{index}"))
    return frame.with_columns(*deltas, (with_tier - before_tier).alias("points_tier"))


def _json(frame: pl.DataFrame, compiled: CompiledProgram) -> pl.Series:
    base = format_amount(compiled.per_amount, compiled.currency)
    rate = json_text(f"{compiled.points} per {base} {compiled.currency}")
    pieces: list[pl.Expr] = [
        pl.lit(f'[["base","Base rate",true,null,"base",{rate},'),
        pl.col("base_points").cast(pl.String),
    ]
    for index, rule in enumerate(compiled.rules):
        head, tail = _row_prefix(rule)
        applied = (
            pl.when(pl.col(f"applied_{index}")).then(pl.lit("true")).otherwise(pl.lit("false"))
        )
        reason = reason_json(compiled.rules, index)
        points = pl.col(f"points_{index}").cast(pl.String)
        pieces += [
            pl.lit("]," + head),
            applied,
            pl.lit(","),
            reason,
            pl.lit(tail),
            points,
        ]
    tier_ids = frame["tier_id"].unique().to_list()
    prefixes = _tier_prefixes(compiled, tier_ids)
    tier = pl.col("tier_id").fill_null(_NO_TIER).replace_strict(prefixes, return_dtype=pl.String)
    pieces += [pl.lit("],"), tier, pl.col("points_tier").cast(pl.String), pl.lit("]]")]
    return frame.select(pl.concat_str(pieces).alias("breakdown"))["breakdown"]


def breakdowns(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    scored: pl.DataFrame,
    prior: pl.DataFrame,
) -> pl.Series:
    """The breakdown JSON of each purchase.

    ``purchases``: ``member_id``, ``at``, ``total``, ``shipping``, ``channel``, ``store``,
    ``tier_id``; ``lines``: ``i`` (the purchase's position), ``sku``, ``category``,
    ``quantity``, ``unit_price``, ordered by ``i``; ``scored``: ``score_frame``'s output in the
    order of ``purchases``; ``prior``: the prior usage given to ``score_frame``.
    """
    compiled = compile_program(program)
    rules = compiled.rules
    frame = purchases.with_columns(
        scored["points"], scored["base_points"], scored["applied_rule_ids"]
    ).with_columns(
        *local_columns(compiled.timezone, compiled.exclude_shipping),
        *(
            pl.col("applied_rule_ids").list.contains(rule.rule.id).alias(f"applied_{index}")
            for index, rule in enumerate(rules)
        ),
    )
    applied = {index: frame[f"applied_{index}"].to_numpy() for index in range(len(rules))}
    facts = line_facts(lines, frame.height, rules, applied)
    frame = frame.with_columns(
        *(series.alias(meets_column(kind, j)) for (kind, j), series in facts.meets.items()),
        *(series.alias(f"any_scope_{j}") for j, series in facts.any_scope.items()),
    )
    frame = frame.with_columns(*failed_columns(rules), *stopped_by_columns(rules))
    check_consistency(frame, rules)
    frame = _with_points(prior_usage_columns(frame, prior, rules), compiled, facts)
    _check_total(frame, rules)
    return _json(frame, compiled)


def _check_total(frame: pl.DataFrame, rules: Sequence[CompiledRule]) -> None:
    rows = [pl.col("base_points").cast(pl.Int128), pl.col("points_tier")]
    rows += [pl.col(f"points_{index}") for index in range(len(rules))]
    total = pl.sum_horizontal(rows)
    if frame.height and not frame.select((total == pl.col("points")).all()).item():
        raise RuntimeError("the breakdown rows do not add up to the vectorised points")
