"""Every evaluator has a registry entry for every condition and effect type (issue 11, part 6).

Adding a member to :class:`ConditionType` or :class:`EffectType` without teaching each
evaluator about it fails here, before any program could use the new type:

* conditions: the per-event checks, the vectorised expressions, the batch trace's failure
  reasons and the quote's hints;
* immediate effects: the per-event engine, the vectorised scorer and the batch trace;
* deferred effects: the handler that applies them after the purchase
  (``campaigns.deferred.DEFERRED``; an entry may be ``None``: accepted, not applied yet).

The registries must also agree on which conditions select lines: a line condition has a line
check in each evaluator, a purchase condition a purchase check.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pytest

from patron.campaigns.deferred import DEFERRED
from patron.purchases.bulk import trace as bulk_trace
from patron.purchases.bulk import trace_reasons
from patron.rules import conditions, engine, frame_conditions, vectorised
from patron.rules.hints import HINTS
from patron.rules.vocabulary import ConditionType, EffectKind, EffectType

CONDITION_REGISTRIES: dict[str, Mapping[ConditionType, Any]] = {
    "per-event (rules.conditions.CHECKS)": conditions.CHECKS,
    "vectorised (rules.frame_conditions.FRAME_CHECKS)": frame_conditions.FRAME_CHECKS,
    "trace (purchases.bulk.trace_reasons.FAILURES)": trace_reasons.FAILURES,
    "hints (rules.hints.HINTS)": HINTS,
}
EFFECT_REGISTRIES: dict[str, Mapping[EffectType, Any]] = {
    "per-event (rules.engine.EFFECTS)": engine.EFFECTS,
    "vectorised (rules.vectorised.FRAME_EFFECTS)": vectorised.FRAME_EFFECTS,
    "trace (purchases.bulk.trace.TRACE_EFFECTS)": bulk_trace.TRACE_EFFECTS,
}
IMMEDIATE = [kind for kind in EffectType if kind.kind is EffectKind.IMMEDIATE]


def gaps(registry: Mapping[Any, Any], members: list[Any]) -> tuple[list[str], list[str]]:
    """(types without an entry, entries for no type), by value."""
    missing = [str(member.value) for member in members if member not in registry]
    extra = [str(key.value) for key in registry if key not in members]
    return missing, extra


@pytest.mark.parametrize("name", sorted(CONDITION_REGISTRIES))
def test_every_condition_type_has_an_entry(name: str) -> None:
    assert gaps(CONDITION_REGISTRIES[name], list(ConditionType)) == ([], [])


@pytest.mark.parametrize("name", sorted(EFFECT_REGISTRIES))
def test_every_immediate_effect_type_has_an_entry(name: str) -> None:
    assert gaps(EFFECT_REGISTRIES[name], IMMEDIATE) == ([], [])


def test_every_deferred_effect_type_has_an_entry() -> None:
    deferred = [kind for kind in EffectType if kind.kind is EffectKind.DEFERRED]
    assert gaps(DEFERRED, deferred) == ([], [])


def test_the_evaluators_agree_on_which_conditions_select_lines() -> None:
    for kind in ConditionType:
        line_kinds = (
            isinstance(conditions.CHECKS[kind], conditions.LineCheck),
            isinstance(frame_conditions.FRAME_CHECKS[kind], frame_conditions.LineFrame),
            isinstance(trace_reasons.FAILURES[kind], trace_reasons.LineFailure),
        )
        assert line_kinds == (kind.is_line,) * 3, kind


def test_the_scorer_and_the_trace_attribute_effects_alike() -> None:
    assert dict(vectorised.FRAME_EFFECTS) == dict(bulk_trace.TRACE_EFFECTS)


def test_a_type_without_an_entry_is_named() -> None:
    """The check itself can fail: a registry that lacks a member of a larger enum."""

    class Grown(StrEnum):
        OLD = "old"
        NEW = "new"

    assert gaps({Grown.OLD: object()}, list(Grown)) == (["new"], [])
    assert gaps({Grown.OLD: 1, Grown.NEW: 2}, [Grown.OLD]) == ([], ["new"])
