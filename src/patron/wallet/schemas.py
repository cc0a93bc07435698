"""The wallet as the API shows it: money as decimal strings in the wallet's currency."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from patron.kit.pages import Page


class WalletEntryRead(BaseModel):
    """One entry: ``amount`` is signed (``credit`` positive; ``spend`` and ``reverse``
    negative); ``balance_after`` is the wallet's balance once it was written."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    amount: str
    balance_after: str
    purchase_id: int | None
    source_type: str
    source_id: str
    description: str
    occurred_at: datetime
    created_at: datetime


class WalletPage(Page[WalletEntryRead]):
    """The member's wallet: its balance now and a page of its entries, newest first; pass
    ``next_cursor`` back as ``cursor`` for the next page (None: no more). A member who never
    had cashback has a balance of 0 in the program's currency and no entries."""

    cursor_scope = "wallet"

    member_id: int
    currency: str
    balance: str
