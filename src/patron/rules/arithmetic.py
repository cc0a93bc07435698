"""Exact arithmetic shared by the per-event and the vectorised evaluators.

Multipliers are decimals with at most 4 places, so each is a reduced fraction ``a / b`` with
``b`` dividing 10,000 (``1.25 == 5/4``, ``2 == 2/1``). Points are rounded once per purchase,
on an exact rational, with the program's rounding: ``floor``, ``round`` (half up, so 212.5 ->
213) or ``ceil``. Both evaluators round the same rational with :func:`round_ratio`, which is
why they agree to the point.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from patron.programs.schema import EarnRule, Program, Rounding


def fraction_of(value: Decimal) -> Fraction:
    """The exact rational value of a finite decimal (``Decimal("1.25") -> 5/4``)."""
    return Fraction(value)


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Round ``numerator / denominator`` (``denominator > 0``) to an integer, exactly."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if rounding is Rounding.FLOOR:
        return numerator // denominator
    if rounding is Rounding.CEIL:
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def round_fraction(value: Fraction, rounding: Rounding) -> int:
    return round_ratio(value.numerator, value.denominator, rounding)


def base_rate(program: Program) -> Fraction:
    """Points per minor unit of eligible spend: ``base.points / base.per_amount`` (minor)."""
    base = program.earning.base
    return Fraction(base.points, program.minor(base.per_amount, path="earning.base.per_amount"))


def ordered_rules(rules: Iterable[EarnRule]) -> list[EarnRule]:
    """Evaluation order: priority descending, ties in file order (``sorted`` is stable)."""
    return sorted(rules, key=lambda rule: -rule.priority)


def tier_multiplier(program: Program, tier_id: str | None) -> Decimal:
    """The earn multiplier of the member's tier; 1 for no tier or an id the program lacks."""
    level = program.tiers.level(tier_id) if program.tiers is not None else None
    return level.earn_multiplier if level is not None else Decimal(1)


def decimal_text(value: Decimal) -> str:
    """A multiplier as plain text without trailing zeros: ``1.50 -> "1.5"``, ``100 -> "100"``."""
    return format(value.normalize(), "f")
