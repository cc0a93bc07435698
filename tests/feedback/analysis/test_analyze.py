"""`analyze` end to end on clear cases (texts not in the shipped data), in both modes."""

from __future__ import annotations

import pytest

from patron.feedback.analysis import AnalysisMode, Label, Language, Topic, analyze
from patron.feedback.analysis.dataset import Split, load_examples
from patron.feedback.analysis.flags import Flags, severity

CLEAR_LABELS = [
    ("Ужасный магазин, курьер опоздал на три часа, еда холодная", Language.RU, Label.NEGATIVE),
    ("Огромное спасибо, всё привезли быстро, очень довольна!", Language.RU, Label.POSITIVE),
    ("Добавьте, пожалуйста, возможность оплаты через СБП", Language.RU, Label.SUGGESTION),
    ("Во сколько вы открываетесь в субботу?", Language.RU, Label.NEUTRAL),
    ("Fatalna obsługa, zamówienie przyszło zniszczone i zimne", Language.PL, Label.NEGATIVE),
    ("Bardzo dziękuję, wszystko super, polecam!", Language.PL, Label.POSITIVE),
    ("Proszę dodać więcej opcji wegańskich do menu", Language.PL, Label.SUGGESTION),
    ("O której zamykacie sklep w niedzielę?", Language.PL, Label.NEUTRAL),
    ("Terrible service, my order arrived broken and two hours late", Language.EN, Label.NEGATIVE),
    ("Amazing coffee and lovely staff, thank you so much!", Language.EN, Label.POSITIVE),
    ("Please add Apple Pay at the checkout", Language.EN, Label.SUGGESTION),
    ("What time do you close on Saturdays?", Language.EN, Label.NEUTRAL),
]

CLEAR_TOPICS = [
    ("Курьер привёз посылку на неделю позже обещанного", Topic.DELIVERY),
    ("Кассир нагрубила мне на кассе", Topic.STAFF),
    ("Приложение вылетает при входе в личный кабинет", Topic.APP),
    ("Бонусные баллы так и не начислили за покупку", Topic.LOYALTY_PROGRAM),
    ("W toalecie było brudno i śmierdziało", Topic.CLEANLINESS),
    ("Czekałem w kolejce do kasy 40 minut", Topic.WAITING_TIME),
    ("Ceny są za wysokie, wszystko strasznie drogie", Topic.PRICE),
    ("Zwrot pieniędzy za reklamację trwa już miesiąc", Topic.RETURNS),
    ("Payment by card failed three times at the terminal", Topic.PAYMENT),
    ("The size I wanted has been out of stock for weeks", Topic.PRODUCT_AVAILABILITY),
    ("The bread was stale and the coffee tasted burnt", Topic.QUALITY),
]


@pytest.fixture(scope="module")
def accurate() -> None:
    """Fit (or reuse) the accurate model once for this module."""
    analyze(["warm up"])


@pytest.mark.usefixtures("accurate")
@pytest.mark.parametrize(("text", "language", "label"), CLEAR_LABELS)
def test_clear_labels(text: str, language: Language, label: Label) -> None:
    [result] = analyze([text])
    assert (result.language, result.label) == (language, label)
    assert result.probability == result.probabilities[label]
    assert result.probability > 0.5


@pytest.mark.parametrize(("text", "language", "label"), CLEAR_LABELS)
def test_clear_labels_fast_mode(text: str, language: Language, label: Label) -> None:
    [result] = analyze([text], mode=AnalysisMode.FAST)
    assert (result.language, result.label) == (language, label)


@pytest.mark.usefixtures("accurate")
@pytest.mark.parametrize(("text", "topic"), CLEAR_TOPICS)
def test_clear_topics(text: str, topic: Topic) -> None:
    [result] = analyze([text])
    assert result.topic is topic


@pytest.mark.usefixtures("accurate")
def test_flags_and_severity_on_clear_complaints() -> None:
    texts = [
        "Деньги списали дважды, а курьер ещё и нахамил. Больше никогда к вам не приду!",
        "Pobrali pieniądze dwa razy, a pieniędzy nie oddali od miesiąca",
        "The manager yelled at me and was so rude",
        "Great shop, the staff were polite and helpful",
    ]
    flags = [(r.money_lost, r.churn_threat, r.rudeness) for r in analyze(texts)]
    assert flags == [
        (True, True, True),
        (True, False, False),
        (False, False, True),
        (False, False, False),
    ]
    results = analyze(texts)
    for result in results:
        raised = Flags(result.money_lost, result.churn_threat, result.rudeness)
        assert result.severity == severity(result.probabilities[Label.NEGATIVE], raised)
    worst, _, _, happy = results
    assert worst.label is Label.NEGATIVE
    assert worst.severity == pytest.approx(worst.probabilities[Label.NEGATIVE])
    assert worst.severity > 0.5
    assert happy.severity < 0.05


@pytest.mark.usefixtures("accurate")
def test_keywords_are_lemmatised_ranked_and_free_of_stop_words() -> None:
    [result] = analyze(["Доставкой недоволен: доставки опаздывают, курьеры грубят"])
    assert result.keywords[0] == "доставка"
    assert set(result.keywords) == {"доставка", "недовольный", "опаздывать", "курьер", "грубить"}
    [english] = analyze(["The deliveries were late and the courier was rude"])
    assert set(english.keywords) == {"delivery", "late", "courier", "rude"}


@pytest.mark.parametrize("mode", list(AnalysisMode))
@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_neutral(text: str, mode: AnalysisMode) -> None:
    [result] = analyze([text], mode=mode, default_language=Language.PL)
    assert result.to_json() == {
        "language": "pl",
        "label": "neutral",
        "probability": 1.0,
        "keywords": [],
        "topic": "general",
        "severity": 0.0,
        "money_lost": False,
        "churn_threat": False,
        "rudeness": False,
        "probabilities": {"negative": 0.0, "neutral": 1.0, "positive": 0.0, "suggestion": 0.0},
    }


def test_empty_batch() -> None:
    assert analyze([]) == []


@pytest.mark.usefixtures("accurate")
def test_emoji_only_text_gets_the_default_language() -> None:
    [result] = analyze(["👍👍👍"], default_language=Language.RU)
    assert result.language is Language.RU
    assert result.keywords == ()


@pytest.mark.usefixtures("accurate")
def test_to_json_keys_and_rounding() -> None:
    [result] = analyze(["Kurier był niemiły i spóźnił się dwie godziny"])
    data = result.to_json()
    assert list(data) == [
        "language",
        "label",
        "probability",
        "keywords",
        "topic",
        "severity",
        "money_lost",
        "churn_threat",
        "rudeness",
        "probabilities",
    ]
    assert data["probability"] == round(result.probability, 4)
    assert data["keywords"] == list(result.keywords)
    assert data["rudeness"] is True


@pytest.mark.usefixtures("accurate")
@pytest.mark.parametrize("mode", list(AnalysisMode))
def test_deterministic_and_independent_of_batch(mode: AnalysisMode) -> None:
    texts = [example.text for example in load_examples(Split.VALIDATION)[:40]]
    first = analyze(texts, mode=mode)
    assert analyze(texts, mode=mode) == first
    assert analyze(texts[::-1], mode=mode)[::-1] == first
    assert analyze([texts[7]], mode=mode) == [first[7]]
