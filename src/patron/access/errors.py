from __future__ import annotations

from patron.kit.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthorizedError,
)


class ApiKeyInvalidError(UnauthorizedError):
    code = "invalid_api_key"


class ApiKeyMissingError(UnauthorizedError):
    code = "missing_api_key"


class RoleForbiddenError(ForbiddenError):
    code = "forbidden"


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"


class KeyInUseError(ConflictError):
    """A request may not revoke the key it was made with: the caller would lock itself out
    between one request and the next; another admin key or ``patron keys revoke`` does it."""

    code = "key_in_use"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"


class UserExistsError(ConflictError):
    code = "user_exists"


class LoginFailedError(UnauthorizedError):
    """Unknown email, wrong password or a disabled user: one answer for all three, so that
    the console does not tell which emails have accounts."""

    code = "login_failed"


class PasswordTooShortError(InvalidInputError):
    code = "password_too_short"


class InvalidEmailError(InvalidInputError):
    code = "invalid_email"


class MemberNotIdentifiedError(ForbiddenError):
    """A till (``pos`` key) named a member by numeric id without presenting how it identified
    the member (the card token, the card number or the phone, matching that id), and the
    program does not let tills act by id (``access.pos_member_id``)."""

    code = "member_not_identified"
