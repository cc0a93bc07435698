"""Why each rule did or did not apply to each purchase, as the breakdown's ``reason`` JSON.

Mirrors :func:`patron.rules.conditions.check_conditions` condition by condition (same names,
same order) and :class:`patron.rules.trace.RuleTrace.reason`: a rule after an applied
``stop_after`` rule is *stopped*; otherwise it *fails conditions* (every failing condition
named) or, when they all hold but it did not apply, its *limit is reached*. Whether a rule
applied comes from :func:`patron.rules.vectorised.score_frame`; a contradiction (a rule that
applied although a condition fails) is a bug and raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from patron.kit.raw import json_text
from patron.rules.compiled import CompiledConditions, CompiledRule
from patron.rules.frame_conditions import period_key
from patron.rules.vocabulary import ConditionType

FAILED = "failed"  # prefix of the per-rule column listing failed conditions


def local_columns(timezone: str, exclude_shipping: bool) -> list[pl.Expr]:
    moment = pl.col("at").dt.convert_time_zone(timezone)
    total = pl.col("total") - pl.col("shipping") if exclude_shipping else pl.col("total")
    return [
        total.alias("order_total"),
        moment.alias("local"),
        moment.dt.date().alias("local_date"),
        (moment.dt.weekday() - 1).alias("local_weekday"),
        moment.dt.time().alias("local_time"),
    ]


def meets_column(kind: ConditionType, index: int) -> str:
    """The column saying whether some line of a purchase meets rule ``index``'s line
    condition ``kind``."""
    return f"any_{kind.value}_{index}"


def _not_in(column: str, values: frozenset[str] | None) -> pl.Expr:
    return ~pl.col(column).is_in(sorted(values or ())).fill_null(False)


def _outside_dates(when: CompiledConditions) -> pl.Expr:
    if when.between is None:  # pragma: no cover - only given conditions are built
        return pl.lit(False)
    first, last = when.between
    return ~pl.col("local_date").is_between(first, last, closed="both")


def _outside_window(when: CompiledConditions) -> pl.Expr:
    if when.time_window is None:  # pragma: no cover - only given conditions are built
        return pl.lit(False)
    start, end = when.time_window
    moment = pl.col("local_time")
    if start <= end:
        return ~((moment >= start) & (moment < end))
    return ~((moment >= start) | (moment < end))


@dataclass(frozen=True, slots=True)
class LineFailure:
    """A line condition: it fails when no line is in the rule's scope and no line meets it
    (or every line condition of the rule is met by some line, but never by the same one)."""


@dataclass(frozen=True, slots=True)
class PurchaseFailure:
    """A condition on the whole purchase: ``failed`` is the expression that is true when the
    purchase does not meet it."""

    failed: Callable[[CompiledConditions], pl.Expr]


FAILURES: dict[ConditionType, LineFailure | PurchaseFailure] = {
    ConditionType.LINE_CATEGORY_IN: LineFailure(),
    ConditionType.LINE_SKU_IN: LineFailure(),
    ConditionType.ORDER_TOTAL_GTE: PurchaseFailure(
        lambda when: pl.col("order_total") < (when.total_gte or 0)
    ),
    ConditionType.ORDER_TOTAL_LT: PurchaseFailure(
        lambda when: pl.col("order_total") >= (when.total_lt or 0)
    ),
    ConditionType.CHANNEL_IN: PurchaseFailure(lambda when: _not_in("channel", when.channels)),
    ConditionType.STORE_IN: PurchaseFailure(lambda when: _not_in("store", when.stores)),
    ConditionType.BETWEEN: PurchaseFailure(_outside_dates),
    ConditionType.WEEKDAY_IN: PurchaseFailure(
        lambda when: ~pl.col("local_weekday").is_in(sorted(when.weekdays or ()))
    ),
    ConditionType.TIME_BETWEEN: PurchaseFailure(_outside_window),
    ConditionType.TIER_IN: PurchaseFailure(lambda when: _not_in("tier_id", when.tiers)),
    # never met by a purchase (a custom event's attributes; refused outside trigger: event)
    ConditionType.EVENT_ATTRIBUTE_IN: PurchaseFailure(lambda when: pl.lit(True)),
}
"""The trace's registry: how the breakdown of a batch names each failing
:class:`ConditionType` (mirrors :func:`patron.rules.conditions.check_conditions`;
``tests/rules/test_registries.py``)."""


def _line_failures(when: CompiledConditions, index: int) -> list[tuple[str, pl.Expr]]:
    if not when.line_kinds:
        return []
    no_scope = ~pl.col(f"any_scope_{index}")
    missing = {kind: ~pl.col(meets_column(kind, index)) for kind in when.line_kinds}
    neither = ~pl.any_horizontal(list(missing.values()))
    return [
        (kind.value, no_scope & (missing[kind] | neither))
        for kind in when.line_kinds
        if isinstance(FAILURES[kind], LineFailure)
    ]


def _failures(when: CompiledConditions, index: int) -> list[tuple[str, pl.Expr]]:
    """(condition name, failed) in the order of ``check_conditions``."""
    found = _line_failures(when, index)
    for kind in when.purchase_kinds:
        failure = FAILURES[kind]
        if isinstance(failure, PurchaseFailure):
            found.append((kind.value, failure.failed(when)))
    return found


def failed_columns(rules: Sequence[CompiledRule]) -> list[pl.Expr]:
    """``failed_<j>``: the failing conditions of rule ``j`` joined by ``", "`` (empty: all
    hold)."""
    columns: list[pl.Expr] = []
    for index, rule in enumerate(rules):
        names = [pl.when(failed).then(pl.lit(name)) for name, failed in _failures(rule.when, index)]
        text = pl.concat_str(names, separator=", ", ignore_nulls=True) if names else pl.lit("")
        columns.append(text.fill_null("").alias(f"{FAILED}_{index}"))
    return columns


def stopped_by_columns(rules: Sequence[CompiledRule]) -> list[pl.Expr]:
    """``stopped_<j>``: the id of the applied ``stop_after`` rule that ended the evaluation
    before rule ``j``, or null."""
    columns: list[pl.Expr] = []
    stoppers: list[int] = []
    for index, rule in enumerate(rules):
        chain: pl.Expr = pl.lit(None, dtype=pl.String)
        for stopper in reversed(stoppers):
            chain = (
                pl.when(pl.col(f"applied_{stopper}"))
                .then(pl.lit(rules[stopper].rule.id))
                .otherwise(chain)
            )
        columns.append(chain.alias(f"stopped_{index}"))
        if rule.rule.stop_after:
            stoppers.append(index)
    return columns


def prior_usage_columns(
    frame: pl.DataFrame, prior: pl.DataFrame, rules: Sequence[CompiledRule]
) -> pl.DataFrame:
    """``prior_<j>`` for each rule with a limit: its usage in the purchase's period before the
    batch (0 for a purchase without a member)."""
    for index, rule in enumerate(rules):
        limit = rule.rule.limit
        if limit is None:
            continue
        key = f"key_{index}"
        used = prior.filter(pl.col("rule_id") == rule.rule.id).select(
            "member_id", pl.col("period_key").alias(key), pl.col("used").alias(f"prior_{index}")
        )
        frame = frame.with_columns(period_key(limit.period).alias(key))
        frame = frame.join(used, on=["member_id", key], how="left", maintain_order="left")
        frame = frame.with_columns(pl.col(f"prior_{index}").fill_null(0)).drop(key)
    return frame


def check_consistency(frame: pl.DataFrame, rules: Sequence[CompiledRule]) -> None:
    """A rule that applied must have held and not been stopped; one that held, was not
    stopped and did not apply must have a limit."""
    for index, rule in enumerate(rules):
        applied = pl.col(f"applied_{index}")
        held = (pl.col(f"{FAILED}_{index}") == "") & pl.col(f"stopped_{index}").is_null()
        wrong = applied & ~held
        if rule.rule.limit is None:
            wrong = wrong | (~applied & held)
        if frame.select(wrong.any()).item():
            raise RuntimeError(
                f"the breakdown of rule {rule.rule.id!r} disagrees with the vectorised scores"
            )


def _stopped_reason(rules: Sequence[CompiledRule], index: int) -> pl.Expr:
    """The JSON text of the reason of a stopped rule (the stopper's id is written by
    ``repr`` in the per-event trace, so it is escaped here once per possible stopper)."""
    column = pl.col(f"stopped_{index}")
    chain: pl.Expr = pl.lit(None, dtype=pl.String)
    for stopper in rules[:index]:
        if stopper.rule.stop_after:
            text = json_text(f"not evaluated: rule {stopper.rule.id!r} stops later rules")
            chain = pl.when(column == stopper.rule.id).then(pl.lit(text)).otherwise(chain)
    return chain


def reason_json(rules: Sequence[CompiledRule], index: int) -> pl.Expr:
    """The ``reason`` value of rule ``index``'s breakdown row, as JSON text."""
    rule = rules[index]
    failed = pl.col(f"{FAILED}_{index}")
    expression = (
        pl.when(pl.col(f"applied_{index}"))
        .then(pl.lit("null"))
        .when(pl.col(f"stopped_{index}").is_not_null())
        .then(_stopped_reason(rules, index))
        .when(failed != "")
        .then(pl.concat_str(pl.lit('"conditions not met: '), failed, pl.lit('"')))
    )
    limit = rule.rule.limit
    if limit is None:
        return expression.otherwise(pl.lit("null"))
    usage = pl.max_horizontal(pl.col(f"prior_{index}"), pl.lit(limit.per_member))
    text = pl.concat_str(
        pl.lit('"limit reached: already applied '),
        usage.cast(pl.String),
        pl.lit(f' of {limit.per_member} times per {limit.period.value}"'),
    )
    return expression.otherwise(text)
