"""Errors of the members domain."""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError, PatronError


class MemberNotFoundError(NotFoundError):
    code = "member_not_found"


class PhoneNotUniqueError(ConflictError):
    """Several members share the phone number a till looked a member up by."""

    code = "phone_not_unique"


class MemberBlockedError(ConflictError):
    """The member is blocked: no earning, redeeming or transfers until unblocked."""

    code = "member_blocked"


class MemberErasedError(ConflictError):
    """The member's personal data was erased: the pseudonym left behind cannot be changed."""

    code = "member_erased"


class BirthDateInFutureError(InvalidInputError):
    """A birth date after today (anywhere on Earth): a rule against the clock, which no schema
    can state, so it has its own code (raised from the schema's validator, it is not a
    pydantic error)."""

    code = "birth_date_in_future"


class MemberTokenInvalidError(InvalidInputError):
    """A member card token (the portal's QR code, ``patron.members.card``) that is not one:
    forged, malformed, expired, or of a member who is no longer there."""

    code = "member_token_invalid"


class VelocityExceededError(PatronError):
    """The member did more of something in the last hour than the program's ``abuse`` section
    allows (``field`` names the setting: ``abuse.max_purchases_per_hour`` or
    ``abuse.max_redemptions_per_hour``). Nothing was written; a later try may pass."""

    code = "velocity_exceeded"
    status = 429
