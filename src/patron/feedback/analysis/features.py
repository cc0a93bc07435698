"""Turning texts into model inputs: lemmatised tokens, then sparse (and dense) features.

Features: TF-IDF of lemma uni- and bigrams (stop words kept, since "не"/"nie"/"not" carry
meaning, led by a language tag), TF-IDF of character 2-5-grams within word bounds of the
lowercased text (robust to typos, unknown inflections and emoji), cue counts (words of
`lexicon.LABEL_CUES` per label, capped at three, plus whether the text asks or exclaims),
and in `accurate` mode the
e5 sentence embedding times EMBEDDING_WEIGHT (all three blocks have unit-length rows, so the
weight sets how much the regularised classifier leans on meaning versus surface).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from patron.feedback.analysis.lexicon import LABEL_CUES
from patron.feedback.analysis.result import Language
from patron.feedback.analysis.text import Token, lemmatizer, normalise, stop_words, tokenize

FloatArray = npt.NDArray[np.float64]
EMBEDDING_WEIGHT = 3.0
CUE_SATURATION = 3
"""Cue counts are capped here and scaled to [0, 1]."""


class AnalysisMode(StrEnum):
    """`cascade` (the default): the fast model, then the accurate one for the texts the fast
    model is unsure of; `accurate`: TF-IDF plus e5 sentence embeddings for every text; `fast`:
    TF-IDF only (see docs/feedback-analysis.md)."""

    CASCADE = "cascade"
    ACCURATE = "accurate"
    FAST = "fast"


@dataclass(frozen=True)
class Prepared:
    """A text made ready for the models: language, lemmatised tokens, normalised form."""

    text: str
    language: Language
    tokens: tuple[Token, ...]
    normal: str

    @property
    def lemma_text(self) -> str:
        """Lemmas joined by spaces, led by a language tag."""
        return " ".join([f"lang_{self.language.value}", *(t.lemma for t in self.tokens)])


def prepare(text: str, language: Language) -> Prepared:
    """Tokenise and lemmatise one text in its detected language."""
    return Prepared(text, language, tuple(tokenize(text, language)), normalise(text))


def content_lemmas(prepared: Prepared) -> list[str]:
    """Lemmas that can be keywords: words of 2+ letters outside the stop list, in order."""
    stop = stop_words(prepared.language)
    return [
        token.lemma
        for token in prepared.tokens
        if token.is_word
        and len(token.lemma) > 1
        and token.lemma not in stop
        and token.surface not in stop
    ]


@dataclass
class FeatureSpace:
    """Fitted vectorisers and whether embeddings are appended."""

    word_vectorizer: Any
    char_vectorizer: Any
    mode: AnalysisMode

    @classmethod
    def fit(cls, items: Sequence[Prepared], mode: AnalysisMode) -> FeatureSpace:
        """Fit both vectorisers on the training texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        word_vectorizer = TfidfVectorizer(
            tokenizer=str.split,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            sublinear_tf=True,
        )
        char_vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
        )
        word_vectorizer.fit([item.lemma_text for item in items])
        char_vectorizer.fit([item.normal for item in items])
        return cls(word_vectorizer, char_vectorizer, mode)

    def transform(self, items: Sequence[Prepared]) -> Any:
        """The feature matrix of `items` (scipy CSR)."""
        from scipy.sparse import csr_matrix, hstack

        blocks = [
            self.word_vectorizer.transform([item.lemma_text for item in items]),
            self.char_vectorizer.transform([item.normal for item in items]),
            csr_matrix(cue_features(items)),
        ]
        if self.mode is AnalysisMode.ACCURATE:
            from patron.feedback.analysis.embeddings import embed

            blocks.append(csr_matrix(embed([item.text for item in items]) * EMBEDDING_WEIGHT))
        return hstack(blocks, format="csr")


@lru_cache(maxsize=3)
def _cue_forms(language: Language) -> tuple[frozenset[str], ...]:
    lemma = lemmatizer(language)
    return tuple(
        frozenset(set(text.split()) | {lemma(word) for word in text.split()})
        for text in (per_language[language] for per_language in LABEL_CUES.values())
    )


def cue_features(items: Sequence[Prepared]) -> FloatArray:
    """Per text: each label's cue count (capped, scaled to [0, 1]), has '?', has '!'."""
    rows = []
    for item in items:
        counts = [
            sum(1 for token in item.tokens if token.lemma in cues or token.surface in cues)
            for cues in _cue_forms(item.language)
        ]
        row = [min(count, CUE_SATURATION) / CUE_SATURATION for count in counts]
        row += [float("?" in item.normal), float("!" in item.normal)]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(items), len(LABEL_CUES) + 2)
