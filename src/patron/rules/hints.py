"""Why-not hints for a quote: what the customer could do to make a rule apply.

A hint is given for a rule that was evaluated (not stopped by an earlier ``stop_after`` rule),
whose limit is not used up, and that failed on exactly one thing the customer controls:

* only ``order_total_gte`` failed: :attr:`HintKind.SPEND_MORE`, with the exact missing amount in
  minor units (``threshold - order total``; the order total excludes shipping when the program
  says so); the caller formats the money;
* only line conditions failed (no line of the category / sku): :attr:`HintKind.ADD_ITEM`, with
  the categories and skus that would qualify.

Hints are advice, not promises: adding an item also changes the total, which other conditions
of the rule (``order_total_lt``) may then refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from patron.rules.arithmetic import decimal_text
from patron.rules.compiled import CompiledConditions, CompiledRule, compile_program
from patron.rules.conditions import order_total
from patron.rules.context import PurchaseContext
from patron.rules.engine import Evaluation, evaluate
from patron.rules.program import RuleProgram as Program
from patron.rules.trace import Outcome, RuleTrace
from patron.rules.vocabulary import Conditions, ConditionType, EarnRule, EffectType


class HintKind(StrEnum):
    SPEND_MORE = "spend_more"
    ADD_ITEM = "add_item"


HINTS: dict[ConditionType, HintKind | None] = {
    ConditionType.LINE_CATEGORY_IN: HintKind.ADD_ITEM,
    ConditionType.LINE_SKU_IN: HintKind.ADD_ITEM,
    ConditionType.ORDER_TOTAL_GTE: HintKind.SPEND_MORE,
    ConditionType.ORDER_TOTAL_LT: None,  # spending less is not advice a shop gives
    ConditionType.CHANNEL_IN: None,
    ConditionType.STORE_IN: None,
    ConditionType.BETWEEN: None,
    ConditionType.WEEKDAY_IN: None,
    ConditionType.TIME_BETWEEN: None,
    ConditionType.TIER_IN: None,
    ConditionType.EVENT_ATTRIBUTE_IN: None,  # a purchase cannot meet it
}
"""The hints' registry: what a customer can do about each failing :class:`ConditionType`
(``None``: nothing they control at the till; ``tests/rules/test_registries.py``). A rule gets
a hint when every condition that failed leads to the same kind of hint."""


@dataclass(frozen=True, slots=True)
class Hint:
    """``spend <missing_amount> more`` or ``add an item of <categories>/<skus>`` to get
    ``effect`` with ``value`` (a multiplier or bonus points) from rule ``rule_id``."""

    kind: HintKind
    rule_id: str
    rule_name: str
    effect: EffectType
    value: Decimal | int
    missing_amount: int | None = None
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        value = decimal_text(self.value) if isinstance(self.value, Decimal) else str(self.value)
        return {
            "kind": self.kind.value,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "effect": self.effect.value,
            "value": value,
            "missing_amount": self.missing_amount,
            "categories": list(self.categories),
            "skus": list(self.skus),
        }


def _limit_left(rule: EarnRule, context: PurchaseContext) -> bool:
    return rule.limit is None or context.rule_usage.get(rule.id, 0) < rule.limit.per_member


def hint_for_failures(
    head: Hint,
    failed: Iterable[str],
    when: CompiledConditions,
    written: Conditions,
    total: int,
) -> Hint | None:
    """The hint for a rule (or a campaign) whose conditions ``failed`` (their names), given as
    ``head`` with its rule and effect; ``None`` when the failures call for no hint or for
    hints of different kinds."""
    kinds = {HINTS[ConditionType(name)] for name in failed}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    if kind is HintKind.SPEND_MORE and when.total_gte is not None:
        return replace(head, kind=kind, missing_amount=when.total_gte - total)
    if kind is HintKind.ADD_ITEM:
        return replace(
            head,
            kind=kind,
            categories=tuple(written.line_category_in or ()),
            skus=tuple(written.line_sku_in or ()),
        )
    return None


def _hint_for(rule: CompiledRule, trace: RuleTrace, total: int) -> Hint | None:
    source = rule.rule
    head = Hint(HintKind.SPEND_MORE, source.id, source.name, trace.effect, trace.value)
    return hint_for_failures(head, trace.failed_conditions, rule.when, source.when, total)


def hints(
    program: Program, context: PurchaseContext, evaluation: Evaluation | None = None
) -> list[Hint]:
    """Hints in evaluation order; pass ``evaluation`` when it is already at hand."""
    compiled = compile_program(program)
    evaluation = evaluation if evaluation is not None else evaluate(program, context)
    rules = {rule.rule.id: rule for rule in compiled.rules}
    total = order_total(compiled.exclude_shipping, context)
    found: list[Hint] = []
    for trace in evaluation.trace:
        rule = rules[trace.rule_id]
        if trace.outcome is not Outcome.CONDITIONS_NOT_MET or not _limit_left(rule.rule, context):
            continue
        hint = _hint_for(rule, trace, total)
        if hint is not None:
            found.append(hint)
    return found
