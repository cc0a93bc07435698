"""Members as the outside world writes and reads them.

Input is checked field by field with messages a shop developer can act on; what passes is
normalised (email domain in lower case, phone in E.164 ``+48601234567``), so that the same
person written two ways is stored one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
)

from patron.kit.pages import Page
from patron.kit.text import NO_NUL
from patron.members.errors import BirthDateInFutureError
from patron.members.models import ConsentChannel, Language, MemberStatus

__all__ = [
    "Consent",
    "ConsentChange",
    "ConsentChannel",
    "Language",
    "Member",
    "MemberCreate",
    "MemberPage",
    "MemberStatus",
    "MemberUpdate",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The patterns below are also the schema's (``/openapi.json``), so that a client knows the
# rule: kept to what Python, Rust (pydantic) and JavaScript regular expressions read alike.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
EMAIL_PATTERN = r"^ *[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f.]+(?:\.[^@\x00-\x20\x7f.]+)+ *$"
# no spaces at either end, no control characters (what ``_external_id`` checks)
EXTERNAL_ID_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
PHONE_PATTERN = r"^[ ().-]*\+[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$"
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE_SEPARATORS = re.compile(r"[ ().-]")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_OLDEST_BIRTH_DATE = date(1900, 1, 1)


def _external_id(value: str) -> str:
    if value != value.strip() or _CONTROL.search(value):
        raise ValueError("must not start or end with spaces or contain control characters")
    return value


def _name(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address such as anna@example.com")
    local, domain = value.strip(" ").rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalise_phone(value: str) -> str:
    """``value`` in E.164 (``+48601234567``), as members' phones are stored."""
    return _phone(value)


def _phone(value: str) -> str:
    digits = _PHONE_SEPARATORS.sub("", value)
    if not _E164.fullmatch(digits):
        raise ValueError(
            "must be a phone number in international format with the country code, "
            "such as +48 601 234 567"
        )
    return digits


def _iso_day(value: Any) -> Any:
    """A day as the schema writes it (``2000-01-31``), not a number read as a Unix time."""
    if not isinstance(value, str | date):
        raise ValueError("must be a day such as 2000-01-31")
    return value


def _birth_date(value: date) -> date:
    """Not after today anywhere on Earth (UTC+14), not before 1900."""
    latest_today = (datetime.now(UTC) + timedelta(hours=14)).date()
    if value > latest_today:
        raise BirthDateInFutureError("birth_date must not be in the future", field="birth_date")
    if value < _OLDEST_BIRTH_DATE:
        raise ValueError("must not be before 1900-01-01")
    return value


ExternalId = Annotated[
    StrictStr,
    # the schema states the rule; ``_external_id`` checks it with a message that says why
    Field(min_length=1, max_length=128, json_schema_extra={"pattern": EXTERNAL_ID_PATTERN}),
    AfterValidator(_external_id),
]


def _schema_pattern(pattern: str) -> dict[str, Any]:
    return {"pattern": pattern}


Name = Annotated[
    StrictStr,
    Field(max_length=200, json_schema_extra=_schema_pattern(NAME_PATTERN)),
    AfterValidator(_name),
]
Email = Annotated[
    StrictStr,
    Field(max_length=254, json_schema_extra=_schema_pattern(EMAIL_PATTERN)),
    AfterValidator(_email),
]
Phone = Annotated[
    StrictStr,
    Field(max_length=40, json_schema_extra=_schema_pattern(PHONE_PATTERN)),
    AfterValidator(_phone),
]
BirthDate = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_birth_date),
    Field(json_schema_extra={"pattern": r"^(19|[2-9][0-9])[0-9]{2}-"}),  # from 1900
]
AttributeValue = str | int | bool | None


def _attributes(value: dict[str, Any]) -> dict[str, AttributeValue]:
    """Text (up to 1,000 characters), whole numbers, true/false or null: no fractions, so
    that segment rules over attributes stay exact."""
    value = {
        name: int(item) if isinstance(item, float) and item.is_integer() else item
        for name, item in value.items()
    }
    for name, item in value.items():
        if not 1 <= len(name) <= 64:
            raise ValueError(f"name {name[:70]!r} must be 1 to 64 characters")
        if "\x00" in name or (isinstance(item, str) and "\x00" in item):
            raise ValueError(f"{name!r} must not contain a NUL character")
        if item is not None and not isinstance(item, str | int | bool):
            raise ValueError(f"{name!r} must be text, a whole number, true, false or null")
        if isinstance(item, str) and len(item) > 1000:
            raise ValueError(f"{name!r} must be at most 1000 characters")
    return value


_ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": NO_NUL},
    "additionalProperties": {
        "anyOf": [
            {"type": "string", "maxLength": 1000, "pattern": NO_NUL},
            {"type": "integer"},
            {"type": "boolean"},
            {"type": "null"},
        ]
    },
}
Attributes = Annotated[
    dict[StrictStr, Any],
    Field(max_length=50, json_schema_extra=_ATTRIBUTES_SCHEMA),
    AfterValidator(_attributes),
]
Source = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Profile(_Input):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    language: Language | None = None


class MemberCreate(_Profile):
    """An enrolment. ``external_id`` is the shop's own customer id; ``consents`` are the
    channels the customer agreed (``true``) or refused (``false``) to be contacted on.

    ``attributes``: up to 50 free-form values (text, whole numbers, true/false) that segments
    and campaigns can target, such as ``{"city": "Warsaw", "has_dog": true}``.
    """

    external_id: ExternalId
    attributes: Attributes = {}
    consents: dict[ConsentChannel, StrictBool] = {}


class MemberUpdate(_Profile):
    """A partial update: only the fields present change; ``null`` clears a field.
    ``attributes``, when present, replaces the whole set."""

    attributes: Attributes | None = None


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    channel: ConsentChannel
    is_granted: bool
    granted_at: datetime | None
    revoked_at: datetime | None
    source: str


class ConsentChange(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    channel: ConsentChannel
    is_granted: bool
    source: str
    occurred_at: datetime


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    program_id: int
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    language: Language | None
    attributes: dict[str, AttributeValue]
    status: MemberStatus
    blocked_reason: str | None
    referral_code: str
    tier_id: str | None
    tier_since: datetime | None
    tier_until: datetime | None = None
    enrolled_at: datetime
    updated_at: datetime
    erased_at: datetime | None = None
    flagged_at: datetime | None = None
    consents: list[Consent] = []

    @property
    def is_active(self) -> bool:
        return self.status is MemberStatus.ACTIVE


class Flag(BaseModel):
    """An abuse flag (:mod:`patron.members.flags`): ``reason`` (``return_cycles``), the
    figures that tripped it, whether the member was blocked for it, and when it was cleared."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    reason: str
    details: dict[str, int]
    blocked: bool
    created_at: datetime
    cleared_at: datetime | None


class MemberPage(Page[Member]):
    """One page of members in id order; pass ``next_after`` as ``after`` for the next page
    (``None``: this was the last page)."""

    cursor_scope = "members"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None


@dataclass(frozen=True, slots=True)
class MemberState:
    """What earning and redeeming need to know about a member: the hot path's lean view."""

    id: int
    status: MemberStatus
    tier_id: str | None

    @property
    def is_active(self) -> bool:
        return self.status is MemberStatus.ACTIVE


class ConsentUpdate(BaseModel):
    channel: ConsentChannel
    is_granted: StrictBool
    source: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] = "api"


class BlockRequest(BaseModel):
    reason: Annotated[
        str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")
    ]
