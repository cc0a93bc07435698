"""One page of a list, and the one cursor that asks for the next.

Every list endpoint answers a :class:`Page`: ``items`` and ``next_cursor``, an opaque,
URL-safe string (``None`` on the last page) that the client passes back as ``?cursor=``
with the same filters and ``?limit=``. A list's page class subclasses ``Page[Item]`` and
names its ``cursor_scope``; a list that answered another field before the convention keeps
it beside ``next_cursor`` (``cursor_from``: ``next_after`` or ``next_offset``), and the
cursor is made from that field's value.

A cursor is the list's position (whole numbers) written as JSON, followed by an 8-byte
BLAKE2b check of the list's scope and the position, in URL-safe base64 without padding. The
check is not a secret: it refuses a cursor that was edited, cut short or made for another
list (422 ``invalid_cursor``, field ``cursor``), so a client cannot come to rely on the
cursor's insides; a position is never something the client may not see anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from patron.kit.errors import InvalidInputError
from patron.kit.text import ascii_digits

T = TypeVar("T")

CURSOR_PATTERN = r"^([0-9]{1,18}|[A-Za-z_-][A-Za-z0-9_-]{0,199})$"
"""What a ``cursor`` query parameter may hold (the schema states it): a cursor of this
module (which starts with a letter: its JSON starts with ``[``), or the last id in 1 to 18
digits that the ledger and the wallet gave out before the convention (past 18 digits an id
could pass 2**63)."""

_CHECK_BYTES = 8
_KEY = b"patron.kit.pages"
_MAX_POSITION = 2**63 - 1


class InvalidCursorError(InvalidInputError):
    """A cursor this list did not give out: edited, cut short, made for another list, or
    given together with the list's older position parameter."""

    code = "invalid_cursor"
    status = 422


def _check(scope: str, payload: bytes) -> bytes:
    digest = hashlib.blake2b(key=_KEY, digest_size=_CHECK_BYTES)
    digest.update(scope.encode() + b"\x00" + payload)
    return digest.digest()


def encode_cursor(scope: str, *position: int) -> str:
    """The opaque cursor of ``position`` in the list ``scope``."""
    payload = json.dumps(list(position), separators=(",", ":")).encode()
    raw = payload + _check(scope, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _refuse(message: str) -> InvalidCursorError:
    return InvalidCursorError(message, field="cursor")


def decode_cursor(scope: str, cursor: str, *, arity: int = 1) -> tuple[int, ...]:
    """The position ``cursor`` holds, or :class:`InvalidCursorError` when the list
    ``scope`` did not give it out."""
    if not cursor or len(cursor) > 200 or not cursor.isascii():
        raise _refuse("cursor is not one this list gave out")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _refuse("cursor is not one this list gave out") from None
    payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if len(raw) <= _CHECK_BYTES or not hmac.compare_digest(check, _check(scope, payload)):
        raise _refuse("cursor is not one this list gave out")
    try:
        position = json.loads(payload)
    except ValueError:
        raise _refuse("cursor is not one this list gave out") from None
    if (
        not isinstance(position, list)
        or len(position) != arity
        or not all(type(value) is int and 0 <= value <= _MAX_POSITION for value in position)
    ):
        raise _refuse("cursor is not one this list gave out")
    return tuple(position)


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items`` and the ``next_cursor`` of the next page (``None``:
    this is the last page)."""

    model_config = ConfigDict(
        frozen=True, from_attributes=True, json_schema_serialization_defaults_required=True
    )

    cursor_scope: ClassVar[str] = ""
    """The list's name in its cursors: a cursor of one list is refused by another."""
    cursor_from: ClassVar[str | None] = None
    """The legacy field whose value the cursor encodes (``next_after``, ``next_offset``),
    or ``None`` when the page sets ``next_cursor`` itself."""
    legacy_fields: ClassVar[Sequence[str]] = ()
    """Fields the list answered before the convention, kept beside it (docs/api.md)."""

    items: list[T]
    next_cursor: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _cursor_from_legacy(cls, data: Any) -> Any:
        if cls.cursor_from and isinstance(data, dict) and data.get("next_cursor") is None:
            value = data.get(cls.cursor_from)
            if value is not None:
                data = {**data, "next_cursor": encode_cursor(cls.cursor_scope, value)}
        return data

    @classmethod
    def cursor_of(cls, *position: int) -> str:
        """The cursor of ``position`` in this list."""
        return encode_cursor(cls.cursor_scope, *position)

    @classmethod
    def resume(
        cls, cursor: str | None, legacy: int | None = None, *, legacy_name: str = "after"
    ) -> int | None:
        """The position to start after: ``cursor``'s, else the legacy parameter's; both at
        once is :class:`InvalidCursorError`."""
        if cursor is None:
            return legacy
        if legacy is not None:
            raise _refuse(f"give cursor or {legacy_name}, not both")
        return decode_cursor(cls.cursor_scope, cursor)[0]

    @classmethod
    def resume_legacy_digits(cls, cursor: str | None) -> int | None:
        """As :meth:`resume`, for a list whose cursor was the last id in digits before the
        convention (the ledger, the wallet): such a cursor (1 to 18 digits) is still read."""
        if cursor is not None and ascii_digits(cursor) and len(cursor) <= 18:
            return int(cursor)
        return cls.resume(cursor)
