"""Per-purchase facts of the lines, for the breakdown: which line conditions some line meets,
and the weighted eligible spend after each line multiplier.

Lines come ordered by purchase (``i`` = 0, 1, ... with at least one line each), so every
purchase is a contiguous segment and sums are ``numpy.add.reduceat`` over the segment
starts. The weighted sums stay in int64 when the data's maxima prove they cannot overflow,
and fall back to Python integers otherwise (exact either way).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from patron.rules.compiled import CompiledRule
from patron.rules.frame_conditions import line_condition, line_scope
from patron.rules.vectorised import FrameEffect, frame_effect
from patron.rules.vocabulary import ConditionType

_INT64_SAFE = 2**62


@dataclass(frozen=True, slots=True)
class LineFacts:
    """``meets[(kind, j)]``: per purchase, whether some line meets rule ``j``'s line condition
    ``kind``; ``any_scope[j]``: whether some line meets all of them; ``weighted[j]``: for each
    line multiplier ``j``, the sum over lines of amount x the product of the line coefficients
    of the line rules up to ``j`` (``a`` where it applied to the line, else ``b``); ``goods``:
    the sum of the amounts."""

    meets: dict[tuple[ConditionType, int], pl.Series]
    any_scope: dict[int, pl.Series]
    weighted: dict[int, pl.Series]
    goods: pl.Series


def segment_starts(purchase_index: np.ndarray, count: int) -> np.ndarray:
    """Where each purchase's lines begin (``purchase_index`` sorted, every purchase present)."""
    starts = np.searchsorted(purchase_index, np.arange(count), side="left")
    return starts.astype(np.int64)


def _segment_any(flags: np.ndarray, starts: np.ndarray) -> pl.Series:
    return pl.Series(np.add.reduceat(flags.astype(np.int64), starts) > 0)


def _condition_flags(
    lines: pl.DataFrame, rules: Sequence[CompiledRule], starts: np.ndarray
) -> tuple[dict[tuple[ConditionType, int], pl.Series], dict[int, pl.Series], dict[int, np.ndarray]]:
    expressions: list[pl.Expr] = []
    targets: list[tuple[ConditionType, int] | int] = []  # a condition's flag, or a rule's scope
    for index, rule in enumerate(rules):
        when = rule.when
        for kind in when.line_kinds:
            expressions.append(line_condition(when, kind).alias(f"flag_{len(targets)}"))
            targets.append((kind, index))
        if when.has_line_scope or frame_effect(rule) is FrameEffect.LINE_FACTOR:
            expressions.append(line_scope(when).alias(f"flag_{len(targets)}"))
            targets.append(index)
    flags = lines.select(expressions) if expressions else pl.DataFrame()
    meets: dict[tuple[ConditionType, int], pl.Series] = {}
    any_scope: dict[int, pl.Series] = {}
    scopes: dict[int, np.ndarray] = {}
    for position, target in enumerate(targets):
        values = flags[f"flag_{position}"].to_numpy()
        if isinstance(target, int):
            any_scope[target] = _segment_any(values, starts)
            scopes[target] = values
        else:
            meets[target] = _segment_any(values, starts)
    return meets, any_scope, scopes


def _weighted_sums(
    amounts: np.ndarray,
    line_purchase: np.ndarray,
    rules: Sequence[CompiledRule],
    applied: dict[int, np.ndarray],
    scopes: dict[int, np.ndarray],
    starts: np.ndarray,
) -> dict[int, pl.Series]:
    line_rules = [
        (index, rule)
        for index, rule in enumerate(rules)
        if frame_effect(rule) is FrameEffect.LINE_FACTOR
    ]
    if not line_rules:
        return {}
    largest = int(amounts.max()) if amounts.size else 0
    longest = int(np.diff(np.append(starts, amounts.size)).max()) if amounts.size else 0
    bound = largest * longest * math.prod(max(rule.ratio) for _, rule in line_rules)
    values: np.ndarray = amounts.astype(np.int64 if bound < _INT64_SAFE else object)
    weighted: dict[int, pl.Series] = {}
    for index, rule in line_rules:
        a, b = rule.ratio
        hits = applied[index][line_purchase] & scopes[index]
        values = values * np.where(hits, a, b).astype(values.dtype)
        weighted[index] = _int128(np.add.reduceat(values, starts))
    return weighted


def _int128(values: np.ndarray) -> pl.Series:
    if values.dtype == object:
        return pl.Series([int(value) for value in values], dtype=pl.Int128)
    return pl.Series(values).cast(pl.Int128)


def amount_array(lines: pl.DataFrame) -> np.ndarray:
    """Line amounts as int64, or as Python integers when some amount does not fit: what the
    line was paid (an ``amount`` column) where given, else quantity x unit price."""
    amount = pl.col("quantity").cast(pl.Int128) * pl.col("unit_price").cast(pl.Int128)
    if "amount" in lines.columns:
        amount = pl.col("amount").cast(pl.Int128)
    amounts = lines.select(amount.alias("amount"))["amount"]
    if amounts.len() == 0 or amounts.max() < _INT64_SAFE:  # type: ignore[operator]
        return amounts.cast(pl.Int64).to_numpy()
    return np.array([int(value) for value in amounts.to_list()], dtype=object)


def line_facts(
    lines: pl.DataFrame,
    count: int,
    rules: Sequence[CompiledRule],
    applied: dict[int, np.ndarray],
) -> LineFacts:
    """Facts of ``count`` purchases from ``lines`` (``i``, ``sku``, ``category``,
    ``quantity``, ``unit_price`` in minor units, optionally ``amount``: what the line was
    paid)
    given which rules applied to each purchase (``applied[j]``, a boolean array)."""
    line_purchase = lines["i"].to_numpy()
    starts = segment_starts(line_purchase, count)
    amounts = amount_array(lines)
    meets, scope_any, scopes = _condition_flags(lines, rules, starts)
    weighted = _weighted_sums(amounts, line_purchase, rules, applied, scopes, starts)
    goods = _int128(np.add.reduceat(amounts, starts))
    return LineFacts(meets, scope_any, weighted, goods)
