"""The rule vocabulary: condition, effect and trigger types (enums, typed models and their
discriminated unions) and the rules and rule sets a program file is written in. Pure: it
imports nothing but :mod:`patron.kit`."""

from patron.rules.vocabulary.base import Limit, LimitPeriod, Rounding, Weekday
from patron.rules.vocabulary.campaigns import Campaign, CampaignStatus, Stacking
from patron.rules.vocabulary.conditions import Condition, Conditions, ConditionType
from patron.rules.vocabulary.effects import (
    Deferred,
    DeferredEffect,
    Effect,
    EffectKind,
    EffectType,
    PointsEffect,
)
from patron.rules.vocabulary.prizes import Prize, Raffle
from patron.rules.vocabulary.rules import EarnRule, Rule, RuleSet, Trigger

__all__ = [
    "Campaign",
    "CampaignStatus",
    "Condition",
    "ConditionType",
    "Conditions",
    "Deferred",
    "DeferredEffect",
    "EarnRule",
    "Effect",
    "EffectKind",
    "EffectType",
    "Limit",
    "LimitPeriod",
    "PointsEffect",
    "Prize",
    "Raffle",
    "Rounding",
    "Rule",
    "RuleSet",
    "Stacking",
    "Trigger",
    "Weekday",
]
