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
from datetime import date, datetime, time

from patron.kit.time import local
from patron.programs.schema import Conditions, Program
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


def order_total(program: Program, context: PurchaseContext) -> int:
    if program.earning.exclude_shipping:
        return context.total - context.shipping
    return context.total


def purchase_facts(program: Program, context: PurchaseContext) -> PurchaseFacts:
    return PurchaseFacts(
        local_time=local(context.occurred_at, program.program.timezone),
        order_total=order_total(program, context),
        context=context,
    )


def time_in_window(moment: time, start: time, end: time) -> bool:
    """``[start, end)`` on a clock face; wraps midnight when ``end < start``."""
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def _line_in_scope(when: Conditions, line: LineContext) -> bool:
    category_ok = when.line_category_in is None or line.category in when.line_category_in
    return category_ok and (when.line_sku_in is None or line.sku in when.line_sku_in)


def _line_failures(when: Conditions, lines: tuple[LineContext, ...]) -> tuple[str, ...]:
    """Which line conditions to blame when no line is in scope: those that no line meets on
    its own, or both when each is met by some line but never by the same one."""
    failed: list[str] = []
    if when.line_category_in is not None and not any(
        line.category in when.line_category_in for line in lines
    ):
        failed.append("line_category_in")
    if when.line_sku_in is not None and not any(line.sku in when.line_sku_in for line in lines):
        failed.append("line_sku_in")
    return tuple(failed) or ("line_category_in", "line_sku_in")


def _between(bounds: tuple[date, date], day: date) -> bool:
    return bounds[0] <= day <= bounds[1]


def _order_failures(when: Conditions, facts: PurchaseFacts) -> list[str]:
    context, moment = facts.context, facts.local_time
    checks: list[tuple[str, bool | None]] = [
        ("order_total_gte", None if when.order_total_gte is None else False),
        ("order_total_lt", None if when.order_total_lt is None else False),
        ("channel_in", None if when.channel_in is None else context.channel in when.channel_in),
        ("store_in", None if when.store_in is None else context.store in when.store_in),
        ("between", None if when.between is None else _between(when.between, moment.date())),
        (
            "weekday_in",
            None
            if when.weekday_in is None
            else moment.weekday() in {day.index for day in when.weekday_in},
        ),
        (
            "time_between",
            None
            if when.time_between is None
            else time_in_window(moment.time(), *when.time_between),
        ),
        ("tier_in", None if when.tier_in is None else context.tier_id in when.tier_in),
    ]
    return [name for name, held in checks if held is False]


def check_conditions(program: Program, when: Conditions, facts: PurchaseFacts) -> ConditionResult:
    """Every condition of ``when`` checked against the purchase (no short cut, so that the
    trace and the hints can name all that fail)."""
    failed: list[str] = []
    lines = facts.context.lines
    scope = tuple(i for i, line in enumerate(lines) if _line_in_scope(when, line))
    if when.has_line_scope and not scope:
        failed.extend(_line_failures(when, lines))
    if when.order_total_gte is not None and facts.order_total < program.minor(when.order_total_gte):
        failed.append("order_total_gte")
    if when.order_total_lt is not None and facts.order_total >= program.minor(when.order_total_lt):
        failed.append("order_total_lt")
    failed.extend(_order_failures(when, facts))
    return ConditionResult(failed=tuple(failed), lines=scope)
