"""`analyze`: language, label, keywords, topic, flags and severity for a batch of texts."""

from __future__ import annotations

from collections.abc import Sequence

from patron.feedback.analysis.cascade import Probabilities, probabilities
from patron.feedback.analysis.features import AnalysisMode, Prepared, prepare
from patron.feedback.analysis.flags import Flags, detect_flags, severity
from patron.feedback.analysis.keywords import rank_keywords
from patron.feedback.analysis.language import detect_languages
from patron.feedback.analysis.result import Label, Language, TextAnalysis, Topic
from patron.feedback.analysis.topics import choose_topic

BATCH_SIZE = 256
"""Texts embedded, vectorised and classified together; bounds memory on large inputs."""
CASCADE_BATCH_SIZE = 2048
"""The cascade's batches are larger so that the few unsure texts of a batch still reach the
encoder in batches of a hundred or more (it runs about twice as fast per text on batches of
128 as on batches of 16)."""


def analyze(
    texts: Sequence[str],
    *,
    mode: AnalysisMode = AnalysisMode.CASCADE,
    default_language: Language = Language.EN,
) -> list[TextAnalysis]:
    """Analyse feedback texts; the result list is parallel to `texts`.

    `accurate` mode adds e5 sentence embeddings to the classifiers' features: better labels
    and topics (macro-F1 about 0.92 against 0.80) at tens of texts per second on two cores;
    `fast` mode skips them and handles hundreds of texts per second; `cascade` (the default)
    runs the fast model on every text and the accurate one only on the texts the fast model
    is unsure of (see docs/benchmarks.md for all three). A text that occurs several times in
    `texts` is analysed once.

    An empty or white-space text is `neutral` with probability 1, no keywords, topic
    `general`, severity 0 and `default_language`, which also applies to texts without any
    recognisable language (only emoji or digits). Results depend only on the text and the
    shipped data: the same input gives the same output in every run.
    """
    distinct = list(dict.fromkeys(texts))
    analysed: list[TextAnalysis] = []
    size = CASCADE_BATCH_SIZE if mode is AnalysisMode.CASCADE else BATCH_SIZE
    for start in range(0, len(distinct), size):
        batch = distinct[start : start + size]
        analysed.extend(_analyze_batch(batch, mode, default_language))
    by_text = dict(zip(distinct, analysed, strict=True))
    return [by_text[text] for text in texts]


def _analyze_batch(
    texts: Sequence[str], mode: AnalysisMode, default_language: Language
) -> list[TextAnalysis]:
    filled = [index for index, text in enumerate(texts) if text.strip()]
    results = [_empty(default_language) for _ in texts]
    if not filled:
        return results
    languages = detect_languages([texts[index] for index in filled], default_language)
    prepared = [
        prepare(texts[index], language) for index, language in zip(filled, languages, strict=True)
    ]
    for index, analysis in zip(filled, _classify(prepared, mode), strict=True):
        results[index] = analysis
    return results


def _classify(prepared: Sequence[Prepared], mode: AnalysisMode) -> list[TextAnalysis]:
    found: Probabilities = probabilities(prepared, mode)
    label_rows, topic_rows = found.label_rows, found.topic_rows
    labels, topics, model = found.labels, found.topics, found.model
    negative_column = labels.index(Label.NEGATIVE)
    analyses = []
    for item, label_row, topic_row in zip(prepared, label_rows, topic_rows, strict=True):
        best = int(label_row.argmax())
        label = labels[best]
        negative = float(label_row[negative_column])
        flags = detect_flags(item.tokens, item.language, label=label, negative_probability=negative)
        analyses.append(
            TextAnalysis(
                language=item.language,
                label=label,
                probability=float(label_row[best]),
                keywords=rank_keywords(item, model),
                topic=choose_topic(item, topic_row, topics),
                severity=severity(negative, flags),
                money_lost=flags.money_lost,
                churn_threat=flags.churn_threat,
                rudeness=flags.rudeness,
                probabilities={
                    labels[column]: float(value) for column, value in enumerate(label_row)
                },
            )
        )
    return analyses


def _empty(language: Language) -> TextAnalysis:
    no_flags = Flags()
    return TextAnalysis(
        language=language,
        label=Label.NEUTRAL,
        probability=1.0,
        keywords=(),
        topic=Topic.GENERAL,
        severity=0.0,
        money_lost=no_flags.money_lost,
        churn_threat=no_flags.churn_threat,
        rudeness=no_flags.rudeness,
        probabilities={label: 1.0 if label is Label.NEUTRAL else 0.0 for label in Label},
    )
