"""Numbers, money, dates and plurals in the member's language, by Babel's CLDR data.

``plural(5, "points", "ru")`` is ``"5 баллов"``: the count formatted for the locale and the
word in the form CLDR's plural rules choose (``one``/``few``/``many``/``other``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from patron.kit import money
from patron.kit.language import LANGUAGES as LANGUAGES

# word -> language -> CLDR plural category -> form
WORDS: dict[str, dict[str, dict[str, str]]] = {
    "points": {
        "ru": {"one": "балл", "few": "балла", "many": "баллов", "other": "балла"},
        "pl": {"one": "punkt", "few": "punkty", "many": "punktów", "other": "punktu"},
        "en": {"one": "point", "other": "points"},
    },
    "days": {
        "ru": {"one": "день", "few": "дня", "many": "дней", "other": "дня"},
        "pl": {"one": "dzień", "few": "dni", "many": "dni", "other": "dnia"},
        "en": {"one": "day", "other": "days"},
    },
}


def number(value: int | Decimal, language: str) -> str:
    return format_decimal(value, locale=language)


def plural(count: int, word: str, language: str) -> str:
    """``count`` and ``word`` in the form the language's plural rules choose."""
    category = Locale.parse(language).plural_form(abs(count))
    forms = WORDS[word][language]
    return f"{number(count, language)} {forms.get(category, forms['other'])}"


def points(count: int, language: str) -> str:
    return plural(count, "points", language)


def money_amount(minor: int, currency: str, language: str) -> str:
    """An amount in minor units (kopecks, grosze, cents) as the locale writes money."""
    value = Decimal(minor).scaleb(-money.exponent(currency))
    return format_currency(value, currency, locale=language)


def day(moment: date | datetime, language: str, timezone: str = "UTC") -> str:
    """A date as the locale writes it in full (``31 декабря 2026 г.``); a datetime is read in
    the program's time zone first."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(ZoneInfo(timezone)).date()
    return format_date(moment, format="long", locale=language)
