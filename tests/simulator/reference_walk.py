"""The tier walk written as a loop, purchase by purchase, member by member: the reference the
vectorised walk of :mod:`patron.simulator.walk` is held to (``test_walk.py``). It follows
the per-event path literally: upgrade after each purchase on the metric of the window ending
then; at each month end a tiered member is reviewed and goes to the level the metric still
reaches."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from patron.programs.schema import Downgrade, Program, QualifyOn
from patron.simulator.walk import WalkInput, WalkResult
from patron.tiers.policy import thresholds


@dataclass(frozen=True, slots=True)
class _Lists:
    """Member purchases sorted by (member, time): ``starts`` are the indexes where a member's
    purchases begin (plus the end); ``at`` in microseconds since the epoch (UTC);
    ``window_start`` the start of the qualification window ending at each purchase (same
    unit; the member's first purchase for ``lifetime``); ``spend`` total less shipping;
    ``month_of`` the index of the first month end after each purchase; ``month_ends`` and
    ``month_window_starts`` the review instants and the window starting before each."""

    starts: list[int]
    at: list[int]
    window_start: list[int]
    spend: list[int]
    month_of: list[int]
    month_ends: list[int]
    month_window_starts: list[int]


class _Ladder:
    def __init__(self, program: Program) -> None:
        self.levels = [threshold for _, threshold in thresholds(program)]
        tiers = program.tiers
        self.money = tiers is not None and tiers.qualify_on is QualifyOn.MONEY_SPENT
        self.reviews = (
            tiers is not None
            and tiers.window != "lifetime"
            and tiers.downgrade is Downgrade.AT_REVIEW
        )

    def qualified(self, metric: int) -> int:
        """The rank the metric reaches (thresholds strictly increase)."""
        return bisect_right(self.levels, metric)


_FIELDS = ("starts", "at", "window_start", "spend", "month_of", "month_ends",
           "month_window_starts")  # fmt: skip


def _reachable(ladder: _Ladder, data: _Lists, points: np.ndarray) -> list[bool]:
    """Whether each member could ever reach the first level. A member without a tier earns
    the points of rank 0, so one whose rank-0 points (or money spent) over the whole history
    stay below the first threshold never gets a tier and needs no walk."""
    members = len(data.starts) - 1
    if not ladder.levels or members == 0:
        return [False] * members
    best = np.asarray(data.spend, dtype=np.int64) if ladder.money else points[0]
    starts = np.asarray(data.starts[:-1], dtype=np.intp)
    bounds = np.add.reduceat(best.astype(np.int64), starts)
    return [bool(bound >= ladder.levels[0]) for bound in bounds.tolist()]


def reference_walk(program: Program, arrays: WalkInput, points: np.ndarray) -> WalkResult:
    """The walk of every member; ``points`` has shape (levels + 1, n)."""
    data = _Lists(*(getattr(arrays, name).tolist() for name in _FIELDS))
    ladder = _Ladder(program)
    count = len(data.at)
    ranks = np.zeros(count, dtype=np.int64)
    months = len(data.month_ends)
    counts = np.zeros((months + 1, len(ladder.levels) + 1), dtype=np.int64)
    reachable = _reachable(ladder, data, points)
    table = points.tolist()
    for member, (low, high) in enumerate(zip(data.starts[:-1], data.starts[1:], strict=True)):
        if not reachable[member]:
            counts[data.month_of[low], 0] += 1
            continue
        _walk_member(ladder, data, table, ranks, counts, low, high)
    # counts holds changes per month end (see _walk_member): their running sum is the state
    return WalkResult(ranks, np.cumsum(counts, axis=0)[:months])


def _walk_member(
    ladder: _Ladder,
    data: _Lists,
    table: list[list[int]],
    ranks: np.ndarray,
    counts: np.ndarray,
    low: int,
    high: int,
) -> None:
    """One member's purchases ``[low, high)``. Month counts are recorded as changes: +1 at
    the member's rank from the first month end after the first purchase, and -1/+1 at each
    month end where the rank differs from the previous month end's."""
    at, spend, month_of, window_start = data.at, data.spend, data.month_of, data.window_start
    levels, top, qualified = ladder.levels, len(ladder.levels), bisect_right
    rank = 0
    cumulative = [0] * (high - low + 1)
    month = month_of[low]
    counted = -1  # the rank counted at the previous month end
    for i in range(low, high):
        while month < month_of[i]:
            if rank:
                rank = _review(ladder, data, cumulative, rank, low, i, month)
            counted = _count(counts, month, rank, counted)
            month += 1
        ranks[i] = rank
        earned = spend[i] if ladder.money else table[rank][i]
        cumulative[i - low + 1] = cumulative[i - low] + earned
        if rank < top:
            first = bisect_left(at, window_start[i], low, i + 1)
            rank = max(rank, qualified(levels, cumulative[i - low + 1] - cumulative[first - low]))
    while month < len(data.month_ends):
        rank = _review(ladder, data, cumulative, rank, low, high, month)
        counted = _count(counts, month, rank, counted)
        month += 1


def _count(counts: np.ndarray, month: int, rank: int, counted: int) -> int:
    if rank != counted:
        if counted >= 0:
            counts[month, counted] -= 1
        counts[month, rank] += 1
    return rank


def _review(
    ladder: _Ladder,
    data: _Lists,
    cumulative: list[int],
    rank: int,
    low: int,
    end: int,
    month: int,
) -> int:
    """The rank after the review at month end ``month``; ``end``: the member's purchases
    before it end there."""
    if rank == 0 or not ladder.reviews:
        return rank
    first = bisect_left(data.at, data.month_window_starts[month], low, end)
    metric = cumulative[end - low] - cumulative[first - low]
    return ladder.qualified(metric)
