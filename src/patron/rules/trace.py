"""The trace of an evaluation: one :class:`RuleTrace` per rule, and the breakdown rows that
answer a member's "why did I get N points?".

Attribution (every row is an exact integer and the rows sum to the purchase's points):

* ``base``: the points with no rule and no tier, ``round(eligible_without_rules x rate)``;
* each applied multiplier rule, in evaluation order: the difference it made to the rounded
  points, ``round(after this rule) - round(before it)``, tier not yet applied (a multiplier
  below 1 gives a negative row);
* each applied bonus rule: its ``bonus_points`` (bonuses are never multiplied);
* ``tier``: ``round(everything x tier earn_multiplier) - round(everything)``;
* rules that did not apply: 0, with the reason.

The sum telescopes to ``round(final) + bonuses``, which is the purchase's points.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypedDict

from patron.rules.arithmetic import decimal_text
from patron.rules.vocabulary import Effect, EffectType, Limit


def effect_of(effect: Effect) -> tuple[EffectType, Decimal | int]:
    """The type of a rule's points effect and its multiplier or bonus."""
    typed = effect.typed()
    return typed.type, typed.value


class Outcome(StrEnum):
    APPLIED = "applied"
    CONDITIONS_NOT_MET = "conditions_not_met"
    LIMIT_REACHED = "limit_reached"
    STOPPED = "stopped"  # an earlier applied rule with stop_after: true ended evaluation


class BreakdownRow(TypedDict):
    rule_id: str
    name: str
    applied: bool
    reason: str | None
    effect: str
    value: str
    points: int


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """What one rule did to one purchase.

    ``failed_conditions`` names the conditions that did not hold; ``lines`` are the indexes of
    the lines a ``multiply_lines`` rule multiplied; ``usage`` is, for a rule with a limit, how
    many times it had already applied in the current period (from the context).
    """

    rule_id: str
    name: str
    outcome: Outcome
    effect: EffectType
    value: Decimal | int
    points: int = 0
    failed_conditions: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()
    usage: int | None = None
    limit: Limit | None = None
    stopped_by: str | None = None

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLIED

    @property
    def matched(self) -> bool:
        """All conditions held (the rule may still be blocked by its limit)."""
        return self.outcome in (Outcome.APPLIED, Outcome.LIMIT_REACHED)

    @property
    def reason(self) -> str | None:
        """Why the rule did not apply, in plain English; ``None`` when it applied."""
        if self.outcome is Outcome.CONDITIONS_NOT_MET:
            return "conditions not met: " + ", ".join(self.failed_conditions)
        if self.outcome is Outcome.LIMIT_REACHED and self.limit is not None:
            return (
                f"limit reached: already applied {self.usage} of {self.limit.per_member} "
                f"times per {self.limit.period.value}"
            )
        if self.outcome is Outcome.STOPPED:
            return f"not evaluated: rule {self.stopped_by!r} stops later rules"
        return None

    def to_row(self) -> BreakdownRow:
        value = decimal_text(self.value) if isinstance(self.value, Decimal) else str(self.value)
        return BreakdownRow(
            rule_id=self.rule_id,
            name=self.name,
            applied=self.applied,
            reason=self.reason,
            effect=self.effect.value,
            value=value,
            points=self.points,
        )
