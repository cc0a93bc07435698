"""Tokenising, lemmatising and stop words for Russian, Polish and English.

Russian lemmas come from pymorphy3 (OpenCorpora dictionary), Polish and English ones from
simplemma; stop words from stopwordsiso. All three load lazily, once per process, and every
word's lemma is memoised, so a batch pays the dictionary look-up once per distinct word.
simplemma reads its dictionaries through the streaming factory: the Polish one decodes in a
few seconds instead of the default factory's two to three times longer, with the same lemmas.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from patron.feedback.analysis.result import Language

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+")
_TOKEN = re.compile(
    r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+|[\U0001F300-\U0001FAFF\u2600-\u27BF]",
)
_EN_CONTRACTIONS = (
    (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"\bcan['’]t\b"), "can not"),
    (re.compile(r"\bain['’]t\b"), "is not"),
    (re.compile(r"n['’]t\b"), " not"),
    (re.compile(r"['’](ll|re|ve|m|d)\b"), r" \1"),
    (re.compile(r"['’]s\b"), ""),
)
_EN_SHORT_FORMS = {"ll": "will", "re": "are", "ve": "have", "m": "am", "d": "would"}
_LEMMA_FIXES = {
    Language.RU: {"деньга": "деньги"},
    Language.PL: {
        "supera": "super",
        "czekało": "czekać",
        "miła": "miły",
        "niemiła": "niemiły",
        "szybka": "szybki",
    },
    Language.EN: {},
}
"""Dictionary quirks on common feedback words ("деньги" -> "деньга", "super" -> "supera")."""

KEEP_WORDS = {
    Language.RU: "деньги время работа работать машина минута час день дверь вода стол пол ждать "
    "долго тысяча окно место вечер утро имя ребенок город дорога",
    Language.PL: "godzina złoty czas numer",
    Language.EN: "order point website work late change part till help call twice bill problem "
    "value system home date free open text name number area place",
}
"""Domain words that stopwordsiso lists as stop words but that make good keywords."""

_LOCK = threading.Lock()
_MORPH: list[Any] = []
_SIMPLEMMA: list[Any] = []


@dataclass(frozen=True)
class Token:
    """One token of a text: its lowercased surface form and its lemma."""

    surface: str
    lemma: str

    @property
    def is_word(self) -> bool:
        """True for letter words (not numbers, not emoji)."""
        return self.surface[:1].isalpha()


def normalise(text: str) -> str:
    """Lowercase, unify 'ё' and apostrophes, collapse white space."""
    lowered = text.casefold().replace("ё", "е").replace("’", "'")
    return " ".join(lowered.split())


def expand_english(text: str) -> str:
    """Spell out English contractions so that negations survive as the word 'not'."""
    for pattern, replacement in _EN_CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(_EN_SHORT_FORMS.get(word, word) for word in text.split())


def tokenize(text: str, language: Language) -> list[Token]:
    """Split a text into lemmatised tokens (words, numbers and emoji), in order."""
    normal = normalise(text)
    if language is Language.EN:
        normal = expand_english(normal)
    lemma = lemmatizer(language)
    return [Token(surface, lemma(surface)) for surface in _TOKEN.findall(normal)]


def words(text: str) -> list[str]:
    """The letter and number words of a text, lowercased (no lemmatising)."""
    return _WORD.findall(normalise(text))


def lemmatizer(language: Language) -> Callable[[str], str]:
    """A memoised function from a lowercased word to its lemma in `language`."""
    return {
        Language.RU: _russian_lemma,
        Language.PL: _polish_lemma,
        Language.EN: _english_lemma,
    }[language]


def _morph() -> Any:
    with _LOCK:
        if not _MORPH:
            import pymorphy3

            _MORPH.append(pymorphy3.MorphAnalyzer(lang="ru"))
    return _MORPH[0]


@lru_cache(maxsize=200_000)
def _russian_lemma(word: str) -> str:
    if not word[:1].isalpha():
        return word
    lemma = str(_morph().parse(word)[0].normal_form).replace("ё", "е")
    return _LEMMA_FIXES[Language.RU].get(lemma, lemma)


@lru_cache(maxsize=200_000)
def _polish_lemma(word: str) -> str:
    return _simplemma(word, Language.PL)


@lru_cache(maxsize=200_000)
def _english_lemma(word: str) -> str:
    return _simplemma(word, Language.EN)


def _simplemma_lemmatizer() -> Any:
    with _LOCK:
        if not _SIMPLEMMA:
            from simplemma import Lemmatizer
            from simplemma.strategies import DefaultStrategy
            from simplemma.strategies.dictionaries.stream_dictionary_factory import (
                StreamDictionaryFactory,
            )

            strategy = DefaultStrategy(dictionary_factory=StreamDictionaryFactory())
            _SIMPLEMMA.append(Lemmatizer(cache_max_size=0, lemmatization_strategy=strategy))
    return _SIMPLEMMA[0]


def _simplemma(word: str, language: Language) -> str:
    if not word[:1].isalpha():
        return word
    lemma = str(_simplemma_lemmatizer().lemmatize(word, lang=language.value)).casefold()
    return _LEMMA_FIXES[language].get(lemma, lemma)


@lru_cache(maxsize=3)
def stop_words(language: Language) -> frozenset[str]:
    """stopwordsiso's list for `language` and the lemmas of its words, less KEEP_WORDS."""
    import stopwordsiso

    listed = {normalise(word) for word in stopwordsiso.stopwords(language.value)}
    lemma = lemmatizer(language)
    keep = set(KEEP_WORDS[language].split())
    return frozenset((listed | {lemma(word) for word in listed if word}) - keep)
