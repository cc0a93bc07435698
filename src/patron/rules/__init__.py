"""The rules engine: a pure per-event evaluator (:func:`evaluate`), "why not" hints
(:func:`hints`) and limit periods. The vectorised Polars evaluator lives in
:mod:`patron.rules.vectorised` and is not imported here, so that the hot path of a purchase
does not load Polars."""

from patron.rules.context import LineContext, PurchaseContext
from patron.rules.engine import DeferredAction, Evaluation, evaluate
from patron.rules.hints import Hint, HintKind, hints
from patron.rules.periods import limit_period_bounds, limit_period_key
from patron.rules.trace import BreakdownRow, Outcome, RuleTrace
from patron.rules.vocabulary import EffectKind, EffectType, Trigger

__all__ = [
    "BreakdownRow",
    "DeferredAction",
    "EffectKind",
    "EffectType",
    "Evaluation",
    "Hint",
    "HintKind",
    "LineContext",
    "Outcome",
    "PurchaseContext",
    "RuleTrace",
    "Trigger",
    "evaluate",
    "hints",
    "limit_period_bounds",
    "limit_period_key",
]
