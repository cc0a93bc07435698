"""Language detection restricted to Russian, Polish and English."""

from __future__ import annotations

from patron.feedback.analysis.language import detect_languages
from patron.feedback.analysis.result import Language


def test_detects_each_language() -> None:
    texts = [
        "Доставка опоздала на два часа",
        "Zamówienie przyszło szybko, dziękuję",
        "The coffee was great and the staff were friendly",
    ]
    assert detect_languages(texts, Language.EN) == [Language.RU, Language.PL, Language.EN]


def test_text_without_letters_gets_the_default() -> None:
    assert detect_languages(["👍👍", "12345"], Language.PL) == [Language.PL, Language.PL]


def test_empty_batch() -> None:
    assert detect_languages([], Language.RU) == []
