"""Language identification restricted to Russian, Polish and English (lingua).

The detector is built once, lazily, in lingua's high-accuracy mode (its models for three
languages load in milliseconds). A text lingua cannot place (no letters, only emoji) gets the
caller's default language.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from patron.feedback.analysis.result import Language

_LOCK = threading.Lock()
_DETECTOR: list[Any] = []
_BY_ISO = {language.value.upper(): language for language in Language}


def _detector() -> Any:
    with _LOCK:
        if not _DETECTOR:
            from lingua import Language as LinguaLanguage
            from lingua import LanguageDetectorBuilder

            builder = LanguageDetectorBuilder.from_languages(
                LinguaLanguage.RUSSIAN, LinguaLanguage.POLISH, LinguaLanguage.ENGLISH
            )
            _DETECTOR.append(builder.build())
    return _DETECTOR[0]


def detect_languages(texts: Sequence[str], default: Language) -> list[Language]:
    """The language of each text; `default` where lingua finds none.

    A text in Cyrillic without a single Latin letter is Russian outright: of the three
    languages only Russian uses that script, and lingua would only confirm it.
    """
    languages: list[Language | None] = [
        Language.RU if _is_cyrillic_only(text) else None for text in texts
    ]
    pending = [index for index, language in enumerate(languages) if language is None]
    if pending:
        detected = _detector().detect_languages_in_parallel_of([texts[i] for i in pending])
        for index, found in zip(pending, detected, strict=True):
            languages[index] = default if found is None else _BY_ISO[found.iso_code_639_1.name]
    return [language or default for language in languages]


def _is_cyrillic_only(text: str) -> bool:
    has_cyrillic = False
    for char in text:
        if char.isalpha():
            if "\u0400" <= char <= "\u04ff":
                has_cyrillic = True
            elif char.isascii() or "\u00c0" <= char <= "\u024f":
                return False
    return has_cyrillic
