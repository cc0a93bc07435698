"""Errors with a stable machine code, an HTTP status and a human message.

Every domain subclasses :class:`PatronError`; the API renders any of them as
``{"error": {"code": ..., "message": ..., "field": ...}}`` with ``status``.
"""

from __future__ import annotations

from typing import ClassVar


class PatronError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


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
