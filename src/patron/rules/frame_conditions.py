"""Rule conditions as Polars expressions, mirroring :mod:`patron.rules.conditions` exactly.

Purchase expressions read the internal columns of :func:`frame_inputs.prepare_purchases`
plus ``order_total``, ``local_date``, ``local_weekday`` (1 = Monday) and ``local_time``; the
``any_<j>`` column says whether the purchase has a line in the scope of rule ``j``. Local
times come from Polars' own time zone database (chrono-tz), the per-event path uses the
system's (zoneinfo): keep both current, or the two could disagree on a zone's future rules.
"""

from __future__ import annotations

from datetime import time

import polars as pl

from patron.rules.compiled import CompiledConditions
from patron.rules.periods import LIFETIME_KEY
from patron.rules.vocabulary import LimitPeriod


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


def _member_of(column: str, values: frozenset[str]) -> pl.Expr:
    return pl.col(column).is_in(sorted(values)).fill_null(False)


def line_scope(when: CompiledConditions) -> pl.Expr:
    """Whether a line (``category``, ``sku``) is in the rule's scope; True without scope."""
    parts = [pl.lit(True)]
    if when.categories is not None:
        parts.append(_member_of("category", when.categories))
    if when.skus is not None:
        parts.append(_member_of("sku", when.skus))
    return pl.all_horizontal(parts)


def _time_window(start: time, end: time) -> pl.Expr:
    moment, low, high = pl.col("local_time"), pl.lit(start), pl.lit(end)
    if start <= end:
        return (moment >= low) & (moment < high)
    return (moment >= low) | (moment < high)


def _calendar(when: CompiledConditions) -> list[pl.Expr]:
    parts: list[pl.Expr] = []
    if when.between is not None:
        first, last = when.between
        parts.append(pl.col("local_date").is_between(first, last, closed="both"))
    if when.weekdays is not None:
        parts.append(pl.col("local_weekday").is_in(sorted(day + 1 for day in when.weekdays)))
    if when.time_window is not None:
        parts.append(_time_window(*when.time_window))
    return parts


def purchase_condition(when: CompiledConditions, any_column: str) -> pl.Expr:
    """All conditions of ``when`` for a purchase row (``any_column`` holds its line scope)."""
    parts = [pl.lit(True), *_calendar(when)]
    if when.has_line_scope:
        parts.append(pl.col(any_column))
    if when.total_gte is not None:
        parts.append(pl.col("order_total") >= when.total_gte)
    if when.total_lt is not None:
        parts.append(pl.col("order_total") < when.total_lt)
    if when.channels is not None:
        parts.append(_member_of("channel", when.channels))
    if when.stores is not None:
        parts.append(_member_of("store", when.stores))
    if when.tiers is not None:
        parts.append(_member_of("tier", when.tiers))
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
