"""The vectorised evaluator: score a whole frame of purchases with Polars, giving exactly the
integers of :func:`patron.rules.engine.evaluate` (a property test holds the two together).

Input columns are documented in :mod:`patron.rules.frame_inputs`. The result has one row per
purchase, in input order: the purchase key, ``points``, ``base_points``, ``eligible``,
``bonus_points`` (Int64) and ``applied_rule_ids`` (list of rule ids in evaluation order).

Per-member limits: purchases are ordered by (member, occurred_at, purchase key); a rule's
applications are counted per (member, rule, period key) with a cumulative count, on top of
the optional prior usage. Because an applicable rule applies until its count reaches the
limit, the rule applies to a purchase exactly when ``prior + earlier candidates < limit``.
Each purchase without a member counts alone (its limits never bind).

Exact integer arithmetic: every multiplier is a reduced fraction ``a/b`` and a rule that
does not apply contributes ``b/b``, so with ``Q = product of the b`` of the line rules a line
earns ``amount x coefficient / Q`` with an integer coefficient; the order rules and the tier
work the same way, so each purchase's points are ``round(numerator / denominator)`` with one
constant denominator. Before computing, :func:`_plan` bounds every intermediate value from
the data's maxima: below 2**62 the columns are Int64, below 2**126 Int128, and beyond that
the program and data are refused (:class:`ScoringOverflowError`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import polars as pl

from patron.rules.compiled import CompiledProgram, CompiledRule, Ratio, compile_program
from patron.rules.errors import ScoringOverflowError
from patron.rules.frame_conditions import line_scope, local_columns, period_key, purchase_condition
from patron.rules.frame_inputs import (
    KEY,
    MEMBER,
    ROW,
    prepare_lines,
    prepare_prior_usage,
    prepare_purchases,
)
from patron.rules.program import RuleProgram as Program
from patron.rules.vocabulary import EffectType, Limit, Rounding

_INT64_SAFE = 2**62
_INT128_SAFE = 2**126


class FrameEffect(Enum):
    """How an immediate effect enters the vectorised arithmetic."""

    LINE_FACTOR = "line_factor"  # multiplies the amounts of the lines in the rule's scope
    ORDER_FACTOR = "order_factor"  # multiplies the eligible spend of the order
    BONUS = "bonus"  # adds points after rounding


FRAME_EFFECTS: dict[EffectType, FrameEffect] = {
    EffectType.MULTIPLY_LINES: FrameEffect.LINE_FACTOR,
    EffectType.MULTIPLY_ORDER: FrameEffect.ORDER_FACTOR,
    EffectType.BONUS_POINTS: FrameEffect.BONUS,
}
"""The vectorised evaluator's registry of immediate effects (``tests/rules/test_registries.py``)."""


def frame_effect(rule: CompiledRule) -> FrameEffect:
    return FRAME_EFFECTS[rule.kind]


