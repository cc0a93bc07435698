"""Opening balances: the points a member brings from the shop's previous program, written
when the member is imported.

Each balance is an ``opening`` entry and one active lot with the given expiry (none: it
never expires); the new account starts with that many points ``available``. Opening points
are not ``lifetime_earned`` (they were not earned in Patron), so ``patron verify`` holds with
them and the KPIs count them apart. A later correction is an ordinary ``adjust`` entry
(:func:`patron.ledger.service.credit` or ``debit``), never a rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.kinds import EntryKind
from patron.ledger.repository import LedgerRepository

OPENING_SOURCE = "opening"


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    member_id: int
    amount: int  # > 0
    expires_at: datetime | None
    source_id: str  # the member's external id


def opening_key(member_id: int, sequence: int = 0) -> str:
    """The idempotency key of the member's ``sequence``-th opening entry (0: the balance,
    then its corrections)."""
    return f"{OPENING_SOURCE}:{member_id}:{sequence}"


async def open_accounts(
    session: AsyncSession,
    *,
    member_ids: Sequence[int],
    balances: Sequence[OpeningBalance],
    now: datetime,
) -> list[int]:
    """Open the accounts of newly enrolled members, those of ``balances`` with their opening
    balance, in a few statements for the whole batch (an import of millions). The members
    must not have an account yet: the insert fails otherwise. Returns the ids of the opening
    entries, in the order of ``balances`` (the caller announces them)."""
    repository = LedgerRepository(session)
    points = {balance.member_id: balance.amount for balance in balances}
    accounts = await repository.insert_opened_accounts(
        [(member_id, points.get(member_id, 0)) for member_id in member_ids], now
    )
    entries = [_entry(accounts[b.member_id], b, now) for b in balances]
    entry_ids = await repository.insert_entries(entries)
    await repository.insert_lots(
        [
            {
                "account_id": accounts[balance.member_id],
                "member_id": balance.member_id,
                "entry_id": entry_id,
                "amount": balance.amount,
                "remaining": balance.amount,
                "pending_until": None,
                "expires_at": balance.expires_at,
                "is_active": True,
                "is_expired": False,
                "created_at": now,
            }
            for balance, entry_id in zip(balances, entry_ids, strict=True)
        ]
    )
    return list(entry_ids)


def _entry(account_id: int, balance: OpeningBalance, now: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "member_id": balance.member_id,
        "kind": EntryKind.OPENING,
        "amount": balance.amount,
        "requested_amount": balance.amount,
        "debt_change": 0,
        "lot_id": None,
        "source_type": OPENING_SOURCE,
        "source_id": balance.source_id,
        "idempotency_key": opening_key(balance.member_id),
        "occurred_at": now,
        "created_at": now,
        "description": "opening balance",
        "meta": {},
    }
