"""The pure per-event evaluator: ``evaluate(program, context) -> Evaluation``.

Arithmetic (the header of ``examples/seed-program.yaml``), exact, one rounding at the end:

    eligible = sum over lines of (line paid x product of the matching line multipliers)
               + shipping when ``earning.exclude_shipping`` is false (shipping is not a line,
                 so line multipliers never touch it)
    points   = round(eligible x base.points / base.per_amount (minor units)
                     x product of the matching order multipliers x tier earn_multiplier)
               + sum of the bonus_points of the matching rules

with ``round`` = ``base.rounding``. A line's paid amount is its amount less its own discount
and its share of the order-level discount (:mod:`patron.rules.allocation`).

An applied rule's deferred effects (``deferred``: issue a reward, credit a wallet, send a
message) are collected in :attr:`Evaluation.deferred`, in evaluation order; they change
neither the points nor the breakdown's points, and event handlers apply them after the event.

Rules run by priority descending, ties in file order. A rule applies when all its conditions
hold (:mod:`patron.rules.conditions`) and its limit is not used up
(``rule_usage[rule_id] >= per_member`` blocks it). An applied rule with ``stop_after: true``
ends the evaluation: later rules are reported as stopped. A rule blocked by its limit does not
stop anything. A purchase without a member evaluates normally (tier ``None``, no usage).

The engine never reads the clock, never queries and never mutates its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from patron.kit.money import format_amount
from patron.rules.allocation import paid_amounts
from patron.rules.arithmetic import decimal_text, round_ratio
from patron.rules.compiled import CompiledProgram, CompiledRule, Ratio, compile_program
from patron.rules.conditions import PurchaseFacts, check_conditions, purchase_facts
from patron.rules.context import PurchaseContext
from patron.rules.program import RuleProgram as Program
from patron.rules.trace import BreakdownRow, Outcome, RuleTrace
from patron.rules.vocabulary import DeferredEffect, EffectType


@dataclass(frozen=True, slots=True)
class DeferredAction:
    """A deferred effect of an applied rule: not points, and not in the breakdown. Event
    handlers apply it after the purchase has committed (the campaigns issue adds them)."""

    rule_id: str
    effect: DeferredEffect


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The points of one purchase and why (see :mod:`patron.rules.trace` for attribution).

    ``eligible`` is the multiplied eligible spend rounded down to a whole minor unit (for
    display; the points use ``eligible_exact``). ``base_points`` are the points the purchase
    would earn with no rule and no tier, rounded the same way.
    """

    points: int
    base_points: int
    eligible: int
    eligible_exact: Fraction
    bonus_points: int
    tier_id: str | None
    tier_name: str | None
    tier_multiplier: Decimal
    tier_points: int
    trace: tuple[RuleTrace, ...]
    base_rate_text: str
    deferred: tuple[DeferredAction, ...] = ()

    @property
    def applied_rule_ids(self) -> tuple[str, ...]:
        return tuple(trace.rule_id for trace in self.trace if trace.applied)

    def to_breakdown(self) -> list[BreakdownRow]:
        """JSON-able rows: base, one per rule in evaluation order, tier; points sum to total."""
        base = BreakdownRow(
            rule_id="base",
            name="Base rate",
            applied=True,
            reason=None,
            effect="base",
            value=self.base_rate_text,
            points=self.base_points,
        )
        has_tier = self.tier_name is not None
        tier = BreakdownRow(
            rule_id="tier",
            name=self.tier_name or "No tier",
            applied=has_tier,
            reason=None if has_tier else _no_tier_reason(self.tier_id),
            effect="tier",
            value=decimal_text(self.tier_multiplier),
            points=self.tier_points,
        )
        return [base, *(trace.to_row() for trace in self.trace), tier]


def _no_tier_reason(tier_id: str | None) -> str:
    return "no tier" if tier_id is None else f"unknown tier {tier_id!r}"


class _Running:
    """The evaluation's working state, in integers: eligible spend is
    ``(sum of amount x line numerator + shipping x line denominator) / line denominator``, so
    a line rule multiplies the lines in scope by ``a`` and the others by ``b`` (and the
    denominator by ``b``); the order factor is ``order[0] / order[1]``."""

    def __init__(self, compiled: CompiledProgram, context: PurchaseContext) -> None:
        self.compiled = compiled
        self.amounts = paid_amounts(context)
        self.numerators = [1] * len(self.amounts)
        self.denominator = 1
        self.order: Ratio = (1, 1)
        self.shipping = 0 if compiled.exclude_shipping else context.shipping

    def eligible(self) -> int:
        """The eligible spend times ``self.denominator`` (an exact integer)."""
        pairs = zip(self.amounts, self.numerators, strict=True)
        return sum(amount * factor for amount, factor in pairs) + self.shipping * self.denominator

    def points(self, tier: Ratio = (1, 1)) -> int:
        compiled = self.compiled
        numerator = self.eligible() * compiled.points * self.order[0] * tier[0]
        denominator = self.denominator * compiled.per_amount * self.order[1] * tier[1]
        return round_ratio(numerator, denominator, compiled.rounding)

    def apply(self, rule: CompiledRule, lines: tuple[int, ...]) -> int:
        """Apply one effect and return the points it contributed (see the trace module)."""
        return EFFECTS[rule.kind](self, rule, lines)


