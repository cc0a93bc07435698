"""Random codes: length, alphabet, and the batch draw's spread over the alphabet."""

from __future__ import annotations

from collections import Counter

from patron.kit.ids import random_code, random_codes

ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


def test_random_codes_have_the_length_and_alphabet_of_random_code() -> None:
    codes = random_codes(1000, 8)
    assert len(codes) == 1000
    assert {len(code) for code in codes} == {8} == {len(random_code(8))}
    assert set("".join(codes)) <= ALPHABET
    assert len(set(codes)) == 1000


def test_every_symbol_is_drawn_about_equally() -> None:
    counts = Counter("".join(random_codes(31_000, 10)))
    # 10,000 draws per symbol expected; 5 standard deviations are about 490
    assert set(counts) == ALPHABET
    assert all(9_500 < count < 10_500 for count in counts.values()), counts