def _multipliers(rules: Sequence[CompiledRule], role: FrameEffect) -> list[tuple[int, Ratio]]:
    """(evaluation index, multiplier ratio) of the rules whose effect enters as ``role``."""
    return [(index, rule.ratio) for index, rule in enumerate(rules) if frame_effect(rule) is role]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The integer arithmetic of one scoring run: ``points = round(weighted x points x order
    coefficient x tier coefficient / denominator)``, all in ``dtype``."""

    compiled: CompiledProgram
    dtype: pl.DataType
    line_rules: list[tuple[int, Ratio]]
    order_rules: list[tuple[int, Ratio]]
    tiers: dict[str, int]
    tier_common: int
    line_denominator: int
    denominator: int

    def lit(self, value: int) -> pl.Expr:
        return pl.lit(value, dtype=self.dtype)

    def coefficient(self, multipliers: list[tuple[int, Ratio]], *, scoped: bool) -> pl.Expr:
        """The product over ``multipliers`` of ``a`` where the rule applied, else ``b``."""
        product = self.lit(1)
        for index, (a, b) in multipliers:
            applies = pl.col(f"applied_{index}")
            if scoped:
                applies = applies & pl.col(f"scope_{index}")
            product = product * pl.when(applies).then(self.lit(a)).otherwise(self.lit(b))
        return product

    def rounded(self, numerator: pl.Expr, denominator: int, rounding: Rounding) -> pl.Expr:
        """Same as :func:`patron.rules.arithmetic.round_ratio`, on integer columns."""
        if rounding is Rounding.FLOOR:
            return numerator // self.lit(denominator)
        if rounding is Rounding.CEIL:
            return (numerator + self.lit(denominator - 1)) // self.lit(denominator)
        return (numerator * self.lit(2) + self.lit(denominator)) // self.lit(2 * denominator)


def _plan(compiled: CompiledProgram, max_amount: int, max_lines: int, max_shipping: int) -> _Plan:
    """Bound every intermediate value from the data's maxima; choose Int64 or Int128, or
    refuse when even Int128 could overflow or a result could exceed Int64."""
    rules = compiled.rules
    line_rules = _multipliers(rules, FrameEffect.LINE_FACTOR)
    order_rules = _multipliers(rules, FrameEffect.ORDER_FACTOR)
    common = math.lcm(1, *(tier.ratio[1] for tier in compiled.tiers.values()))
    tiers = {key: t.ratio[0] * (common // t.ratio[1]) for key, t in compiled.tiers.items()}
    line_den = math.prod(b for _, (_, b) in line_rules)
    denominator = (
        line_den * compiled.per_amount * math.prod(b for _, (_, b) in order_rules) * common
    )
    if compiled.exclude_shipping:
        max_shipping = 0
    eligible_max = max_amount * max_lines * math.prod(max(r) for _, r in line_rules)
    eligible_max += max_shipping * line_den
    order_max = math.prod(max(r) for _, r in order_rules)
    numerator_max = eligible_max * compiled.points * order_max * max([common, *tiers.values()])
    points_max = numerator_max // denominator + 1 + sum(rule.bonus for rule in rules)
    largest = 2 * (numerator_max + denominator)  # covers round half up and ceil
    if largest >= 2 * _INT128_SAFE or max(points_max, eligible_max // line_den) >= _INT64_SAFE:
        raise ScoringOverflowError(
            "amounts and multipliers too large for exact vectorised scoring; "
            "score these purchases one by one"
        )
    dtype = pl.Int64() if largest < _INT64_SAFE else pl.Int128()
    return _Plan(compiled, dtype, line_rules, order_rules, tiers, common, line_den, denominator)


def _with_line_facts(
    frame: pl.DataFrame, lines: pl.DataFrame, rules: Sequence[CompiledRule]
) -> pl.DataFrame:
    """Per purchase: ``goods`` (Int128), ``line_count`` and ``any_<j>`` for scoped rules."""
    scoped = [index for index, rule in enumerate(rules) if rule.when.has_line_scope]
    facts = lines.group_by(KEY).agg(
        pl.col("amount").sum().alias("goods"),
        pl.len().alias("line_count"),
        *(pl.col(f"scope_{index}").any().alias(f"any_{index}") for index in scoped),
    )
    joined = frame.join(facts, on=KEY, how="left", maintain_order="left")
    return joined.with_columns(
        pl.col("goods").fill_null(0).cast(pl.Int128),
        pl.col("line_count").fill_null(0),
        *(pl.col(f"any_{index}").fill_null(False) for index in scoped),
    )


def _plan_for(compiled: CompiledProgram, frame: pl.DataFrame, lines: pl.DataFrame) -> _Plan:
    maxima = frame.select(pl.col("line_count").max(), pl.col("shipping").max()).row(0)
    max_amount = lines.select(pl.col("amount").max()).item()
    return _plan(compiled, int(max_amount or 0), int(maxima[0] or 0), int(maxima[1] or 0))


def _with_limits(
    frame: pl.DataFrame, prior: pl.DataFrame, rules: Sequence[CompiledRule]
) -> pl.DataFrame:
    """For rules with a limit: ``prior_<j>`` (prior usage) and, per period kind, the period
    key and ``starts_<period>``, true where a (member, period) run begins. The frame comes
    back sorted by (member, occurred_at, purchase key): a member's period keys never go
    back in time, so each (member, period) is one contiguous run; a purchase without a
    member is a run of its own."""
    limits = [(index, rule.rule.id, rule.rule.limit) for index, rule in enumerate(rules)]
    periods = {limit.period for _, _, limit in limits if limit is not None}
    if not periods:
        return frame
    frame = frame.with_columns(
        period_key(period).alias(f"period_{period.value}") for period in periods
    )
    for index, rule_id, limit in limits:
        if limit is None:
            continue
        column = f"period_{limit.period.value}"
        used = prior.filter(pl.col("rule_id") == rule_id).select(
            MEMBER, pl.col("period_key").alias(column), pl.col("used").alias(f"prior_{index}")
        )
        joined = frame.join(used, on=[MEMBER, column], how="left", maintain_order="left")
        frame = joined.with_columns(pl.col(f"prior_{index}").fill_null(0))
    member = pl.col(MEMBER)
    new_member = member.is_null() | member.ne_missing(member.shift())
    return (
        frame.drop("local")
        .sort([MEMBER, "at", KEY])
        .with_columns(
            (
                new_member
                | pl.col(f"period_{p.value}").ne_missing(pl.col(f"period_{p.value}").shift())
            ).alias(f"starts_{p.value}")
            for p in periods
        )
    )


def _applied_within_limit(candidate: pl.Expr, index: int, limit: Limit) -> pl.Expr:
    """A candidate applies while ``prior + earlier candidates in its run < per_member``."""
    count = candidate.cast(pl.Int64)
    running = count.cum_sum() - count  # candidates before this row, over the whole frame
    run_start = pl.when(pl.col(f"starts_{limit.period.value}")).then(running).forward_fill()
    return candidate & (pl.col(f"prior_{index}") + running - run_start < limit.per_member)


def _apply_rules(frame: pl.DataFrame, rules: Sequence[CompiledRule]) -> pl.DataFrame:
    """``applied_<j>`` for every rule, in evaluation order (see :func:`_with_limits`)."""
    stopped: pl.Expr = pl.lit(False)
    batch: list[pl.Expr] = []
    for index, rule in enumerate(rules):
        candidate = pl.col(f"cond_{index}") & ~stopped
        limit = rule.rule.limit
        applied = candidate if limit is None else _applied_within_limit(candidate, index, limit)
        batch.append(applied.alias(f"applied_{index}"))
        if rule.rule.stop_after:
            frame = frame.with_columns(batch)
            batch = []
            stopped = stopped | pl.col(f"applied_{index}")
    return frame.with_columns(batch) if batch else frame


def _with_weighted(frame: pl.DataFrame, lines: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """``weighted``: the sum of line amount x line coefficient (see the module docstring)."""
    if not plan.line_rules:
        return frame.with_columns(pl.col("goods").cast(plan.dtype).alias("weighted"))
    applied = frame.select(KEY, *(f"applied_{index}" for index, _ in plan.line_rules))
    joined = lines.join(applied, on=KEY, how="inner")
    amount = pl.col("amount").cast(plan.dtype)
    line_sum = (amount * plan.coefficient(plan.line_rules, scoped=True)).sum().alias("weighted")
    weighted = joined.group_by(KEY).agg(line_sum)
    frame = frame.join(weighted, on=KEY, how="left", maintain_order="left")
    return frame.with_columns(pl.col("weighted").fill_null(0).cast(plan.dtype))


def _points_columns(plan: _Plan) -> list[pl.Expr]:
    compiled, rules = plan.compiled, plan.compiled.rules
    shipping = plan.lit(0)
    if not compiled.exclude_shipping:
        shipping = pl.col("shipping").cast(plan.dtype)
    tier = pl.col("tier").replace_strict(
        plan.tiers, default=plan.tier_common, return_dtype=plan.dtype
    )
    eligible = pl.col("weighted") + shipping * plan.lit(plan.line_denominator)
    order = plan.coefficient(plan.order_rules, scoped=False)
    numerator = eligible * plan.lit(compiled.points) * order * tier.fill_null(plan.tier_common)
    bonuses = [
        pl.when(pl.col(f"applied_{index}")).then(rule.bonus).otherwise(0)
        for index, rule in enumerate(rules)
        if frame_effect(rule) is FrameEffect.BONUS
    ]
    bonus = pl.sum_horizontal(pl.lit(0, dtype=pl.Int64), *bonuses).cast(pl.Int64)
    points = plan.rounded(numerator, plan.denominator, compiled.rounding).cast(pl.Int64) + bonus
    unmultiplied = (pl.col("goods").cast(plan.dtype) + shipping) * plan.lit(compiled.points)
    base = plan.rounded(unmultiplied, compiled.per_amount, compiled.rounding)
    return [
        points.alias("points"),
        base.cast(pl.Int64).alias("base_points"),
        (eligible // plan.lit(plan.line_denominator)).cast(pl.Int64).alias("eligible"),
        bonus.alias("bonus_points"),
    ]


def _with_applied_ids(frame: pl.DataFrame, rules: Sequence[CompiledRule]) -> pl.DataFrame:
    """``applied_rule_ids``: the applied rules' ids in evaluation order, built once per
    distinct combination of applied rules and joined back."""
    if not rules:
        return frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("applied_rule_ids"))
    flags = [f"applied_{index}" for index in range(len(rules))]
    combinations = frame.select(flags).unique()
    ids = [
        [rule.rule.id for rule, applied in zip(rules, row, strict=True) if applied]
        for row in combinations.iter_rows()
    ]
    table = combinations.with_columns(pl.Series("applied_rule_ids", ids, dtype=pl.List(pl.String)))
    return frame.join(table, on=flags, how="left", maintain_order="left")


def score_frame(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    prior_usage: pl.DataFrame | None = None,
    purchase_key: str = "purchase_id",
    member_key: str = "member_id",
) -> pl.DataFrame:
    """Points for every purchase of ``purchases`` (see the module docstring for the output).

    Raises :class:`~patron.rules.errors.ScoringInputError` for malformed frames and
    :class:`~patron.rules.errors.ScoringOverflowError` when exactness cannot be guaranteed.
    """
    compiled = compile_program(program)
    rules = compiled.rules
    frame = prepare_purchases(purchases, purchase_key=purchase_key, member_key=member_key)
    line_frame = prepare_lines(lines, frame, purchase_key=purchase_key).with_columns(
        line_scope(rule.when).alias(f"scope_{index}")
        for index, rule in enumerate(rules)
        if rule.when.has_line_scope or frame_effect(rule) is FrameEffect.LINE_FACTOR
    )
    prior = prepare_prior_usage(prior_usage, frame, member_key=member_key)
    frame = _with_line_facts(frame, line_frame, rules)
    plan = _plan_for(compiled, frame, line_frame)
    frame = frame.with_columns(
        local_columns(compiled.timezone, exclude_shipping=compiled.exclude_shipping)
    ).select(  # only what the rest needs, so that sorting moves less
        KEY,
        ROW,
        MEMBER,
        "at",
        "local",
        "shipping",
        "tier",
        "goods",
        *(
            purchase_condition(rule.when, f"any_{index}").alias(f"cond_{index}")
            for index, rule in enumerate(rules)
        ),
    )
    frame = _with_weighted(_apply_rules(_with_limits(frame, prior, rules), rules), line_frame, plan)
    frame = _with_applied_ids(frame, rules).sort(ROW)
    return frame.select(pl.col(KEY).alias(purchase_key), *_points_columns(plan), "applied_rule_ids")
