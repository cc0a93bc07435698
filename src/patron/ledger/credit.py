"""Crediting points: earnings, bonuses, positive adjustments and transfers, and refunds of
cancelled coupons. Each credit is an entry plus a new lot (see :mod:`patron.ledger.lots`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.ledger.kinds import CREDIT_KINDS, EntryKind, MovementReason
from patron.ledger.lots import catch_up
from patron.ledger.repository import LedgerRepository, LockedAccount
from patron.ledger.schemas import Entry
from patron.ledger.writes import CatchUpWrites, Change, CounterDelta, movement


async def credit(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    kind: EntryKind,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    occurred_at: datetime | None = None,
    pending_until: datetime | None = None,
    expires_at: datetime | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Add ``amount`` points as a new lot; the purchase hot path.

    The lot is pending while ``pending_until`` is in the future and never expires when
    ``expires_at`` is None (which must come after ``pending_until``). An active lot first repays
    debt; the account's due lots are caught up before that, so older points repay first.
    """
    change = Change(
        member_id, kind, amount, idempotency_key, source_type, source_id, description, meta or {}
    )
    change.check(CREDIT_KINDS)
    entry, _ = await _credit(session, change, now, occurred_at or now, pending_until, expires_at)
    return entry


async def credit_change(
    session: AsyncSession,
    change: Change,
    *,
    now: datetime,
    occurred_at: datetime,
    pending_until: datetime | None = None,
    expires_at: datetime | None = None,
) -> tuple[Entry, bool]:
    """:func:`credit` of a ``change`` the caller built (the purchase path), also telling
    whether the entry was written now (``False``: its key was used before and the entry then
    written is answered), so that the caller emits ``ledger.credited`` once."""
    change.check(CREDIT_KINDS)
    return await _credit(session, change, now, occurred_at, pending_until, expires_at)


async def refund(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    expires_at: datetime | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Give back the points of a cancelled coupon as a new, active lot (a positive ``redeem``
    entry, so ``redeemed`` goes down)."""
    change = Change(
        member_id,
        EntryKind.REDEEM,
        amount,
        idempotency_key,
        source_type,
        source_id,
        description,
        meta or {},
    )
    change.check(frozenset({EntryKind.REDEEM}))
    entry, _ = await _credit(session, change, now, now, None, expires_at)
    return entry


async def _credit(
    session: AsyncSession,
    change: Change,
    now: datetime,
    occurred_at: datetime,
    pending_until: datetime | None,
    expires_at: datetime | None,
) -> tuple[Entry, bool]:
    """Three round trips when the member has no debt: the counter ``UPDATE`` (it takes the
    account's row lock, as ``lock_account_for_update`` would, and returns the debt), the entry
    and the lot. A repeated key is found by the entry insert; the counters are then moved
    back (atomically too)."""
    delta = credit_delta(change, now, pending_until, expires_at)
    amount = change.amount
    is_active = pending_until is None or pending_until <= now
    repo = LedgerRepository(session)
    account = await repo.lock_and_change_counters(change.member_id, delta.row(0, now))
    debt = account.debt
    if debt > 0:
        debt = await _catch_up_before_repaying(repo, account, change, now)
    repaid = min(debt, amount) if is_active else 0
    values = change.entry_values(account, amount=amount, requested=amount, now=now)
    values.update(debt_change=-repaid, occurred_at=occurred_at)
    entry_id = await repo.insert_entry(values)
    if entry_id is None:
        await repo.change_counters([delta.reversed().row(account.id, now)])
        found = await repo.find_entry(change.idempotency_key)
        assert found is not None  # the key is taken, and entries are never deleted
        return change.same_or_conflict(found, requested=amount), False
    lot = lot_values(account, amount, repaid, now, pending_until, expires_at)
    lot_id = await repo.insert_lot({**lot, "entry_id": entry_id})
    if repaid:
        await repo.insert_movements(
            [movement(account, lot_id, entry_id, MovementReason.REPAY, -repaid, now)]
        )
        await repo.change_counters([CounterDelta(debt=-repaid).row(account.id, now)])
    return Entry.model_validate({"id": entry_id, **values}), True


def credit_delta(
    change: Change, now: datetime, pending_until: datetime | None, expires_at: datetime | None
) -> CounterDelta:
    """The counters a credit moves (before any repayment of debt); refuses a lot that would
    expire before it unlocks."""
    if expires_at is not None and pending_until is not None and expires_at <= pending_until:
        raise InvalidInputError("expires_at must come after pending_until", field="expires_at")
    delta = CounterDelta()
    delta.add_entry(change.kind, change.amount)
    if pending_until is None or pending_until <= now:
        delta.available += change.amount  # even if it repays debt: available = active - debt
    else:
        delta.pending += change.amount
    return delta


def lot_values(
    account: LockedAccount,
    amount: int,
    repaid: int,
    now: datetime,
    pending_until: datetime | None,
    expires_at: datetime | None,
) -> dict[str, Any]:
    """The lot of a credit of ``amount`` that repays ``repaid`` of debt (all but its
    ``entry_id``)."""
    lot: dict[str, Any] = {"account_id": account.id, "member_id": account.member_id}
    is_active = pending_until is None or pending_until <= now
    lot.update(amount=amount, remaining=amount - repaid, is_active=is_active)
    lot.update(pending_until=pending_until, expires_at=expires_at, is_expired=False, created_at=now)
    return lot


async def _catch_up_before_repaying(
    repo: LedgerRepository, account: LockedAccount, change: Change, now: datetime
) -> int:
    """The slow path of a credit to an account in debt: lots that became available earlier
    repay first (and what they keep expires if due). Returns the debt left to repay.

    A repeated key skips this; the entry insert then finds it."""
    if await repo.find_entry(change.idempotency_key) is not None:
        return account.debt
    delta, writes = CounterDelta(), CatchUpWrites(now)
    caught_up = catch_up(await repo.due_lots(account.id, now), debt=account.debt, now=now)
    writes.add(account, caught_up, delta)
    await writes.flush(repo)
    await repo.change_counters([delta.row(account.id, now)])
    return caught_up.debt
