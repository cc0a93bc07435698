from __future__ import annotations

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


@pytest.mark.parametrize("text", ["1.001", "1e3", " 1", "1,00", "", "abc", "1.", ".5"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_amount(text, "RUB", field="total")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["RUB", "JPY", "KWD"]))
def test_round_trip(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor
