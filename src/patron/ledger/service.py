"""The points ledger's use cases, in one place for callers (``ledger_service.credit(...)``).

Rules every write follows (definitions in :mod:`patron.ledger.lots`):

- It locks the member's account row first (``SELECT ... FOR UPDATE`` on PostgreSQL, see
  :func:`~patron.ledger.repository.lock_account_for_update`; a credit's counter ``UPDATE`` takes
  the same lock), then inserts entries, lots and lot movements, and moves the cached counters
  with atomic ``UPDATE accounts SET x = x + :d``; nothing is read-modify-written in Python.
- Idempotency: an ``idempotency_key`` seen before with the same member, kind and requested
  amount returns the entry written the first time (nothing changes); with anything else it
  raises :class:`~patron.kit.errors.IdempotencyConflictError`.
- A debit first catches the account up to ``now`` (activates due pending lots, writes off due
  lots with ``expire`` entries) so that it spends exactly what a balance as of ``now`` shows.
  A refused debit raises before writing anything.
- Services never commit: the caller's unit of work does.

Writes live in :mod:`~patron.ledger.credit` and :mod:`~patron.ledger.debit`, the daily jobs in
:mod:`~patron.ledger.jobs` and :mod:`~patron.ledger.expiring` (``points.expiring``), the
invariant checks in :mod:`~patron.ledger.verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.kit.time import utcnow
from patron.ledger.credit import credit, credit_change, refund
from patron.ledger.debit import debit, reverse_lot
from patron.ledger.expiring import announce_expiring
from patron.ledger.jobs import activate_due, expire_due
from patron.ledger.lots import balance_as_of
from patron.ledger.opening import OPENING_SOURCE, OpeningBalance, open_accounts, opening_key
from patron.ledger.repository import LedgerRepository, lock_account_for_update
from patron.ledger.schemas import Balance, EntryPage
from patron.ledger.verify import verify

__all__ = [
    "OPENING_SOURCE",
    "OpeningBalance",
    "activate_due",
    "announce_expiring",
    "balance",
    "create_account",
    "credit",
    "credit_change",
    "debit",
    "entries",
    "expire_due",
    "lifetime_earned",
    "lock_account_for_update",
    "next_expiry",
    "open_account",
    "open_accounts",
    "opening_key",
    "pending_total",
    "refund",
    "reverse_lot",
    "verify",
]

MAX_PAGE = 500


async def create_account(session: AsyncSession, *, member_id: int, now: datetime) -> None:
    """Open the member's points account at enrolment (idempotent, like :func:`open_account`,
    without reading the balance back)."""
    await LedgerRepository(session).insert_account(member_id, now)


async def open_account(
    session: AsyncSession, *, member_id: int, now: datetime | None = None
) -> Balance:
    """Open the member's points account (idempotent: an existing account is kept as it is)."""
    moment = now or utcnow()
    await LedgerRepository(session).insert_account(member_id, moment)
    return await balance(session, member_id=member_id, now=moment)


async def opening_total(session: AsyncSession, *, member_id: int) -> tuple[int, int]:
    """The member's opening balance as imported and corrected since (``opening`` entries and
    the adjustments with source type :data:`OPENING_SOURCE`), and how many entries made it."""
    return await LedgerRepository(session).source_total(member_id, OPENING_SOURCE)


async def lifetime_earned(session: AsyncSession, *, member_id: int) -> int:
    """The member's lifetime earned points (time does not change it: one small query)."""
    _, cache = await LedgerRepository(session).counters(member_id)
    return cache.lifetime_earned


async def pending_total(session: AsyncSession, *, program_id: int, now: datetime) -> int:
    """The points of every member of the program that are still pending at ``now`` (lots
    due to activate count as available, as in :func:`balance`)."""
    return await LedgerRepository(session).pending_total(program_id, now)


async def balance(session: AsyncSession, *, member_id: int, now: datetime) -> Balance:
    """The member's balance as of ``now``: lots due to activate count as available and lots
    due to expire as expired, whether or not the daily jobs have run."""
    cache, due = await LedgerRepository(session).counters_and_due_lots(member_id, now)
    current = balance_as_of(cache, due, now)
    return Balance(
        member_id=member_id,
        available=current.available,
        pending=current.pending,
        lifetime_earned=current.lifetime_earned,
        redeemed=current.redeemed,
        expired=current.expired,
        debt=current.debt,
        as_of=now,
    )


@dataclass(frozen=True, slots=True)
class NextExpiry:
    """The soonest expiry of a member's points: when, and how many points expire then."""

    at: datetime
    points: int


async def next_expiry(session: AsyncSession, *, member_id: int, now: datetime) -> NextExpiry | None:
    """The soonest moment after ``now`` at which points of active (or due) lots expire, with
    the points of every lot expiring at that moment; ``None`` when none of the member's points
    ever expire. (Debt, rare, is not taken off: the figure is what the lots hold.)"""
    repo = LedgerRepository(session)
    account_id, _cache = await repo.counters(member_id)
    lots = [
        lot
        for lot in await repo.open_lots(account_id, now)
        if lot.expires_at is not None and lot.expires_at > now
    ]
    if not lots:
        return None
    soonest = min(lot.expires_at for lot in lots if lot.expires_at is not None)
    points = sum(lot.remaining for lot in lots if lot.expires_at == soonest)
    return NextExpiry(at=soonest, points=points)


async def entries(
    session: AsyncSession, *, member_id: int, limit: int = 50, cursor: str | None = None
) -> EntryPage:
    """The member's entries, newest first, ``limit`` (1..500) per page; ``cursor`` is the
    ``next_cursor`` of the page before."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    before_id = EntryPage.resume_legacy_digits(cursor)
    items = await LedgerRepository(session).entries_page(member_id, limit + 1, before_id)
    has_more = len(items) > limit
    items = items[:limit]
    return EntryPage(
        items=items, next_cursor=EntryPage.cursor_of(items[-1].id) if has_more else None
    )
