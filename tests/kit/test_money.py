from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.kit.errors import InvalidInputError
from patron.kit.money import format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1700.00", "RUB", 170000),
        ("1700.5", "RUB", 170050),
        ("0", "PLN", 0),
        ("15", "JPY", 15),
        ("1.234", "KWD", 1234),
        ("-3.10", "EUR", -310),
    ],
)
def test_parse_exact(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    "text",
    [
        "1.001",
        "1e3",
        " 1",
        "1,00",
        "",
        "abc",
        "1.",
        ".5",
        "1.5\n",
        "15\n",
        "1.50 ",
        "\n1",
        "٣.٥",
        "1٠",
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_amount(text, "RUB", field="total")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["RUB", "JPY", "KWD"]))
def test_round_trip(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


def _decimal_reading(text: str, currency: str) -> int | None:
    """The reference: the text read as a Decimal and scaled by the currency's places, or
    ``None`` where that leaves a fraction of the minor unit."""
    places = {"JPY": 0, "KWD": 3, "CLF": 4}.get(currency, 2)
    scaled = Decimal(text).scaleb(places)
    return int(scaled) if scaled == scaled.to_integral_value() else None


_AMOUNT_TEXTS = st.from_regex(r"\A-?[0-9]{1,22}(\.[0-9]{1,8})?\Z")
_JUNK = st.sampled_from(["\n", " ", "\t", "e3", ".", "-", "+", ",5", "\r\n"])
_OTHER_TEXTS = st.one_of(
    st.text(alphabet="0123456789.-e+ \n\t,٣", max_size=12),
    st.builds(lambda amount, junk: amount + junk, _AMOUNT_TEXTS, _JUNK),  # "1.5\n"
    st.builds(lambda junk, amount: junk + amount, _JUNK, _AMOUNT_TEXTS),
)


@given(_AMOUNT_TEXTS, st.sampled_from(["RUB", "JPY", "KWD", "CLF"]))
def test_parse_reads_what_decimal_reads(text: str, currency: str) -> None:
    expected = _decimal_reading(text, currency)
    if expected is None:
        with pytest.raises(InvalidInputError) as refused:
            parse_amount(text, currency, field="total")
        assert refused.value.field == "total"
    else:
        assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1700.500", "RUB", 170050),  # zeros past the places change nothing
        ("-0.00", "RUB", 0),
        ("007.10", "RUB", 710),
        ("15.000", "JPY", 15),
    ],
)
def test_parse_edges(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text", [1700, None, ["1"], b"1.00"])
def test_parse_refuses_what_is_not_text(text: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_amount(text, "RUB", field="total")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(["RUB", "JPY"]))
def test_format_is_the_same_on_a_repeat(minor: int, currency: str) -> None:
    first = format_amount(minor, currency)
    assert format_amount(minor, currency) == first
    assert _decimal_reading(first, currency) == minor


@given(_OTHER_TEXTS, st.sampled_from(["RUB", "JPY", "KWD"]))
def test_parse_takes_only_plain_decimals_and_reads_them_exactly(text: str, currency: str) -> None:
    """Any text: an amount only when it is ASCII digits with at most one dot inside and a
    leading minus, and then exactly the Decimal reading; otherwise refused (never a wrong
    number; other scripts' digits, which Decimal reads, are refused)."""
    plain = re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None
    expected = _decimal_reading(text, currency) if plain else None
    if expected is None:
        with pytest.raises(InvalidInputError):
            parse_amount(text, currency)
    else:
        assert parse_amount(text, currency) == expected
