"""Label and topic probabilities per mode, and the cascade that makes the default fast.

The cascade classifies every text with the fast model (TF-IDF and label cues) and sends only
the texts whose best label probability is below `CASCADE_THRESHOLD` to the accurate model
(which adds the e5 sentence embedding, the costly part); those texts take the accurate
model's label and topic probabilities. The threshold was tuned on the validation split only
(`bench/feedback_classify.py --tune`; the grid and the choice are in docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from patron.feedback.analysis.features import AnalysisMode, FloatArray, Prepared
from patron.feedback.analysis.model import FeedbackModel, get_model
from patron.feedback.analysis.result import Label, Topic

CASCADE_THRESHOLD = 0.5
"""Texts whose fast-model label probability is below this go to the accurate model."""


@dataclass(frozen=True)
class Probabilities:
    """Label and topic probabilities of a batch, and the model whose keywords IDF applies."""

    labels: list[Label]
    topics: list[Topic]
    label_rows: FloatArray
    topic_rows: FloatArray
    model: FeedbackModel
    routed: int = 0


def probabilities(
    prepared: Sequence[Prepared], mode: AnalysisMode, threshold: float | None = None
) -> Probabilities:
    """Probabilities of `prepared` in `mode`; the cascade routes below `threshold` (default
    `CASCADE_THRESHOLD`, read at each call)."""
    if mode is not AnalysisMode.CASCADE:
        return _single(prepared, get_model(mode))
    limit = CASCADE_THRESHOLD if threshold is None else threshold
    first = _single(prepared, get_model(AnalysisMode.FAST))
    unsure = np.flatnonzero(first.label_rows.max(axis=1) < limit)
    if unsure.size == 0:
        return first
    second = _single([prepared[int(i)] for i in unsure], get_model(AnalysisMode.ACCURATE))
    if second.labels != first.labels or second.topics != first.topics:
        raise RuntimeError("the fast and accurate models disagree on their classes")
    label_rows, topic_rows = first.label_rows.copy(), first.topic_rows.copy()
    label_rows[unsure] = second.label_rows
    topic_rows[unsure] = second.topic_rows
    return Probabilities(
        first.labels, first.topics, label_rows, topic_rows, first.model, int(unsure.size)
    )


def _single(prepared: Sequence[Prepared], model: FeedbackModel) -> Probabilities:
    features = model.space.transform(prepared)
    return Probabilities(
        model.labels,
        model.topics,
        model.label_probabilities(features),
        model.topic_probabilities(features),
        model,
    )
