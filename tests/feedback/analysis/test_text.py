"""Tokenising, lemmatising, stop words and keywords (no classifier involved)."""

from __future__ import annotations

import pytest

from patron.feedback.analysis.features import content_lemmas, prepare
from patron.feedback.analysis.result import Language
from patron.feedback.analysis.text import expand_english, lemmatizer, stop_words, tokenize


@pytest.mark.parametrize(
    ("language", "word", "lemma"),
    [
        (Language.RU, "доставки", "доставка"),
        (Language.RU, "доставкой", "доставка"),
        (Language.RU, "курьера", "курьер"),
        (Language.RU, "нахамил", "нахамить"),
        (Language.RU, "денег", "деньги"),
        (Language.RU, "ёлки", "елка"),
        (Language.PL, "zamówieniem", "zamówienie"),
        (Language.PL, "dostawy", "dostawa"),
        (Language.PL, "kurierem", "kurier"),
        (Language.PL, "miła", "miły"),
        (Language.PL, "czekałem", "czekać"),
        (Language.EN, "deliveries", "delivery"),
        (Language.EN, "charged", "charge"),
        (Language.EN, "couriers", "courier"),
    ],
)
def test_lemmas(language: Language, word: str, lemma: str) -> None:
    assert [token.lemma for token in tokenize(word, language)] == [lemma]


def test_tokens_keep_order_numbers_and_emoji() -> None:
    tokens = tokenize("Ждал 2 часа 😡", Language.RU)
    assert [(t.surface, t.lemma) for t in tokens] == [
        ("ждал", "ждать"),
        ("2", "2"),
        ("часа", "час"),
        ("😡", "😡"),
    ]
    assert [t.is_word for t in tokens] == [True, False, True, False]


def test_english_contractions_become_not() -> None:
    assert expand_english("i won't come, they didn't call and i can't wait") == (
        "i will not come, they did not call and i can not wait"
    )
    assert [t.lemma for t in tokenize("Won't be back", Language.EN)] == [
        "will",
        "not",
        "be",
        "back",
    ]


def test_stop_words_include_function_words_but_keep_domain_words() -> None:
    assert {"и", "не", "очень"} <= stop_words(Language.RU)
    assert {"i", "nie", "bardzo"} <= stop_words(Language.PL)
    assert {"the", "and", "not"} <= stop_words(Language.EN)
    assert "деньги" not in stop_words(Language.RU)
    assert "order" not in stop_words(Language.EN)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            Language.RU,
            "Доставкой недоволен, доставки опаздывают на час!",
            ["доставка", "недовольный", "доставка", "опаздывать", "час"],
        ),
        (
            Language.PL,
            "Kurier nie przywiózł zamówienia na czas",
            ["kurier", "przywieźć", "zamówienie", "czas"],
        ),
        (
            Language.EN,
            "The couriers were late with my deliveries again",
            ["courier", "late", "delivery"],
        ),
    ],
)
def test_content_lemmas_drop_stop_words(language: Language, text: str, expected: list[str]) -> None:
    assert content_lemmas(prepare(text, language)) == expected


def test_lemmatizer_is_memoised_per_language() -> None:
    russian = lemmatizer(Language.RU)
    assert russian is lemmatizer(Language.RU)
    assert russian("доставкой") == "доставка"
