"""Text rules that every store shares, written as JSON-schema patterns so that
``/openapi.json`` states them."""

from __future__ import annotations

NO_NUL = r"^[^\x00]*$"
"""No NUL character: PostgreSQL text and JSONB cannot hold one (the write answered 500)."""
