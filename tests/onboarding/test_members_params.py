"""The members import builds its insert parameters straight (a tuple per row, no dict): they
must be the profile values of the one-at-a-time path, in the insert's column order."""

from __future__ import annotations

from datetime import UTC, date, datetime

from patron.kit.language import Language
from patron.kit.raw import json_text
from patron.members.repository import MEMBER_COLUMNS
from patron.onboarding.members import _member_params, _member_values
from patron.onboarding.rows import MemberRow

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_the_insert_parameters_are_the_member_values_in_column_order() -> None:
    row = MemberRow(
        external_id="c-1",
        name="Anna",
        email="anna@example.com",
        phone="+48601000001",
        birth_date=date(1990, 2, 28),
        language=Language.PL,
        enrolled_at=datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
        attributes={"city": "Kraków"},
    )
    values = _member_values(7, row, NOW, "ABCD2345")
    expected = (
        *(values[name] for name in MEMBER_COLUMNS[:-1]),
        json_text(values["attributes"]),
    )
    assert _member_params(7, row, NOW, "ABCD2345") == expected
