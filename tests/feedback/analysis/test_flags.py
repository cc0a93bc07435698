"""Flag phrases and the severity formula, without the classifier."""

from __future__ import annotations

import pytest

from patron.feedback.analysis.flags import Flags, detect_flags, severity
from patron.feedback.analysis.result import Label, Language
from patron.feedback.analysis.text import tokenize


def flags_of(text: str, language: Language, label: Label = Label.NEGATIVE) -> Flags:
    return detect_flags(tokenize(text, language), language, label=label, negative_probability=0.9)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (Language.RU, "Списали деньги дважды за один заказ", Flags(money_lost=True)),
        (Language.RU, "Деньги за возврат так и не вернули", Flags(money_lost=True)),
        (Language.RU, "Сдал стартер, потерял 15 тысяч", Flags(money_lost=True)),
        (Language.RU, "Больше никогда к вам не приду", Flags(churn_threat=True)),
        (Language.RU, "Всё, ухожу к конкурентам", Flags(churn_threat=True)),
        (Language.RU, "Кассир нахамила и швырнула сдачу", Flags(rudeness=True)),
        (Language.PL, "Pobrali pieniądze dwa razy", Flags(money_lost=True)),
        (Language.PL, "Pieniędzy nie oddali od miesiąca", Flags(money_lost=True)),
        (Language.PL, "Nigdy więcej tu nie przyjdę", Flags(churn_threat=True)),
        (Language.PL, "Przechodzę do konkurencji", Flags(churn_threat=True)),
        (Language.PL, "Kasjerka była bardzo niemiła", Flags(rudeness=True)),
        (Language.EN, "I was charged twice for one order", Flags(money_lost=True)),
        (Language.EN, "Faulty part, not covered, lost $300", Flags(money_lost=True)),
        (Language.EN, "Won't be back", Flags(churn_threat=True)),
        (Language.EN, "The waiter was rude and yelled at us", Flags(rudeness=True)),
        (
            Language.EN,
            "Rude cashier overcharged me, never again",
            Flags(money_lost=True, churn_threat=True, rudeness=True),
        ),
        (Language.RU, "Доставка опоздала на час", Flags()),
        (Language.PL, "Kawa była zimna", Flags()),
        (Language.EN, "The pizza was cold", Flags()),
    ],
)
def test_flag_phrases(language: Language, text: str, expected: Flags) -> None:
    assert flags_of(text, language) == expected


def test_phrase_words_must_be_close_together() -> None:
    text = "Деньги потратил на кофе, и знаете, пока ждал, курьер не приехал и не вернул звонок"
    assert flags_of(text, Language.RU) == Flags()


def test_no_flags_on_positive_or_unlikely_negative_texts() -> None:
    tokens = tokenize("Refund came fast, never again will I doubt you", Language.EN)
    positive = detect_flags(tokens, Language.EN, label=Label.POSITIVE, negative_probability=0.9)
    unlikely = detect_flags(tokens, Language.EN, label=Label.NEUTRAL, negative_probability=0.2)
    likely = detect_flags(tokens, Language.EN, label=Label.NEUTRAL, negative_probability=0.25)
    assert positive == Flags()
    assert unlikely == Flags()
    assert likely == Flags(churn_threat=True)


@pytest.mark.parametrize(
    ("probability", "flags", "expected"),
    [
        (0.0, Flags(money_lost=True, churn_threat=True, rudeness=True), 0.0),
        (1.0, Flags(), 0.55),
        (0.5, Flags(), 0.275),
        (1.0, Flags(money_lost=True), 0.75),
        (1.0, Flags(churn_threat=True), 0.7),
        (1.0, Flags(rudeness=True), 0.65),
        (1.0, Flags(money_lost=True, churn_threat=True, rudeness=True), 1.0),
        (0.5, Flags(money_lost=True, churn_threat=True, rudeness=True), 0.5),
    ],
)
def test_severity(probability: float, flags: Flags, expected: float) -> None:
    assert severity(probability, flags) == pytest.approx(expected, abs=1e-12)
