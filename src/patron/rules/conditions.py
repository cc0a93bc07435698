"""Per-event condition checks: which conditions of a rule fail for a purchase, and which lines
are in the rule's scope.

All given conditions must hold. ``order_total_gte`` / ``order_total_lt`` compare the order
total, which is ``total - shipping`` when ``earning.exclude_shipping`` is true and ``total``
otherwise. Dates, weekdays and times of day are read in the program's time zone: ``between``
is inclusive on both local dates; ``time_between`` is ``[start, end)`` in local time, wrapping
past midnight when ``end < start`` (``start == end`` never holds). ``tier_in``, ``channel_in``
and ``store_in`` never hold for a missing value. Line conditions select lines whose category
is in ``line_category_in`` AND whose sku is in ``line_sku_in`` (each only when given); the rule
needs at least one such line. ``event_attribute_in`` holds when each attribute it names is
in the custom event's ``attributes`` with one of its values (never for a purchase).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from patron.rules.compiled import CompiledConditions, CompiledProgram, typed_value
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.vocabulary import ConditionType


@dataclass(frozen=True, slots=True)
class PurchaseFacts:
    """The purchase read in the program's terms: local time and the order total."""

    local_time: datetime
    order_total: int
    context: PurchaseContext


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """``failed``: names of the conditions that do not hold, in schema order (empty: the rule
    matches). ``lines``: indexes of the lines in scope (every line without line conditions)."""

    failed: tuple[str, ...]
    lines: tuple[int, ...]

    @property
    def holds(self) -> bool:
        return not self.failed


def order_total(exclude_shipping: bool, context: PurchaseContext) -> int:
    return context.total - context.shipping if exclude_shipping else context.total


def purchase_facts(compiled: CompiledProgram, context: PurchaseContext) -> PurchaseFacts:
    return PurchaseFacts(
        local_time=context.occurred_at.astimezone(compiled.zone),
        order_total=order_total(compiled.exclude_shipping, context),
        context=context,
    )


def time_in_window(moment: time, start: time, end: time) -> bool:
    """``[start, end)`` on a clock face; wraps midnight when ``end < start``."""
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


LineTest = Callable[[CompiledConditions, LineContext], bool]
PurchaseTest = Callable[[CompiledConditions, PurchaseFacts], bool]


@dataclass(frozen=True, slots=True)
class LineCheck:
    """A line condition: ``keeps`` says whether a line meets it (the rule's scope is the lines
    that meet every line condition)."""

    keeps: LineTest


@dataclass(frozen=True, slots=True)
class PurchaseCheck:
    """A condition on the whole purchase: ``holds`` says whether the purchase meets it."""

    holds: PurchaseTest


def _member(values: frozenset[str] | None, value: str | None) -> bool:
    """``value`` is one of ``values``; ``None`` values (not given) hold for anything, a missing
    ``value`` never meets a given set."""
    return values is None or (value is not None and value in values)


def _category(when: CompiledConditions, line: LineContext) -> bool:
    return _member(when.categories, line.category)


def _sku(when: CompiledConditions, line: LineContext) -> bool:
    return _member(when.skus, line.sku)


def _total_gte(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return when.total_gte is None or facts.order_total >= when.total_gte


def _total_lt(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return when.total_lt is None or facts.order_total < when.total_lt


def _channel(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return _member(when.channels, facts.context.channel)


def _store(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return _member(when.stores, facts.context.store)


def _between(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    span = when.between
    return span is None or span[0] <= facts.local_time.date() <= span[1]


def _weekday(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return when.weekdays is None or facts.local_time.weekday() in when.weekdays


def _time_window(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    window = when.time_window
    return window is None or time_in_window(facts.local_time.time(), *window)


def _tier(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    return _member(when.tiers, facts.context.tier_id)


def _event_attributes(when: CompiledConditions, facts: PurchaseFacts) -> bool:
    """Each attribute named is in the custom event and holds one of its values (of the same
    kind); never holds without an event (a purchase has no attributes)."""
    wanted = when.event_attributes
    if wanted is None:
        return True
    given = facts.context.attributes
    if given is None:
        return False
    return all(
        name in given and typed_value(given[name]) in values for name, values in wanted.items()
    )


CHECKS: dict[ConditionType, LineCheck | PurchaseCheck] = {
    ConditionType.LINE_CATEGORY_IN: LineCheck(_category),
    ConditionType.LINE_SKU_IN: LineCheck(_sku),
    ConditionType.ORDER_TOTAL_GTE: PurchaseCheck(_total_gte),
    ConditionType.ORDER_TOTAL_LT: PurchaseCheck(_total_lt),
    ConditionType.CHANNEL_IN: PurchaseCheck(_channel),
    ConditionType.STORE_IN: PurchaseCheck(_store),
    ConditionType.BETWEEN: PurchaseCheck(_between),
    ConditionType.WEEKDAY_IN: PurchaseCheck(_weekday),
    ConditionType.TIME_BETWEEN: PurchaseCheck(_time_window),
    ConditionType.TIER_IN: PurchaseCheck(_tier),
    ConditionType.EVENT_ATTRIBUTE_IN: PurchaseCheck(_event_attributes),
}
"""The per-event evaluator's registry: one check per :class:`ConditionType` (a line check for
the line conditions, a purchase check for the others; ``tests/rules/test_registries.py``)."""


def _line_tests(when: CompiledConditions) -> list[LineTest]:
    tests: list[LineTest] = []
    for kind in when.line_kinds:
        check = CHECKS[kind]
        if not isinstance(check, LineCheck):  # pragma: no cover - the registry test holds it
            raise TypeError(f"{kind.value} is a line condition without a line check")
        tests.append(check.keeps)
    return tests


def _line_failures(
    when: CompiledConditions, tests: list[LineTest], lines: tuple[LineContext, ...]
) -> list[str]:
    """Which line conditions to blame when no line is in scope: those that no line meets on
    its own, or all of them when each is met by some line but never by the same one."""
    failed = [
        kind.value
        for kind, test in zip(when.line_kinds, tests, strict=True)
        if not any(test(when, line) for line in lines)
    ]
    return failed or [kind.value for kind in when.line_kinds]


def check_conditions(when: CompiledConditions, facts: PurchaseFacts) -> ConditionResult:
    """Every condition of ``when`` checked against the purchase (no short cut, so that the
    trace and the hints can name all that fail), in the order of :class:`ConditionType`:
    the line conditions come first there."""
    lines = facts.context.lines
    if when.line_kinds:
        tests = _line_tests(when)
        scope = tuple(
            index for index, line in enumerate(lines) if all(test(when, line) for test in tests)
        )
        failed = [] if scope else _line_failures(when, tests, lines)
    else:
        scope, failed = tuple(range(len(lines))), []
    for kind in when.purchase_kinds:
        check = CHECKS[kind]
        if isinstance(check, PurchaseCheck) and not check.holds(when, facts):
            failed.append(kind.value)
    return ConditionResult(failed=tuple(failed), lines=scope)
