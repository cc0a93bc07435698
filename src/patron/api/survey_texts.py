"""The answer page's own words in Russian, Polish and English (the survey's questions bring
their own wording from the survey definition)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Send",
        "optional": "optional",
        "fix": "Please check the marked answer.",
        "check": "Please answer this question with one of the options.",
        "nps_low": "not at all likely",
        "nps_high": "extremely likely",
        "csat_low": "very dissatisfied",
        "csat_high": "very satisfied",
        "ces_low": "very difficult",
        "ces_high": "very easy",
        "thanks_title": "Thank you!",
        "thanks": "Your answers have been received.",
        "points": "{points} points have been added to your account.",
        "used_title": "Already answered",
        "used": "This survey link has been used already. Thank you for your answers!",
        "expired_title": "Link expired",
        "expired": "This survey link has expired.",
        "unknown_title": "Link not found",
        "unknown": "We could not find this survey link. Please check that it is complete.",
    },
    "ru": {
        "submit": "Отправить",
        "optional": "необязательно",
        "fix": "Пожалуйста, проверьте отмеченный ответ.",
        "check": "Пожалуйста, выберите один из вариантов ответа.",
        "nps_low": "точно не порекомендую",
        "nps_high": "обязательно порекомендую",
        "csat_low": "совсем не доволен",
        "csat_high": "очень доволен",
        "ces_low": "очень сложно",
        "ces_high": "очень легко",
        "thanks_title": "Спасибо!",
        "thanks": "Ваши ответы получены.",
        "points": "На ваш счёт начислено баллов: {points}.",
        "used_title": "Ответ уже получен",
        "used": "По этой ссылке уже ответили. Спасибо за ваши ответы!",
        "expired_title": "Срок ссылки истёк",
        "expired": "Срок действия этой ссылки на опрос истёк.",
        "unknown_title": "Ссылка не найдена",
        "unknown": "Мы не нашли этот опрос. Проверьте, что ссылка скопирована полностью.",
    },
    "pl": {
        "submit": "Wyślij",
        "optional": "opcjonalnie",
        "fix": "Sprawdź zaznaczoną odpowiedź.",
        "check": "Wybierz jedną z odpowiedzi.",
        "nps_low": "zdecydowanie nie polecę",
        "nps_high": "zdecydowanie polecę",
        "csat_low": "bardzo niezadowolony",
        "csat_high": "bardzo zadowolony",
        "ces_low": "bardzo trudno",
        "ces_high": "bardzo łatwo",
        "thanks_title": "Dziękujemy!",
        "thanks": "Otrzymaliśmy Twoje odpowiedzi.",
        "points": "Na Twoje konto dodaliśmy punkty: {points}.",
        "used_title": "Ankieta już wypełniona",
        "used": "Ten link do ankiety został już użyty. Dziękujemy za odpowiedzi!",
        "expired_title": "Link wygasł",
        "expired": "Ten link do ankiety wygasł.",
        "unknown_title": "Nie znaleziono linku",
        "unknown": "Nie znaleźliśmy tej ankiety. Sprawdź, czy link jest kompletny.",
    },
}


def texts(language: str | None) -> dict[str, str]:
    """The words of `language`, English when it is not one of the three."""
    return TEXTS.get(language or "en", TEXTS["en"])
