"""The tiers of a replay: each member's purchases in time order, as Patron moves members.

After each purchase the per-event path (:func:`patron.tiers.service.upgrade_if_qualified`,
with ``now`` = the purchase's time) upgrades the member at once when the metric of the
window ending then (points earned, or money spent less shipping, the purchase included)
reaches a higher level; every later purchase earns with the new tier. Downgrades happen
only at reviews: the simulator reviews at each month end of the report (the daily job
reviews every day), and a member whose metric has fallen below the tier's threshold goes to
the level the metric qualifies for (the daily job takes one level a day, so it gets there
within days). With a ``lifetime`` window or ``downgrade: never`` nobody is ever downgraded.

A purchase's points depend on its tier; the walk takes them from ``points[rank][i]``, the
points of purchase ``i`` scored with the tier of that rank (0 = no tier).

Vectorised: the rank a purchase earns with is the highest level reached by the metric after
an earlier purchase since the last review, or the level the last review found (a review
finds the level of the metric at the month end: a window only loses purchases between two
purchases, so that level never exceeds the member's rank and is the review's outcome for
every member). Given the ranks, points, metrics and review levels are column arithmetic;
given those, the ranks are a running maximum per (member, month). Starting from rank 0 and
alternating until the ranks stop changing gives the sequential walk: a member's first ``k``
right ranks give right points, metrics and reviews up to the ``k``-th purchase, hence a
right ``k + 1``-th rank, so each round settles at least one more purchase of every member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.programs.schema import Downgrade, Program, QualifyOn
from patron.tiers.policy import thresholds


@dataclass(frozen=True, slots=True)
class WalkInput:
    """Member purchases sorted by (member, time), as int64 arrays: ``starts`` the indexes
    where a member's purchases begin (plus the end); ``at`` microseconds since the epoch
    (UTC); ``window_start`` the start of the qualification window ending at each purchase
    (same unit; 0 for ``lifetime``); ``spend`` total less shipping; ``month_of`` the index
    of the first month end after each purchase; ``month_ends`` and ``month_window_starts``
    the review instants and the window starting before each."""

    starts: np.ndarray
    at: np.ndarray
    window_start: np.ndarray
    spend: np.ndarray
    month_of: np.ndarray
    month_ends: np.ndarray
    month_window_starts: np.ndarray


@dataclass(frozen=True, slots=True)
class WalkResult:
    """``ranks``: the tier rank each purchase earned with; ``month_counts[k][r]``: members
    (with a purchase before month end ``k``) at rank ``r`` at that month end."""

    ranks: np.ndarray
    month_counts: np.ndarray


class _Ladder:
    def __init__(self, program: Program) -> None:
        self.levels = np.asarray([t for _, t in thresholds(program)], dtype=np.int64)
        tiers = program.tiers
        self.money = tiers is not None and tiers.qualify_on is QualifyOn.MONEY_SPENT
        self.reviews = (
            tiers is not None
            and tiers.window != "lifetime"
            and tiers.downgrade is Downgrade.AT_REVIEW
        )

    def qualified(self, metric: np.ndarray) -> np.ndarray:
        """The rank each metric reaches (thresholds strictly increase)."""
        return np.searchsorted(self.levels, metric, side="right").astype(np.int64)


class _Members:
    """The walked members' purchases (a subset of the input, re-indexed from 0) with every
    index the rounds need, computed once: the first purchase of each window, and per
    (member, month end from the member's first purchase on) the purchases before it and the
    first in its window."""

    def __init__(self, data: WalkInput, chosen: np.ndarray) -> None:
        counts = np.diff(data.starts)[chosen]
        self.index = _ranges(data.starts[:-1][chosen], counts)
        self.member = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self.month_of = data.month_of[self.index]
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.first_month = self.month_of[first]
        months = len(data.month_ends)
        spans = months - self.first_month
        self.pair_member = np.repeat(np.arange(len(counts), dtype=np.int64), spans)
        self.pair_month = _ranges(self.first_month, spans)
        self.pair_offset = np.concatenate([[0], np.cumsum(spans)[:-1]]).astype(np.int64)
        at, starts = data.at[self.index], data.window_start[self.index]
        # (member, time) as one sortable integer: the time's place among all purchase times
        # (at >= x exactly when at's place >= x's place, counting the times before each)
        times = np.sort(at)
        width = len(times) + 1
        keys = self.member * width + np.searchsorted(times, at)

        def first_from(member: np.ndarray, moment: np.ndarray) -> np.ndarray:
            """The first purchase of ``member`` at or after ``moment``."""
            wanted = member * width + np.searchsorted(times, moment)
            return np.searchsorted(keys, wanted, side="left").astype(np.int64)

        self.window_first = first_from(self.member, starts)
        pair_member, pair_month = self.pair_member, self.pair_month
        self.before = first_from(pair_member, data.month_ends[pair_month])
        self.review_first = first_from(pair_member, data.month_window_starts[pair_month])

    def pair(self, member: np.ndarray, month: np.ndarray) -> np.ndarray:
        found: np.ndarray = self.pair_offset[member] + month - self.first_month[member]
        return found


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[j] + 0 .. counts[j] - 1`` for every ``j``, concatenated."""
    total = int(counts.sum())
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    found: np.ndarray = (np.arange(total, dtype=np.int64) + offsets).astype(np.int64)
    return found


def _exclusive_running_max(values: np.ndarray, segment: np.ndarray, bound: int) -> np.ndarray:
    """Per position, the largest ``values`` before it in its segment (-1 for none);
    ``segment`` ascending, ``0 <= values < bound``."""
    shifted = segment * (bound + 1) + values
    running = np.maximum.accumulate(shifted) - segment * (bound + 1)
    previous = np.full(len(values), -1, dtype=np.int64)
    same = segment[1:] == segment[:-1]
    previous[1:][same] = running[:-1][same]
    return previous


class _Round:
    """One round: from the ranks, the points, metrics, review levels and the next ranks."""

    def __init__(self, ladder: _Ladder, members: _Members, table: np.ndarray, spend: np.ndarray):
        self.ladder, self.members, self.table, self.spend = ladder, members, table, spend
        self.positions = members.index
        months = members.month_of
        self.segment = members.member  # a run of ranks: a member, or a member's month
        if ladder.reviews:
            self.segment = members.member * (int(months.max(initial=0)) + 2) + months
        last = months - 1
        self.has_review = (last >= members.first_month[members.member]) & ladder.reviews
        self.review_pair = np.where(self.has_review, members.pair(members.member, last), 0)

    def run(self, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(next ranks, level reached after each purchase, level found at each review)."""
        ladder, members = self.ladder, self.members
        earned = self.spend if ladder.money else self.table[ranks, self.positions]
        cumulative = np.concatenate([[0], np.cumsum(earned, dtype=np.int64)])
        reached = ladder.qualified(cumulative[1:] - cumulative[members.window_first])
        reviewed = ladder.qualified(cumulative[members.before] - cumulative[members.review_first])
        earlier = _exclusive_running_max(reached, self.segment, len(ladder.levels) + 1)
        base = np.where(self.has_review, reviewed[self.review_pair] if len(reviewed) else 0, 0)
        return np.maximum(np.maximum(earlier, 0), base), reached, reviewed


def _month_counts(
    ladder: _Ladder,
    members: _Members,
    reached: np.ndarray,
    reviewed: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Add the walked members' ranks at each month end to ``counts``."""
    if ladder.reviews:
        at_end = reviewed
    else:
        running = np.maximum.accumulate(members.member * (len(ladder.levels) + 1) + reached)
        rank_after = running - members.member * (len(ladder.levels) + 1)
        at_end = rank_after[members.before - 1]
    np.add.at(counts, (members.pair_month, at_end), 1)


def walk(program: Program, data: WalkInput, points: np.ndarray) -> WalkResult:
    """Walk every member (see the module docstring); ``points`` has shape (levels + 1, n)."""
    ladder = _Ladder(program)
    count, months = len(data.at), len(data.month_ends)
    levels = len(ladder.levels)
    ranks = np.zeros(count, dtype=np.int64)
    counts = np.zeros((months + 1, levels + 1), dtype=np.int64)
    members = len(data.starts) - 1
    if members == 0:
        return WalkResult(ranks, counts[:months])
    firsts = data.starts[:-1]
    earned = data.spend if ladder.money else points[0]
    totals = np.add.reduceat(earned.astype(np.int64), firsts)
    chosen = totals >= ladder.levels[0] if levels else np.zeros(members, dtype=bool)
    np.add.at(counts[:, 0], data.month_of[firsts[~chosen]], 1)
    counts = np.cumsum(counts, axis=0)
    if chosen.any():
        walked = _Members(data, np.flatnonzero(chosen))
        step = _Round(ladder, walked, points, data.spend[walked.index])
        current = np.zeros(len(walked.index), dtype=np.int64)
        while True:  # ends: each round settles at least one more purchase per member
            following, reached, reviewed = step.run(current)
            if np.array_equal(following, current):
                break
            current = following
        ranks[walked.index] = current
        _month_counts(ladder, walked, reached, reviewed, counts)
    return WalkResult(ranks, counts[:months])
