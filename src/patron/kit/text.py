"""Text rules that every store shares, written as JSON-schema patterns so that
``/openapi.json`` states them."""

from __future__ import annotations

NO_NUL = r"^[^\x00]*$"
"""No NUL character: PostgreSQL text and JSONB cannot hold one (the write answered 500)."""


def ascii_digits(text: str) -> bool:
    """True when ``text`` is one or more of ``0``-``9``. ``str.isdigit`` also takes ``²``
    (which ``int`` refuses: a 500) and ``١`` (which ``int`` reads as 1)."""
    return text.isascii() and text.isdigit()
