"""Per-event condition checks: which conditions of a rule fail for a purchase, and which lines
are in the rule's scope.

All given conditions must hold. ``order_total_gte`` / ``order_total_lt`` compare the order
total, which is ``total - shipping`` when ``earning.exclude_shipping`` is true and ``total``
otherwise. Dates, weekdays and times of day are read in the program's time zone: ``between``
is inclusive on both local dates; ``time_between`` is ``[start, end)`` in local time, wrapping
past midnight when ``end < start`` (``start == end`` never holds). ``tier_in``, ``channel_in``
and ``store_in`` never hold for a missing value. Line conditions select lines whose category
is in ``line_category_in`` AND whose sku is in ``line_sku_in`` (each only when given); the rule
needs at least one such line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from patron.rules.compiled import CompiledConditions, CompiledProgram
from patron.rules.context import LineContext, PurchaseContext


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


def _in_scope(when: CompiledConditions, line: LineContext) -> bool:
    if when.categories is not None and line.category not in when.categories:
        return False
    return when.skus is None or line.sku in when.skus


def _line_failures(when: CompiledConditions, lines: tuple[LineContext, ...]) -> list[str]:
    """Which line conditions to blame when no line is in scope: those that no line meets on
    its own, or both when each is met by some line but never by the same one."""
    failed: list[str] = []
    categories, skus = when.categories, when.skus
    if categories is not None and not any(line.category in categories for line in lines):
        failed.append("line_category_in")
    if skus is not None and not any(line.sku in skus for line in lines):
        failed.append("line_sku_in")
    return failed or ["line_category_in", "line_sku_in"]


def _order_failures(when: CompiledConditions, facts: PurchaseFacts) -> list[str]:
    context, total = facts.context, facts.order_total
    failed: list[str] = []
    if when.total_gte is not None and total < when.total_gte:
        failed.append("order_total_gte")
    if when.total_lt is not None and total >= when.total_lt:
        failed.append("order_total_lt")
    if when.channels is not None and context.channel not in when.channels:
        failed.append("channel_in")
    if when.stores is not None and context.store not in when.stores:
        failed.append("store_in")
    return failed


def _calendar_failures(when: CompiledConditions, moment: datetime) -> list[str]:
    failed: list[str] = []
    if when.between is not None and not when.between[0] <= moment.date() <= when.between[1]:
        failed.append("between")
    if when.weekdays is not None and moment.weekday() not in when.weekdays:
        failed.append("weekday_in")
    if when.time_window is not None and not time_in_window(moment.time(), *when.time_window):
        failed.append("time_between")
    return failed


def check_conditions(when: CompiledConditions, facts: PurchaseFacts) -> ConditionResult:
    """Every condition of ``when`` checked against the purchase (no short cut, so that the
    trace and the hints can name all that fail)."""
    lines = facts.context.lines
    if when.has_line_scope:
        scope = tuple(index for index, line in enumerate(lines) if _in_scope(when, line))
        failed = [] if scope else _line_failures(when, lines)
    else:
        scope, failed = tuple(range(len(lines))), []
    failed += _order_failures(when, facts)
    failed += _calendar_failures(when, facts.local_time)
    if when.tiers is not None and facts.context.tier_id not in when.tiers:
        failed.append("tier_in")
    return ConditionResult(failed=tuple(failed), lines=scope)
