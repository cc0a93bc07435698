"""Fast weighted draws from a :class:`numpy.random.Generator` (``rng.choice(p=...)`` costs
tens of microseconds per call; a bisect over running sums costs one uniform draw)."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

import numpy as np


def cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    """Normalised running sums of ``weights``, for :func:`pick`."""
    total = float(sum(weights))
    return tuple(float(value) / total for value in itertools.accumulate(weights))


def pick(rng: np.random.Generator, running: Sequence[float]) -> int:
    """An index drawn with the weights behind ``running``."""
    return min(bisect.bisect_right(running, rng.random()), len(running) - 1)
