"""Keyword ranking: content lemmas scored by term frequency x IDF of the training texts."""

from __future__ import annotations

from collections import Counter

from patron.feedback.analysis.features import Prepared, content_lemmas
from patron.feedback.analysis.model import FeedbackModel

MAX_KEYWORDS = 5


def rank_keywords(
    prepared: Prepared, model: FeedbackModel, limit: int = MAX_KEYWORDS
) -> tuple[str, ...]:
    """Up to `limit` distinct content lemmas, highest tf x idf first, then first occurrence.

    Lemmas unseen in training get the highest IDF: rare words (a part name, a dish) are what
    makes a text specific.
    """
    lemmas = content_lemmas(prepared)
    counts = Counter(lemmas)
    first_seen = {lemma: index for index, lemma in reversed(list(enumerate(lemmas)))}
    ranked = sorted(
        counts,
        key=lambda lemma: (
            -counts[lemma] * model.idf.get(lemma, model.default_idf),
            first_seen[lemma],
        ),
    )
    return tuple(ranked[:limit])
