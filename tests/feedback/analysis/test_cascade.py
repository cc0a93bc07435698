"""The cascade: confident texts keep the fast model's answer, unsure ones take the accurate
model's; thresholds 0 and above 1 reduce it to the fast and the accurate mode."""

from __future__ import annotations

import numpy as np

from patron.feedback.analysis.cascade import CASCADE_THRESHOLD, probabilities
from patron.feedback.analysis.dataset import Split, load_examples
from patron.feedback.analysis.features import AnalysisMode, prepare

SAMPLE = [prepare(e.text, e.language) for e in load_examples(Split.VALIDATION)[:40]]


def test_cascade_routes_by_fast_confidence() -> None:
    fast = probabilities(SAMPLE, AnalysisMode.FAST)
    accurate = probabilities(SAMPLE, AnalysisMode.ACCURATE)
    cascade = probabilities(SAMPLE, AnalysisMode.CASCADE)
    unsure = fast.label_rows.max(axis=1) < CASCADE_THRESHOLD
    assert cascade.routed == int(unsure.sum())
    assert 0 < cascade.routed < len(SAMPLE)
    expected_labels = np.where(unsure[:, None], accurate.label_rows, fast.label_rows)
    expected_topics = np.where(unsure[:, None], accurate.topic_rows, fast.topic_rows)
    assert np.array_equal(cascade.label_rows, expected_labels)
    assert np.array_equal(cascade.topic_rows, expected_topics)


def test_extreme_thresholds_are_the_single_modes() -> None:
    fast = probabilities(SAMPLE, AnalysisMode.FAST)
    accurate = probabilities(SAMPLE, AnalysisMode.ACCURATE)
    none = probabilities(SAMPLE, AnalysisMode.CASCADE, threshold=0.0)
    every = probabilities(SAMPLE, AnalysisMode.CASCADE, threshold=1.01)
    assert (none.routed, every.routed) == (0, len(SAMPLE))
    assert np.array_equal(none.label_rows, fast.label_rows)
    assert np.array_equal(every.label_rows, accurate.label_rows)
