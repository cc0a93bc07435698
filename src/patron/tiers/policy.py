"""Pure tier arithmetic: the qualification window and the level a metric earns.

The metric is points earned (earn + bonus entries, less reversals) or money spent (purchase
totals less shipping and refunds, minor units) inside the window: ``lifetime``, the local
``calendar_year`` of ``now``, or the ``rolling_N_months`` before ``now``. Thresholds of
money tiers are compared in minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from patron.kit.per_object import PerObject
from patron.kit.time import add_months, local, start_of_local_day
from patron.programs.schema import Program, QualifyOn, Tiers


def window_start(tiers: Tiers, now: datetime, timezone: str) -> datetime | None:
    """Start (UTC) of the qualification window that ends at ``now``; ``None`` for lifetime."""
    if tiers.window == "lifetime":
        return None
    if tiers.window == "calendar_year":
        return start_of_local_day(date(local(now, timezone).year, 1, 1), timezone)
    months = tiers.rolling_months
    assert months is not None
    return add_months(now, -months)


def _levels(program: Program) -> tuple[tuple[str, int], ...]:
    if program.tiers is None:
        return ()
    money = program.tiers.qualify_on is QualifyOn.MONEY_SPENT
    return tuple(
        (level.id, program.minor(level.threshold) if money else int(level.threshold))
        for level in program.tiers.levels
    )


_levels_of: PerObject[Program, tuple[tuple[str, int], ...]] = PerObject(_levels)


def thresholds(program: Program) -> list[tuple[str, int]]:
    """``(tier id, threshold)`` ascending, thresholds as integers (points or minor units).

    Kept per program object (:class:`~patron.kit.per_object.PerObject`; a loaded program is
    not changed), as :func:`patron.rules.compiled.compile_program` keeps its compiled form:
    every purchase asks, twice, and each asking parsed every money threshold again."""
    return list(_levels_of(program))


def rank(program: Program, tier_id: str | None) -> int:
    """0 for no tier, 1 for the first level, and so on; an unknown id (a level removed from
    the program) ranks 0."""
    ids = [tier for tier, _ in thresholds(program)]
    return ids.index(tier_id) + 1 if tier_id in ids else 0


def qualified_tier(program: Program, metric: int) -> str | None:
    """The highest level whose threshold ``metric`` reaches, or ``None``."""
    reached = [tier for tier, threshold in thresholds(program) if metric >= threshold]
    return reached[-1] if reached else None


def next_threshold(program: Program, tier_id: str | None) -> int | None:
    """The threshold of the level above ``tier_id`` (``None`` at the top or with no tiers)."""
    levels = thresholds(program)
    position = rank(program, tier_id)
    return levels[position][1] if position < len(levels) else None


@dataclass(frozen=True, slots=True)
class Move:
    to_tier: str | None
    reason: str


def review_move(program: Program, current: str | None, metric: int) -> Move | None:
    """What a review does: upgrade to the qualified level at once; downgrade (when the program
    allows it) by one level only; ``None`` when the member stays."""
    assert program.tiers is not None
    target = qualified_tier(program, metric)
    have, want = rank(program, current), rank(program, target)
    if want > have:
        return Move(target, f"upgrade at review: metric {metric}")
    if want < have and program.tiers.downgrade.value == "at_review":
        ids = [None, *(tier for tier, _ in thresholds(program))]
        return Move(ids[have - 1], f"downgrade at review: metric {metric} below the threshold")
    return None
