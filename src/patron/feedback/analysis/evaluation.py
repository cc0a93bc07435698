"""Scores of the shipped model on the held-out validation split, per language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from patron.feedback.analysis.dataset import Example, Split, load_examples
from patron.feedback.analysis.features import AnalysisMode
from patron.feedback.analysis.pipeline import analyze
from patron.feedback.analysis.result import Label, Language, TextAnalysis


@dataclass(frozen=True)
class LanguageScores:
    """Validation scores of one language."""

    language: Language
    examples: int
    label_accuracy: float
    label_macro_f1: float
    topic_accuracy: float
    language_accuracy: float


def macro_f1(expected: Sequence[Label], predicted: Sequence[Label]) -> float:
    """Unweighted mean of the per-label F1 over the labels present in either sequence."""
    present = sorted(set(expected) | set(predicted))
    scores = []
    for label in present:
        true_positive = sum(
            1 for e, p in zip(expected, predicted, strict=True) if e is label and p is label
        )
        predicted_count = sum(1 for p in predicted if p is label)
        expected_count = sum(1 for e in expected if e is label)
        denominator = predicted_count + expected_count
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def evaluate(
    mode: AnalysisMode = AnalysisMode.CASCADE, split: Split = Split.VALIDATION
) -> list[LanguageScores]:
    """Scores per language (in `Language` order) of `analyze` on one split."""
    examples = load_examples(split)
    analyses = analyze([example.text for example in examples], mode=mode)
    return [
        _scores(
            language,
            [(e, a) for e, a in zip(examples, analyses, strict=True) if e.language is language],
        )
        for language in Language
    ]


def _scores(language: Language, pairs: Sequence[tuple[Example, TextAnalysis]]) -> LanguageScores:
    count = len(pairs)

    def share(hits: int) -> float:
        return hits / count if count else 0.0

    return LanguageScores(
        language=language,
        examples=count,
        label_accuracy=share(sum(1 for e, a in pairs if e.label is a.label)),
        label_macro_f1=macro_f1([e.label for e, _ in pairs], [a.label for _, a in pairs]),
        topic_accuracy=share(sum(1 for e, a in pairs if e.topic is a.topic)),
        language_accuracy=share(sum(1 for e, a in pairs if e.language is a.language)),
    )
