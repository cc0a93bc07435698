"""Money as integer minor units plus an ISO 4217 currency code.

Amounts enter Patron as decimal strings ("1700.00") and are parsed exactly; a string with more
decimals than the currency has is refused rather than rounded.
"""

from __future__ import annotations

import functools
import re

from patron.kit.errors import InvalidInputError

# ISO 4217 minor-unit exponents; currencies not listed have 2.
# fmt: off
_EXPONENTS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3,
    "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
# fmt: on

# Active ISO 4217 codes (alphabetic), so that a typo such as "RUR" or "PLZ" is refused.
ISO_CURRENCIES: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
    KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYI UYU UYW UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()  # noqa: SIM905
)

_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # with fullmatch; ASCII digits (\d takes any script's)


def is_currency(code: str) -> bool:
    return code in ISO_CURRENCIES


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (RUB 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(currency, 2)


def parse_amount(text: str, currency: str, *, field: str | None = None) -> int:
    """Parse a decimal string into minor units, exactly.

    ``parse_amount("1700.5", "RUB") == 170050``. More decimals than the currency allows, an
    exponent, spaces or anything but ASCII digits, one optional dot and a leading minus are
    refused. A trailing newline is refused too (``$`` alone let one through, which ``Decimal``
    then stripped), and so are other scripts' digits (``"٣.٥"``, which a regular expression's
    digit class and ``Decimal`` take; the API's schema never did). Zeros past the currency's
    places change nothing (``"1700.500"`` is ``170050``). Read with integers, not
    :class:`~decimal.Decimal`: the same result (property tests hold it to the Decimal
    reading), at a third of the cost; a purchase parses five or more.
    """
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise InvalidInputError(
            f"not a decimal amount: {text!r}",
            field=field,
            params={"value": text if isinstance(text, str) else repr(text)},
        )
    places = exponent(currency)
    negative = text[0] == "-"
    whole, _, fraction = (text[1:] if negative else text).partition(".")
    significant = fraction.rstrip("0")
    if len(significant) > places:
        raise InvalidInputError(
            f"{text!r} has more than {places} decimal places for {currency}",
            field=field,
            params={"value": text, "places": places, "currency": currency},
        )
    minor: int = int(whole) * 10**places + (int(significant.ljust(places, "0")) if places else 0)
    return -minor if negative else minor


# Cached: a purchase formats a dozen or more amounts (each line's price, amount, discount and
# paid share, the totals), mostly the same few prices again; ``typed`` keeps a bool or a float
# that equals an int from sharing its entry.
@functools.lru_cache(maxsize=4096, typed=True)
def format_amount(minor: int, currency: str) -> str:
    """Render minor units as a decimal string with the currency's places: 170050 -> "1700.50"."""
    places = exponent(currency)
    if places == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"
