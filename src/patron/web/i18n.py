"""The console's languages: gettext catalogues, the choice of language, and Babel formats.

Catalogues are the ``.po`` files of ``web/locales/<language>/LC_MESSAGES/console.po`` (kept
in the repository, edited by hand or with ``pybabel``), compiled in memory when first used.
The language of a request is ``?lang=`` (the switch on every page; remembered in the
:data:`LANGUAGE_COOKIE`), else the cookie, else the best of ``Accept-Language``, else
English. Money, numbers and dates are written as the locale writes them, by Babel's CLDR
data (``1 234,50 ₽``, ``1 234,50 zł``, ``€1,234.50``).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

from patron.kit import money

LANGUAGES = ("en", "pl", "ru")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "patron_lang"
# the name of each language in itself, for the switch
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "ru": "Русский"}
DOMAIN = "console"


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language`` (one of :data:`LANGUAGES`)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}")
    source = resources.files("patron.web") / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as po_file:
        catalogue = read_po(po_file, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _accepted(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header, best first (``q=0`` dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        parameters = parameters.strip()
        if parameters.startswith("q="):
            try:
                quality = float(parameters[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(
    requested: str | None, remembered: str | None, accept_language: str | None
) -> str:
    """The language of a request (see the module's docstring)."""
    for candidate in (requested, remembered):
        if candidate in LANGUAGES:
            return str(candidate)
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


class Formats:
    """Numbers, money, percentages and dates in one language."""

    def __init__(self, language: str, timezone: str = "UTC") -> None:
        self.language = language
        self.zone = ZoneInfo(timezone)

    def number(self, value: int | float | Decimal | None) -> str:
        return "—" if value is None else format_decimal(value, locale=self.language)

    def money(self, minor: int | float | None, currency: str) -> str:
        """An amount in minor units (kopecks, grosze, cents) as the locale writes money."""
        if minor is None:
            return "—"
        value = Decimal(round(minor)).scaleb(-money.exponent(currency))
        return format_currency(value, currency, locale=self.language)

    def amount(self, decimal_text: str, currency: str) -> str:
        """An amount written as the API writes it (``"1234.50"``) as the locale writes money."""
        return format_currency(Decimal(decimal_text), currency, locale=self.language)

    def price(self, decimal_text: str, currency: str) -> str:
        """A price per point as written (``"0.0375"``): money with every decimal place it has,
        below the currency's minor unit too."""
        value = Decimal(decimal_text)
        return format_currency(value, currency, locale=self.language, decimal_quantization=False)

    def percent(self, ratio: float | None) -> str:
        if ratio is None:
            return "—"
        return format_percent(ratio, format="#,##0.#%", locale=self.language)

    def signed_percent(self, ratio: float | None) -> str:
        if ratio is None:
            return "—"
        text = self.percent(ratio)
        return text if ratio < 0 else f"+{text}"

    def day(self, moment: date | datetime | None) -> str:
        if moment is None:
            return "—"
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.zone).date()
        return format_date(moment, format="medium", locale=self.language)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_datetime(moment, format="short", tzinfo=self.zone, locale=self.language)
