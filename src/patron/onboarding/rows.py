"""One member row of an import, checked and normalised.

A row comes from a file (every value text, missing = ``None``) or from the batch API (JSON
values). :func:`parse_row` turns it into a :class:`MemberRow` or into the list of its
problems, each naming the column. The rules are the enrolment API's (:mod:`patron.members.
schemas`) plus the import's own columns: consents as ``true``/``false`` or the date given,
``opening_points`` (a whole number of points, with an optional future expiry) and ``tier``
(a level of the program, with an optional future ``tier_until``). Phones are parsed with the
program's ``phone_region`` (or the import's) and stored in E.164.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
import phonenumbers
from pydantic import TypeAdapter, ValidationError

from patron.kit.text import ascii_digits
from patron.members.models import ConsentChannel, Language
from patron.members.schemas import Attributes, BirthDate, Email, ExternalId, Name
from patron.onboarding.errors import RowProblem
from patron.programs.schema import Program

IDENTITY_COLUMNS = ("name", "email", "phone", "birth_date", "language", "enrolled_at")
CONSENT_COLUMNS = {
    "consent_email": ConsentChannel.EMAIL,
    "consent_sms": ConsentChannel.SMS,
    "consent_push": ConsentChannel.PUSH,
}
BALANCE_COLUMNS = ("opening_points", "opening_points_expire_at", "tier", "tier_until")
REQUIRED = ("external_id",)
OPTIONAL = (*IDENTITY_COLUMNS, *CONSENT_COLUMNS, *BALANCE_COLUMNS)
MAX_OPENING_POINTS = 10**12
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_TEXT: dict[str, TypeAdapter[Any]] = {
    "external_id": TypeAdapter(ExternalId),
    "name": TypeAdapter(Name),
    "email": TypeAdapter(Email),
}
_BIRTH_DATE: TypeAdapter[date] = TypeAdapter(BirthDate)
_ATTRIBUTES: TypeAdapter[dict[str, Any]] = TypeAdapter(Attributes)


@dataclass(frozen=True, slots=True)
class Problem:
    column: str
    code: RowProblem
    message: str


@dataclass(frozen=True)
class Consent:
    is_granted: bool
    at: datetime | None  # when it was given (``None``: at enrolment)


@dataclass(frozen=True)  # no slots: :meth:`from_wire` fills ``__dict__`` at once
class MemberRow:
    """A member as the import will write it. ``checksum`` is over every field: the same row
    again is unchanged."""

    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    language: Language | None = None
    enrolled_at: datetime | None = None
    consents: dict[ConsentChannel, Consent] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    opening_points: int = 0
    opening_points_expire_at: datetime | None = None
    tier: str | None = None
    tier_until: datetime | None = None
    checksum: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        consents = sorted((c.value, v.is_granted, v.at) for c, v in self.consents.items())
        body = (
            self.external_id,
            self.name,
            self.email,
            self.phone,
            self.birth_date,
            self.language,
            self.enrolled_at,
            consents,
            self.attributes,
            self.opening_points,
            self.opening_points_expire_at,
            self.tier,
            self.tier_until,
        )
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        object.__setattr__(self, "checksum", digest)

    def to_wire(self) -> tuple[Any, ...]:
        """The row as plain values, cheap to pickle to another process (enums as their
        values: unpickling an enum is a Python call; a dataclass's state, a dict a row)."""
        values = [getattr(self, name) for name in _WIRE_FIELDS]
        values[_LANGUAGE] = None if self.language is None else self.language.value
        values[_CONSENTS] = [(c.value, v.is_granted, v.at) for c, v in self.consents.items()]
        return tuple(values)

    @classmethod
    def from_wire(cls, values: tuple[Any, ...]) -> MemberRow:
        """The row :meth:`to_wire` gave, checksum included (not computed again)."""
        row = object.__new__(cls)
        state = row.__dict__
        state.update(zip(_WIRE_FIELDS, values, strict=True))
        language, consents = values[_LANGUAGE], values[_CONSENTS]
        state["language"] = None if language is None else _LANGUAGES[language]
        state["consents"] = {_CHANNELS[c]: Consent(given, at) for c, given, at in consents}
        return row


_WIRE_FIELDS = tuple(item.name for item in fields(MemberRow))
_LANGUAGE, _CONSENTS = _WIRE_FIELDS.index("language"), _WIRE_FIELDS.index("consents")
_LANGUAGES = {language.value: language for language in Language}
_CHANNELS = {channel.value: channel for channel in ConsentChannel}


@dataclass(frozen=True, slots=True)
class Context:
    """What checking a row needs besides the row: the program, the moment, the phone region
    and the names of the free attributes to keep."""

    program: Program
    now: datetime
    phone_region: str | None = None
    attributes: Sequence[str] = ()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or instant (a naive instant is UTC). A date alone is its start, or
    with ``end_of_day`` the start of the next day (an expiry "2027-12-31" lasts that day)."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime.combine(day, time(), UTC)
        return moment + timedelta(days=1) if end_of_day else moment
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _phone(text: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(_phone_message(region)) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_phone_message(region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_message(region: str | None) -> str:
    if region is None:
        return "must be a phone number with its country code, such as +48 601 234 567"
    return f"must be a phone number of {region} or one with its country code"


def _error_text(error: ValidationError) -> str:
    return "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in error.errors())


class _Parser:
    """Collects the problems of one row while converting its values."""

    def __init__(self, values: Mapping[str, Any], context: Context) -> None:
        self.values = values
        self.context = context
        self.problems: list[Problem] = []

    def fail(self, column: str, code: RowProblem, message: str) -> None:
        self.problems.append(Problem(column, code, message))

    def text(self, column: str) -> str | None:
        value = _text(self.values.get(column))
        if value is None or column not in _TEXT:
            return value
        try:
            return str(_TEXT[column].validate_python(value))
        except ValidationError as error:
            self.fail(column, RowProblem.INVALID_VALUE, _error_text(error))
            return None

    def moment(self, column: str, *, end_of_day: bool = False, future: bool) -> datetime | None:
        text = _text(self.values.get(column))
        if text is None:
            return None
        try:
            moment = _moment(text, end_of_day=end_of_day)
        except ValueError:
            self.fail(column, RowProblem.INVALID_TIME, "must be a date (2026-05-01) or an instant")
            return None
        now = self.context.now
        if future and moment <= now:
            self.fail(column, RowProblem.INVALID_TIME, "must be in the future")
        elif not future and moment > now:
            self.fail(column, RowProblem.INVALID_TIME, "must not be in the future")
        return moment

    def birth_date(self) -> date | None:
        text = _text(self.values.get("birth_date"))
        if text is None:
            return None
        try:
            return _BIRTH_DATE.validate_python(date.fromisoformat(text))
        except (ValueError, ValidationError) as error:
            message = _error_text(error) if isinstance(error, ValidationError) else ""
            self.fail("birth_date", RowProblem.INVALID_VALUE, message or "must be a date")
            return None

    def phone(self) -> str | None:
        text = _text(self.values.get("phone"))
        if text is None:
            return None
        region = self.context.phone_region or self.context.program.program.phone_region
        try:
            return _phone(text, region)
        except ValueError as error:
            self.fail("phone", RowProblem.INVALID_VALUE, str(error))
            return None

    def language(self) -> Language | None:
        text = _text(self.values.get("language"))
        if text is None:
            return None
        try:
            return Language(text.lower())
        except ValueError:
            self.fail("language", RowProblem.INVALID_VALUE, "must be ru, pl or en")
            return None

    def consents(self) -> dict[ConsentChannel, Consent]:
        found: dict[ConsentChannel, Consent] = {}
        for column, channel in CONSENT_COLUMNS.items():
            text = _text(self.values.get(column))
            if text is None:
                continue
            if text.lower() in _TRUE or text.lower() in _FALSE:
                found[channel] = Consent(text.lower() in _TRUE, None)
                continue
            given = self.moment(column, future=False)
            if given is not None:
                found[channel] = Consent(True, given)
        return found

    def opening_points(self) -> int:
        text = _text(self.values.get("opening_points"))
        if text is None:
            return 0
        if not ascii_digits(text) or int(text) > MAX_OPENING_POINTS:
            self.fail(
                "opening_points",
                RowProblem.INVALID_POINTS,
                f"must be a whole number of points from 0 to {MAX_OPENING_POINTS}",
            )
            return 0
        return int(text)

    def tier(self) -> str | None:
        text = _text(self.values.get("tier"))
        tiers = self.context.program.tiers
        if text is None:
            return None
        if tiers is None or tiers.level(text) is None:
            known = ", ".join(level.id for level in tiers.levels) if tiers else "none"
            self.fail("tier", RowProblem.UNKNOWN_TIER, f"no tier {text!r} (tiers: {known})")
            return None
        return text

    def attributes(self) -> dict[str, Any]:
        kept = {name: _text(self.values.get(name)) for name in self.context.attributes}
        given = self.values.get("attributes")
        if isinstance(given, Mapping):
            kept.update(given)
        kept = {name: value for name, value in kept.items() if value is not None}
        try:
            return dict(_ATTRIBUTES.validate_python(kept))
        except ValidationError as error:
            self.fail("attributes", RowProblem.INVALID_VALUE, _error_text(error))
            return {}


def parse_row(values: Mapping[str, Any], context: Context) -> MemberRow | list[Problem]:
    """The row as a :class:`MemberRow`, or every problem found in it."""
    parser = _Parser(values, context)
    external_id = parser.text("external_id")
    if external_id is None and not parser.problems:
        parser.fail("external_id", RowProblem.MISSING_VALUE, "is required")
    row = MemberRow(
        external_id=external_id or "",
        name=parser.text("name"),
        email=parser.text("email"),
        phone=parser.phone(),
        birth_date=parser.birth_date(),
        language=parser.language(),
        enrolled_at=parser.moment("enrolled_at", future=False),
        consents=parser.consents(),
        attributes=parser.attributes(),
        opening_points=parser.opening_points(),
        opening_points_expire_at=parser.moment(
            "opening_points_expire_at", end_of_day=True, future=True
        ),
        tier=parser.tier(),
        tier_until=parser.moment("tier_until", end_of_day=True, future=True),
    )
    return parser.problems or row
