"""Rule conditions as Polars expressions, mirroring :mod:`patron.rules.conditions` exactly.

Purchase expressions read the internal columns of :func:`frame_inputs.prepare_purchases`
plus ``order_total``, ``local_date``, ``local_weekday`` (1 = Monday) and ``local_time``; the
``any_<j>`` column says whether the purchase has a line in the scope of rule ``j``. Local
times come from Polars' own time zone database (chrono-tz), the per-event path uses the
system's (zoneinfo): keep both current, or the two could disagree on a zone's future rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from patron.rules.compiled import CompiledConditions
from patron.rules.periods import LIFETIME_KEY
from patron.rules.vocabulary import ConditionType, LimitPeriod


def local_columns(timezone: str, *, exclude_shipping: bool) -> list[pl.Expr]:
    moment = pl.col("at").dt.convert_time_zone(timezone)
    total = pl.col("total") - pl.col("shipping") if exclude_shipping else pl.col("total")
    return [
        total.alias("order_total"),
        moment.dt.date().alias("local_date"),
        moment.dt.weekday().alias("local_weekday"),
        moment.dt.time().alias("local_time"),
        moment.alias("local"),
    ]


def _member_of(column: str, values: frozenset[str] | None) -> pl.Expr:
    if values is None:  # pragma: no cover - only given conditions are built
        return pl.lit(True)
    return pl.col(column).is_in(sorted(values)).fill_null(False)


FrameExpression = Callable[[CompiledConditions], pl.Expr]


@dataclass(frozen=True, slots=True)
class LineFrame:
    """A line condition as an expression over the lines (``category``, ``sku``)."""

    expression: FrameExpression


@dataclass(frozen=True, slots=True)
class PurchaseFrame:
    """A condition on the whole purchase, as an expression over the purchase columns."""

    expression: FrameExpression


def _between(when: CompiledConditions) -> pl.Expr:
    if when.between is None:  # pragma: no cover - only given conditions are built
        return pl.lit(True)
    first, last = when.between
    return pl.col("local_date").is_between(first, last, closed="both")


def _weekdays(when: CompiledConditions) -> pl.Expr:
    return pl.col("local_weekday").is_in(sorted(day + 1 for day in when.weekdays or ()))


def _time_window(when: CompiledConditions) -> pl.Expr:
    if when.time_window is None:  # pragma: no cover - only given conditions are built
        return pl.lit(True)
    start, end = when.time_window
    moment, low, high = pl.col("local_time"), pl.lit(start), pl.lit(end)
    if start <= end:
        return (moment >= low) & (moment < high)
    return (moment >= low) | (moment < high)


FRAME_CHECKS: dict[ConditionType, LineFrame | PurchaseFrame] = {
    ConditionType.LINE_CATEGORY_IN: LineFrame(lambda when: _member_of("category", when.categories)),
    ConditionType.LINE_SKU_IN: LineFrame(lambda when: _member_of("sku", when.skus)),
    ConditionType.ORDER_TOTAL_GTE: PurchaseFrame(
        lambda when: pl.col("order_total") >= (when.total_gte or 0)
    ),
    ConditionType.ORDER_TOTAL_LT: PurchaseFrame(
        lambda when: pl.col("order_total") < (when.total_lt or 0)
    ),
    ConditionType.CHANNEL_IN: PurchaseFrame(lambda when: _member_of("channel", when.channels)),
    ConditionType.STORE_IN: PurchaseFrame(lambda when: _member_of("store", when.stores)),
    ConditionType.BETWEEN: PurchaseFrame(_between),
    ConditionType.WEEKDAY_IN: PurchaseFrame(_weekdays),
    ConditionType.TIME_BETWEEN: PurchaseFrame(_time_window),
    ConditionType.TIER_IN: PurchaseFrame(lambda when: _member_of("tier", when.tiers)),
    # a purchase has no custom event's attributes (validation keeps the condition to
    # ``trigger: event``), so it never holds here, as in the per-event check
    ConditionType.EVENT_ATTRIBUTE_IN: PurchaseFrame(lambda when: pl.lit(False)),
}
"""The vectorised evaluator's registry, one expression per :class:`ConditionType` (mirrors
:data:`patron.rules.conditions.CHECKS`; ``tests/rules/test_registries.py``)."""


def _expressions(when: CompiledConditions, kinds: tuple[ConditionType, ...]) -> list[pl.Expr]:
    return [FRAME_CHECKS[kind].expression(when) for kind in kinds]


def line_scope(when: CompiledConditions) -> pl.Expr:
    """Whether a line (``category``, ``sku``) is in the rule's scope; True without scope."""
    return pl.all_horizontal([pl.lit(True), *_expressions(when, when.line_kinds)])


def line_condition(when: CompiledConditions, kind: ConditionType) -> pl.Expr:
    """Whether a line meets the one line condition ``kind`` of ``when``."""
    return FRAME_CHECKS[kind].expression(when)


def purchase_condition(when: CompiledConditions, any_column: str) -> pl.Expr:
    """All conditions of ``when`` for a purchase row (``any_column`` holds its line scope)."""
    parts = [pl.lit(True), *_expressions(when, when.purchase_kinds)]
    if when.has_line_scope:
        parts.append(pl.col(any_column))
    return pl.all_horizontal(parts)


_FORMATS = {
    LimitPeriod.DAY: "%Y-%m-%d",
    LimitPeriod.WEEK: "%G-W%V",
    LimitPeriod.MONTH: "%Y-%m",
    LimitPeriod.YEAR: "%Y",
}


def period_key(period: LimitPeriod) -> pl.Expr:
    """The same keys as :func:`patron.rules.periods.limit_period_key`, from ``local``."""
    if period is LimitPeriod.LIFETIME:
        return pl.lit(LIFETIME_KEY)
    return pl.col("local").dt.strftime(_FORMATS[period])
