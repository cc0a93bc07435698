"""Rules and rule sets: conditions, one points effect, deferred effects, a limit; a trigger.

``earning.rules`` is the ``purchase`` rule set, the only one evaluated today. A program may
declare rule sets of the other triggers under ``rule_sets``: they are validated and stored,
and run when the campaigns issue adds their runners (not yet).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from patron.kit.strict import Strict
from patron.rules.vocabulary.base import Limit, Slug
from patron.rules.vocabulary.conditions import Conditions
from patron.rules.vocabulary.effects import Deferred, Effect

_CRON_FIELD = r"[0-9*/,\-]+"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Trigger(StrEnum):
    """What runs a rule set."""

    PURCHASE = "purchase"
    SIGNUP = "signup"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    REFERRAL = "referral"
    REVIEW = "review"
    SURVEY = "survey"
    EVENT = "event"  # a custom event, named by the rule set's ``event``
    SCHEDULE = "schedule"  # a cron schedule, the rule set's ``schedule``


class EarnRule(Strict):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    when: Conditions = Conditions()
    effect: Effect
    deferred: list[Deferred] = Field(default_factory=list, exclude_if=lambda value: not value)
    priority: int = 0
    stop_after: bool = False
    limit: Limit | None = None


Rule = EarnRule


def trigger_problems(rule: EarnRule, trigger: Trigger) -> list[str]:
    """``field: message`` for what ``rule`` uses that ``trigger`` cannot give it."""
    problems = [
        f"when.{item.type.value}: needs a custom event; the trigger is {trigger.value}"
        for item in rule.when.items()
        if item.type.needs_event and trigger is not Trigger.EVENT
    ]
    if trigger is Trigger.PURCHASE:
        return problems
    problems += [
        f"when.{item.type.value}: needs a purchase; the trigger is {trigger.value}"
        for item in rule.when.items()
        if item.type.needs_purchase
    ]
    effect = rule.effect.typed().type
    if effect.needs_purchase:
        problems.append(f"effect.{effect.value}: needs a purchase; the trigger is {trigger.value}")
    return problems


class RuleSet(Strict):
    """Rules that run on ``trigger`` (any but ``purchase``: purchase rules are
    ``earning.rules``). ``event`` names the custom event of ``trigger: event``
    (``app.installed``); ``schedule`` is the cron expression of ``trigger: schedule``
    (five fields, in the program's time zone)."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    trigger: Trigger
    event: str | None = None
    schedule: str | None = None
    rules: list[EarnRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        if self.trigger is Trigger.PURCHASE:
            problems.append("trigger: purchase rules live in earning.rules")
        if (self.trigger is Trigger.EVENT) != (self.event is not None):
            problems.append("event: give it exactly when the trigger is event")
        elif self.event is not None and not _EVENT.fullmatch(self.event):
            problems.append("event: must be a dotted lowercase name such as app.installed")
        if (self.trigger is Trigger.SCHEDULE) != (self.schedule is not None):
            problems.append("schedule: give it exactly when the trigger is schedule")
        elif self.schedule is not None and not _CRON.fullmatch(self.schedule):
            problems.append("schedule: must be a cron expression of five fields (0 9 * * 1)")
        for index, rule in enumerate(self.rules):
            problems += [f"rules[{index}].{p}" for p in trigger_problems(rule, self.trigger)]
        if problems:
            raise ValueError("\n".join(problems))
        return self
