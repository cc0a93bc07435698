"""Flags (money lost, threat to leave, rudeness) and the severity score.

A flag phrase matches when every one of its words occurs, in any order, within a window of
`len(phrase) + WINDOW_SLACK` tokens; a word matches a token by lemma or by surface form and
"#" matches any number. So "деньги так и не вернули" matches "деньги не вернуть" and "Lost
$300" matches "lost #".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from patron.feedback.analysis.lexicon import FLAG_PHRASES
from patron.feedback.analysis.result import Label, Language
from patron.feedback.analysis.text import Token, lemmatizer, words

WINDOW_SLACK = 4
NUMBER = "#"
FLAG_MIN_NEGATIVE = 0.25
"""Flags are only raised on texts that are not positive and at least this likely negative."""

SEVERITY_BASE = 0.55
SEVERITY_WEIGHTS = {"money_lost": 0.2, "churn_threat": 0.15, "rudeness": 0.1}
"""severity = P(negative) x (SEVERITY_BASE + weights of the raised flags); at most 1."""


@dataclass(frozen=True)
class Flags:
    """The three flags of one text."""

    money_lost: bool = False
    churn_threat: bool = False
    rudeness: bool = False


@dataclass(frozen=True)
class _Phrase:
    alternatives: tuple[frozenset[str], ...]
    """Per phrase word: the forms (surface and lemma) that match it."""


@lru_cache(maxsize=3)
def _phrases(language: Language) -> dict[str, tuple[_Phrase, ...]]:
    lemma = lemmatizer(language)
    compiled: dict[str, tuple[_Phrase, ...]] = {}
    for flag, per_language in FLAG_PHRASES.items():
        phrases = []
        for phrase in per_language[language]:
            alternatives = tuple(
                frozenset({NUMBER}) if part == NUMBER else _forms(part, lemma)
                for part in phrase.split()
            )
            phrases.append(_Phrase(alternatives))
        compiled[flag] = tuple(phrases)
    return compiled


def _forms(part: str, lemma: Callable[[str], str]) -> frozenset[str]:
    forms = set(words(part)) or {part.casefold()}
    return frozenset(forms | {lemma(word) for word in forms})


def _token_forms(token: Token) -> frozenset[str]:
    if token.surface.isdigit():
        return frozenset({NUMBER, token.surface})
    return frozenset({token.surface, token.lemma})


def _matches(phrase: _Phrase, forms: Sequence[frozenset[str]], present: set[str]) -> bool:
    if not all(alternative & present for alternative in phrase.alternatives):
        return False
    width = len(phrase.alternatives) + WINDOW_SLACK
    for start, first in enumerate(forms):
        if not any(first & alternative for alternative in phrase.alternatives):
            continue
        window = forms[start : start + width]
        if all(any(alt & token for token in window) for alt in phrase.alternatives):
            return True
    return False


def detect_flags(
    tokens: Sequence[Token],
    language: Language,
    *,
    label: Label,
    negative_probability: float,
) -> Flags:
    """Flags raised by the phrases of `language` found in `tokens`.

    Nothing is raised on a positive text or one below FLAG_MIN_NEGATIVE, so "вернули деньги
    за день" or "they refunded my money back in an hour" stay unflagged.
    """
    if label is Label.POSITIVE or negative_probability < FLAG_MIN_NEGATIVE:
        return Flags()
    forms = [_token_forms(token) for token in tokens]
    present = set().union(*forms)
    raised = {
        flag: any(_matches(phrase, forms, present) for phrase in phrases)
        for flag, phrases in _phrases(language).items()
    }
    return Flags(**raised)


def severity(negative_probability: float, flags: Flags) -> float:
    """P(negative) weighted by the flags: 0.55 x P with no flag, up to 1.0 x P with all."""
    weight = SEVERITY_BASE + sum(
        SEVERITY_WEIGHTS[name] for name in SEVERITY_WEIGHTS if getattr(flags, name)
    )
    return min(1.0, max(0.0, negative_probability * weight))
