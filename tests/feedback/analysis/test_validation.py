"""Held-out quality floors.

Measured on the validation split (235 texts, 77-79 per language; docs/benchmarks.md):
macro-F1 in accurate mode ru 0.963, pl 0.886, en 0.924; in fast mode ru 0.821, pl 0.760,
en 0.807; in cascade mode (the default; its threshold was chosen with this split, so its
figures are optimistic) ru 0.914, pl 0.862, en 0.889. Topic accuracy: accurate 0.831-0.873,
fast 0.740-0.823, cascade 0.753-0.810. With under 80 texts per
language one text moves a score by about 1.3 points, so each floor sits 4-5 texts' worth
(5-6 points) below its measurement: a real regression trips it, a changed seed does not.
"""

from __future__ import annotations

import pytest

from patron.feedback.analysis.evaluation import LanguageScores, evaluate, macro_f1
from patron.feedback.analysis.features import AnalysisMode
from patron.feedback.analysis.result import Label, Language

MACRO_F1_FLOORS = {
    AnalysisMode.ACCURATE: {Language.RU: 0.91, Language.PL: 0.83, Language.EN: 0.87},
    AnalysisMode.FAST: {Language.RU: 0.76, Language.PL: 0.70, Language.EN: 0.75},
    AnalysisMode.CASCADE: {Language.RU: 0.86, Language.PL: 0.80, Language.EN: 0.83},
}
TOPIC_ACCURACY_FLOOR = {
    AnalysisMode.ACCURATE: 0.77,
    AnalysisMode.FAST: 0.68,
    AnalysisMode.CASCADE: 0.70,
}


@pytest.fixture(scope="module", params=list(AnalysisMode))
def scores(request: pytest.FixtureRequest) -> tuple[AnalysisMode, list[LanguageScores]]:
    mode = AnalysisMode(request.param)
    return mode, evaluate(mode)


def test_macro_f1_per_language_above_floor(
    scores: tuple[AnalysisMode, list[LanguageScores]],
) -> None:
    mode, per_language = scores
    assert [s.language for s in per_language] == list(Language)
    for score in per_language:
        assert score.label_macro_f1 >= MACRO_F1_FLOORS[mode][score.language], score
        assert score.topic_accuracy >= TOPIC_ACCURACY_FLOOR[mode], score
        assert score.language_accuracy == 1.0, score


def test_macro_f1_exact_values() -> None:
    n, p, s = Label.NEGATIVE, Label.POSITIVE, Label.SUGGESTION
    assert macro_f1([n, n, p, p], [n, n, p, p]) == 1.0
    # negative: tp 1, 2 expected, 1 predicted -> 2/3; positive: tp 2, 2 + 3 -> 0.8
    assert macro_f1([n, n, p, p], [n, p, p, p]) == pytest.approx((2 / 3 + 0.8) / 2)
    # suggestion is predicted but never expected: it counts with F1 0
    assert macro_f1([n, p], [n, s]) == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert macro_f1([], []) == 0.0
