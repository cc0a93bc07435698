"""What the ledger returns to other domains and to the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from patron.kit.pages import Page
from patron.ledger.kinds import EntryKind


class Entry(BaseModel):
    """One ledger entry. ``amount`` is signed; ``requested_amount`` differs only when capped."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    member_id: int
    kind: EntryKind
    amount: int
    requested_amount: int
    debt_change: int
    lot_id: int | None
    source_type: str
    source_id: str
    idempotency_key: str
    occurred_at: datetime
    created_at: datetime
    description: str
    meta: dict[str, Any]


class Balance(BaseModel):
    """A member's points as of ``as_of`` (definitions in :mod:`patron.ledger.lots`)."""

    model_config = ConfigDict(frozen=True)

    member_id: int
    available: int
    pending: int
    lifetime_earned: int
    redeemed: int
    expired: int
    debt: int
    as_of: datetime


class EntryPage(Page[Entry]):
    """Entries newest first; pass ``next_cursor`` back to get the next page (None: no more)."""

    cursor_scope = "ledger"
