from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from patron.members.errors import BirthDateInFutureError
from patron.members.schemas import ConsentChannel, Language, MemberCreate, MemberUpdate


def field_errors(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        MemberCreate.model_validate(body)
    return [(tuple(error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_a_full_body_is_normalised() -> None:
    member = MemberCreate.model_validate(
        {
            "external_id": "C-1001",
            "name": "  Anna Kowalska ",
            "email": " Anna.K@Example.PL ",
            "phone": "+48 (601) 234-567",
            "birth_date": "1990-05-17",
            "language": "pl",
            "attributes": {"city": "Warsaw", "children": 2, "has_dog": True, "note": None},
            "consents": {"email": True, "sms": False},
        }
    )
    assert member.name == "Anna Kowalska"
    assert member.email == "Anna.K@example.pl"
    assert member.phone == "+48601234567"
    assert member.birth_date == date(1990, 5, 17)
    assert member.language is Language.PL
    assert member.attributes == {"city": "Warsaw", "children": 2, "has_dog": True, "note": None}
    assert member.consents == {ConsentChannel.EMAIL: True, ConsentChannel.SMS: False}


def test_only_the_external_id_is_required() -> None:
    member = MemberCreate.model_validate({"external_id": "x"})
    assert member.model_dump() == {
        "external_id": "x",
        "name": None,
        "email": None,
        "phone": None,
        "birth_date": None,
        "language": None,
        "attributes": {},
        "consents": {},
    }


def test_birth_date_today_is_fine() -> None:
    today = datetime.now(UTC).date()
    assert MemberCreate(external_id="x", birth_date=today).birth_date == today


EMAIL_PROBLEM = "Value error, must be an email address such as anna@example.com"
PHONE_PROBLEM = (
    "Value error, must be a phone number in international format with the country code, "
    "such as +48 601 234 567"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [(("external_id",), "Field required")]),
        ({"external_id": ""}, [(("external_id",), "String should have at least 1 character")]),
        (
            {"external_id": "x" * 129},
            [(("external_id",), "String should have at most 128 characters")],
        ),
        (
            {"external_id": " C-1"},
            [
                (
                    ("external_id",),
                    "Value error, must not start or end with spaces or contain control characters",
                )
            ],
        ),
        ({"external_id": 1001}, [(("external_id",), "Input should be a valid string")]),
        (
            {"external_id": "a", "email": "anna@localhost"},
            [(("email",), EMAIL_PROBLEM)],
        ),
        (
            {"external_id": "a", "email": "anna example.com"},
            [(("email",), EMAIL_PROBLEM)],
        ),
        (
            {"external_id": "a", "phone": "8 (916) 123-45-67"},
            [(("phone",), PHONE_PROBLEM)],
        ),
        (
            {"external_id": "a", "email": "anna@example.com\n"},
            [(("email",), EMAIL_PROBLEM)],
        ),
        (
            {"external_id": "a", "phone": "+48601234567\n"},
            [(("phone",), PHONE_PROBLEM)],
        ),
        (
            {"external_id": "a", "phone": "+48 601"},
            [(("phone",), PHONE_PROBLEM)],
        ),
        (
            {"external_id": "a", "birth_date": "1899-12-31"},
            [(("birth_date",), "Value error, must not be before 1900-01-01")],
        ),
        (
            {"external_id": "a", "birth_date": "17.05.1990"},
            [
                (
                    ("birth_date",),
                    "Input should be a valid date or datetime, invalid character in year",
                )
            ],
        ),
        (
            {"external_id": "a", "language": "de"},
            [(("language",), "Input should be 'ru', 'pl' or 'en'")],
        ),
        ({"external_id": "a", "name": "   "}, [(("name",), "Value error, must not be empty")]),
        (
            {"external_id": "a", "attributes": {"score": 1.5}},
            [
                (
                    ("attributes",),
                    "Value error, 'score' must be text, a whole number, true, false or null",
                )
            ],
        ),
        (
            {"external_id": "a", "attributes": {"": "x"}},
            [(("attributes",), "Value error, name '' must be 1 to 64 characters")],
        ),
        (
            {"external_id": "a", "attributes": {"tags": ["a", "b"]}},
            [
                (
                    ("attributes",),
                    "Value error, 'tags' must be text, a whole number, true, false or null",
                )
            ],
        ),
        (
            {"external_id": "a", "consents": {"fax": True}},
            [(("consents", "fax", "[key]"), "Input should be 'email', 'sms' or 'push'")],
        ),
        (
            {"external_id": "a", "emial": "anna@example.com"},
            [(("emial",), "Extra inputs are not permitted")],
        ),
    ],
)
def test_invalid_fields(body: dict[str, Any], expected: list[tuple[tuple[str, ...], str]]) -> None:
    assert field_errors(body) == expected


def test_birth_date_in_the_future() -> None:
    later = datetime.now(UTC).date() + timedelta(days=2)
    with pytest.raises(BirthDateInFutureError) as refused:
        MemberCreate.model_validate({"external_id": "a", "birth_date": later.isoformat()})
    assert (refused.value.code, refused.value.field) == ("birth_date_in_future", "birth_date")


def test_at_most_50_attributes() -> None:
    attributes = {f"a{index}": index for index in range(51)}
    assert field_errors({"external_id": "a", "attributes": attributes}) == [
        (("attributes",), "Dictionary should have at most 50 items after validation, not more")
    ]


def test_update_knows_which_fields_were_given() -> None:
    update = MemberUpdate.model_validate({"email": None, "language": "en"})
    assert update.model_fields_set == {"email", "language"}
    with pytest.raises(ValidationError):
        MemberUpdate.model_validate({"external_id": "new"})
