from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from patron.kit.pages import Page


class AuditEntry(BaseModel):
    """One recorded write. ``changed`` is false for a call that changed nothing (a repeated
    erasure, an unchanged program); ``before``/``after`` are set for program changes and
    point adjustments (``null`` otherwise)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str
    key_id: int | None
    user_id: int | None = None
    role: str | None
    action: str
    target: str
    changed: bool
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(Page[AuditEntry]):
    """One page of the log, newest first; pass ``next_after`` as ``after`` for older rows
    (``None``: this was the last page)."""

    cursor_scope = "audit"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None
