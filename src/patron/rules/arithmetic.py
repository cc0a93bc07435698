"""Exact rounding shared by the per-event and the vectorised evaluators.

Points are rounded once per purchase, on an exact rational ``numerator / denominator``, with
the program's rounding: ``floor``, ``round`` (half up, so 212.5 -> 213) or ``ceil``. Both
evaluators use these same integer formulas, which is why they agree to the point.
"""

from __future__ import annotations

from decimal import Decimal

from patron.rules.vocabulary import Rounding


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Round ``numerator / denominator`` (``denominator > 0``) to an integer, exactly."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if rounding is Rounding.FLOOR:
        return numerator // denominator
    if rounding is Rounding.CEIL:
        return (numerator + denominator - 1) // denominator
    return (2 * numerator + denominator) // (2 * denominator)


def decimal_text(value: Decimal) -> str:
    """A multiplier as plain text without trailing zeros: ``1.50 -> "1.5"``, ``100 -> "100"``."""
    return format(value.normalize(), "f")
