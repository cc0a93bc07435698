"""The wallet as the API shows it: money as decimal strings in the wallet's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.pages import Page
from patron.kit.text import NO_NUL


class WalletEntryRead(BaseModel):
    """One entry: ``amount`` is signed (``credit`` and ``refund`` positive; ``spend`` and
    ``reverse`` negative; ``adjust`` either); ``balance_after`` is the wallet's balance once
    it was written."""

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


class WalletAdjust(BaseModel):
    """An admin's correction: ``amount`` a signed decimal string in the program's currency
    (``"-10.00"`` takes 10.00 away), ``reason`` kept as the entry's description, and
    ``idempotency_key``: the same key for the member again changes nothing."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[
        str,
        Field(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$", examples=["-10.00"], description="Signed"),
    ]
    reason: Annotated[
        str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")
    ]
    idempotency_key: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]


class WalletAdjusted(BaseModel):
    """The wallet after a correction: its ``balance`` and the ``entry`` written (or written
    before with the same key: ``created`` false)."""

    model_config = ConfigDict(frozen=True)

    member_id: int
    currency: str
    balance: str
    created: bool
    entry: WalletEntryRead
