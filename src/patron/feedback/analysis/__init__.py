"""Offline analysis of customer feedback text in Russian, Polish and English.

`analyze(texts)` returns one `TextAnalysis` per text: language, label (negative, positive,
suggestion, neutral) with its probability, ranked lemmatised keywords, a topic slug, flags
(money lost, threat to leave, rudeness) and a severity in [0, 1]. `problem_table` aggregates
analysed, time-stamped negative feedback by topic. See docs/feedback-analysis.md.
"""

from patron.feedback.analysis.features import AnalysisMode
from patron.feedback.analysis.pipeline import analyze
from patron.feedback.analysis.problems import (
    AnalysedFeedback,
    Period,
    ProblemRow,
    Trend,
    problem_table,
)
from patron.feedback.analysis.result import Label, Language, TextAnalysis, Topic

__all__ = [
    "AnalysedFeedback",
    "AnalysisMode",
    "Label",
    "Language",
    "Period",
    "ProblemRow",
    "TextAnalysis",
    "Topic",
    "Trend",
    "analyze",
    "problem_table",
]