def _multiply_lines(running: _Running, rule: CompiledRule, lines: tuple[int, ...]) -> int:
    before = running.points()
    a, b = rule.ratio
    scope = set(lines)
    running.numerators = [n * (a if i in scope else b) for i, n in enumerate(running.numerators)]
    running.denominator *= b
    return running.points() - before


def _multiply_order(running: _Running, rule: CompiledRule, lines: tuple[int, ...]) -> int:
    before = running.points()
    a, b = rule.ratio
    running.order = (running.order[0] * a, running.order[1] * b)
    return running.points() - before


def _bonus_points(running: _Running, rule: CompiledRule, lines: tuple[int, ...]) -> int:
    return rule.bonus


EFFECTS: dict[EffectType, Callable[[_Running, CompiledRule, tuple[int, ...]], int]] = {
    EffectType.MULTIPLY_LINES: _multiply_lines,
    EffectType.MULTIPLY_ORDER: _multiply_order,
    EffectType.BONUS_POINTS: _bonus_points,
}
"""The per-event evaluator's registry of immediate effects: each applies one rule's effect to
the running evaluation and returns the points it made (``tests/rules/test_registries.py``)."""


def _trace(
    rule: CompiledRule,
    usage: int | None,
    outcome: Outcome,
    *,
    points: int = 0,
    failed: tuple[str, ...] = (),
    lines: tuple[int, ...] = (),
    stopped_by: str | None = None,
) -> RuleTrace:
    return RuleTrace(
        rule_id=rule.rule.id,
        name=rule.rule.name,
        outcome=outcome,
        effect=rule.kind,
        value=rule.value,
        points=points,
        failed_conditions=failed,
        lines=lines,
        usage=usage,
        limit=rule.rule.limit,
        stopped_by=stopped_by,
    )


def _evaluate_rule(
    rule: CompiledRule, facts: PurchaseFacts, running: _Running, stopped_by: str | None
) -> RuleTrace:
    limit = rule.rule.limit
    usage = facts.context.rule_usage.get(rule.rule.id, 0) if limit is not None else None
    if stopped_by is not None:
        return _trace(rule, usage, Outcome.STOPPED, stopped_by=stopped_by)
    result = check_conditions(rule.when, facts)
    if not result.holds:
        return _trace(rule, usage, Outcome.CONDITIONS_NOT_MET, failed=result.failed)
    if limit is not None and usage is not None and usage >= limit.per_member:
        return _trace(rule, usage, Outcome.LIMIT_REACHED)
    lines = result.lines if rule.kind is EffectType.MULTIPLY_LINES else ()
    return _trace(rule, usage, Outcome.APPLIED, points=running.apply(rule, lines), lines=lines)


def evaluate(program: Program, context: PurchaseContext) -> Evaluation:
    """Score one purchase under ``program``; pure and deterministic."""
    compiled = compile_program(program)
    facts = purchase_facts(compiled, context)
    running = _Running(compiled, context)
    base_points = running.points()
    traces: list[RuleTrace] = []
    stopped_by: str | None = None
    for rule in compiled.rules:
        trace = _evaluate_rule(rule, facts, running, stopped_by)
        traces.append(trace)
        if trace.applied and rule.rule.stop_after:
            stopped_by = rule.rule.id
    tier = compiled.tier(context.tier_id)
    before_tier = running.points()
    final = running.points(tier.ratio) if tier is not None else before_tier
    bonus = sum(t.points for t in traces if t.applied and t.effect is EffectType.BONUS_POINTS)
    eligible = Fraction(running.eligible(), running.denominator)
    per_amount = format_amount(compiled.per_amount, compiled.currency)
    return Evaluation(
        points=final + bonus,
        base_points=base_points,
        eligible=eligible.numerator // eligible.denominator,
        eligible_exact=eligible,
        bonus_points=bonus,
        tier_id=context.tier_id,
        tier_name=tier.name if tier is not None else None,
        tier_multiplier=tier.multiplier if tier is not None else Decimal(1),
        tier_points=final - before_tier,
        trace=tuple(traces),
        base_rate_text=f"{compiled.points} per {per_amount} {compiled.currency}",
        deferred=tuple(
            DeferredAction(rule.rule.id, item.typed())
            for rule, trace in zip(compiled.rules, traces, strict=True)
            if trace.applied
            for item in rule.rule.deferred
        ),
    )
