"""Errors with a stable machine code, an HTTP status and a human message.

Every domain subclasses :class:`PatronError`; the API renders any of them as
``{"error": {"code": ..., "message": ..., "field": ..., "params": {...}}}`` with ``status``.

``message`` is English, for logs and API clients. ``params`` are the values the message names
(a member id, an amount, a limit), as JSON scalars, so that a surface (the console, the portal)
writes the error in its reader's language from ``code`` and ``params`` alone
(``patron.web.messages``), never by parsing ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

Param = str | int | float | bool | None
"""A value an error or a problem names: a JSON scalar (money as decimal text)."""


class PatronError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        params: Mapping[str, Param] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params: dict[str, Param] = dict(params or {})

    def body(self) -> dict[str, object]:
        """The inside of ``{"error": ...}``."""
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "params": self.params,
        }

    def to_dict(self) -> dict[str, object]:
        return {"error": self.body()}


class NotFoundError(PatronError):
    code = "not_found"
    status = 404


class ConflictError(PatronError):
    code = "conflict"
    status = 409


class ForbiddenError(PatronError):
    code = "forbidden"
    status = 403


class UnauthorizedError(PatronError):
    code = "unauthorized"
    status = 401


class InvalidInputError(PatronError):
    code = "invalid_input"
    status = 422


class IdempotencyConflictError(ConflictError):
    """The same idempotency key (or external id) came back with a different body."""

    code = "idempotency_conflict"
