"""The one cursor codec (``patron.kit.pages``): what it writes it reads back; anything
edited, cut short or made for another list is ``invalid_cursor`` naming ``cursor``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.kit.pages import (
    CURSOR_PATTERN,
    InvalidCursorError,
    Page,
    decode_cursor,
    encode_cursor,
)

POSITIONS = st.integers(min_value=0, max_value=2**63 - 1)


class _Numbers(Page[int]):
    cursor_scope = "numbers"
    cursor_from = "next_after"

    next_after: int | None


@given(POSITIONS)
def test_a_cursor_reads_back_its_position_and_matches_the_schema(position: int) -> None:
    cursor = encode_cursor("numbers", position)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor("numbers", cursor) == (position,)
    assert _Numbers.resume(cursor) == position


@given(POSITIONS, st.data())
def test_an_edited_cursor_is_refused(position: int, data: st.DataObject) -> None:
    cursor = encode_cursor("numbers", position)
    at = data.draw(st.integers(min_value=0, max_value=len(cursor) - 1))
    other = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    )
    edited = cursor[:at] + other + cursor[at + 1 :]
    # the last character of unpadded base64 may carry bits the decoder drops: such an edit
    # still reads the same position
    if edited == cursor or at == len(cursor) - 1:
        return
    with pytest.raises(InvalidCursorError) as refused:
        decode_cursor("numbers", edited)
    assert (refused.value.code, refused.value.field, refused.value.status) == (
        "invalid_cursor",
        "cursor",
        422,
    )


@pytest.mark.parametrize(
    "cursor", ["", "x", "W10", "0" * 19, "@@@@", "é", "W" * 201, encode_cursor("other", 5)]
)
def test_malformed_and_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError) as refused:
        decode_cursor("numbers", cursor)
    assert refused.value.field == "cursor"


def test_positions_outside_the_database_ids_are_refused() -> None:
    for position in (-1, 2**63):
        with pytest.raises(InvalidCursorError):
            decode_cursor("numbers", encode_cursor("numbers", position))
    with pytest.raises(InvalidCursorError):
        decode_cursor("numbers", encode_cursor("numbers", 1, 2))


def test_the_page_makes_its_cursor_from_the_legacy_field() -> None:
    page = _Numbers(items=[1, 2], next_after=2)
    assert page.next_cursor == encode_cursor("numbers", 2)
    assert _Numbers(items=[], next_after=None).next_cursor is None
    assert set(_Numbers.model_json_schema(mode="serialization")["required"]) == {
        "items",
        "next_cursor",
        "next_after",
    }


def test_a_cursor_and_the_legacy_parameter_together_are_refused() -> None:
    assert _Numbers.resume(None, 7) == 7
    assert _Numbers.resume(None) is None
    with pytest.raises(InvalidCursorError) as refused:
        _Numbers.resume(encode_cursor("numbers", 3), 7)
    assert "after" in refused.value.message


def test_the_ledger_s_digit_cursors_are_still_read() -> None:
    assert _Numbers.resume_legacy_digits("41") == 41
    assert _Numbers.resume_legacy_digits(encode_cursor("numbers", 41)) == 41
    with pytest.raises(InvalidCursorError):
        _Numbers.resume_legacy_digits("9" * 19)
