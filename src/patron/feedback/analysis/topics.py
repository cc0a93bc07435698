"""Topic choice: the topic classifier's probabilities plus evidence from the cue lexicons.

score(topic) = P_classifier(topic) + LEXICON_WEIGHT x (cue words of the topic in the text)
/ (cue words of any topic in the text). The best score wins; when it stays below
MIN_TOPIC_SCORE the text gets `general`. The lexicon keeps clear cases right when the
classifier, fitted on a few hundred texts, has not seen a word; the classifier decides when
the cues are absent or point several ways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from patron.feedback.analysis.features import FloatArray, Prepared
from patron.feedback.analysis.lexicon import TOPIC_WORDS
from patron.feedback.analysis.result import Language, Topic
from patron.feedback.analysis.text import lemmatizer, words

LEXICON_WEIGHT = 0.5
MIN_TOPIC_SCORE = 0.3


@lru_cache(maxsize=3)
def topic_cues(language: Language) -> dict[str, frozenset[Topic]]:
    """Cue form (word or lemma) -> topics it points to, for one language."""
    lemma = lemmatizer(language)
    cues: dict[str, set[Topic]] = {}
    for topic, per_language in TOPIC_WORDS.items():
        for word in words(per_language[language]):
            for form in {word, lemma(word)}:
                cues.setdefault(form, set()).add(topic)
    return {form: frozenset(topics) for form, topics in cues.items()}


def lexicon_hits(prepared: Prepared) -> Counter[Topic]:
    """How many tokens of the text cue each topic (a token counts once per topic)."""
    cues = topic_cues(prepared.language)
    hits: Counter[Topic] = Counter()
    for token in prepared.tokens:
        hits.update(cues.get(token.lemma) or cues.get(token.surface) or ())
    return hits


def choose_topic(prepared: Prepared, probabilities: FloatArray, topics: Sequence[Topic]) -> Topic:
    """The topic with the best combined score, `general` when no score is convincing."""
    hits = lexicon_hits(prepared)
    total_hits = sum(hits.values())
    scores = {
        topic: float(probabilities[index])
        + (LEXICON_WEIGHT * hits[topic] / total_hits if total_hits else 0.0)
        for index, topic in enumerate(topics)
    }
    best = max(topics, key=lambda topic: (scores[topic], -topics.index(topic)))
    return best if scores[best] >= MIN_TOPIC_SCORE else Topic.GENERAL
